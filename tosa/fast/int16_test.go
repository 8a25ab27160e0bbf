package fast

import (
	"math/rand/v2"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// i16s returns random int16 values: uniform, clustered, or mostly extremes (saturation and the
// hi/lo byte split's edges: -32768, -1, 0, 255, 256, 32767).
func i16s(r *rand.Rand, n int) []int16 {
	v := make([]int16, n)
	mode := r.IntN(3)
	c := r.IntN(65536) - 32768
	ext := []int{-32768, 32767, -32767, -1, 0, 1, 255, 256, -256, -257, 127, -128}
	for i := range v {
		switch mode {
		case 0:
			v[i] = int16(r.IntN(65536) - 32768)
		case 1:
			v[i] = int16(max(-32768, min(32767, c+r.IntN(600)-300)))
		default:
			v[i] = int16(ext[r.IntN(len(ext))])
		}
	}
	return v
}

// TestDiffInt16Conv2D checks the EXT-INT16 path (16x8 CONV2D or DEPTHWISE_CONV2D → INT48 accumulator → RESCALE with
// 16-bit multipliers to INT16 or INT8 → CLAMP INT16 / MAX_POOL2D INT16) against tosa/ref on
// random shapes, weights, biases up to the int48 limit, multipliers and shifts (rounding
// edges at small shifts, saturation at large multipliers). Biases beyond the provable int48
// bound make the kernel fall back to tosa/ref, which then reports the REQUIRE failure.
func TestDiffInt16Conv2D(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(uint64(1000 + it))
		N, IH, IW, IC, OC := 1+r.IntN(2), 1+r.IntN(7), 1+r.IntN(7), 1+r.IntN(24), 1+r.IntN(20)
		KH, KW := 1+r.IntN(3), 1+r.IntN(3)
		attr := tosa.Attr{Pad: []int{r.IntN(2), r.IntN(2), r.IntN(2), r.IntN(2)}, Stride: []int{1 + r.IntN(2), 1 + r.IntN(2)},
			Dilation: []int{1 + r.IntN(2), 1 + r.IntN(2)}, AccType: tosa.Int48}
		IH = fitDim(IH, attr.Pad[0], attr.Pad[1], (KH-1)*attr.Dilation[0], attr.Stride[0])
		IW = fitDim(IW, attr.Pad[2], attr.Pad[3], (KW-1)*attr.Dilation[1], attr.Stride[1])
		depthwise := it%4 == 2 // DEPTHWISE_CONV2D: weight [KH, KW, IC, M], OC = IC·M
		M := 1 + r.IntN(3)
		if depthwise {
			OC = IC * M
		}
		w := i8s(r, OC*KH*KW*IC)
		if depthwise {
			w = w[:KH*KW*IC*M]
		}
		wzp := int8(0)
		if it%3 == 1 {
			wzp = randI8(r)
		}
		BC := OC
		if r.IntN(4) == 0 {
			BC = 1
		}
		bias := make([]int64, BC)
		for i := range bias {
			switch {
			case it%10 == 7: // near the int48 limit: unprovable, and may overflow in ref
				bias[i] = int64(1)<<47 - 1 - r.Int64N(1<<20)
			default:
				bias[i] = r.Int64N(1<<31) - 1<<30
			}
		}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int16, N, IH, IW, IC)
		wShape, op := []int{OC, KH, KW, IC}, tosa.OpConv2D
		if depthwise {
			wShape, op = []int{KH, KW, IC, M}, tosa.OpDepthwiseConv2D
		}
		ws := b.AddConst("w", tosa.Int8, wShape, tosa.Int8Data(w))
		bs := b.AddConst("b", tosa.Int48, []int{BC}, tosa.Int48Data(bias))
		iz := b.AddConst("izp", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
		wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{wzp}))
		acc := b.AddOp(op, attr, []string{x, ws, bs, iz, wz}, "acc", tosa.Int48)
		// RESCALE INT48 -> INT16 or INT8, per channel, 16-bit multipliers
		outT := tosa.Int16
		if it%2 == 1 {
			outT = tosa.Int8
		}
		mul, sh := make([]int16, OC), make([]int8, OC)
		for c := range OC {
			mul[c] = int16(1<<14 + r.IntN(1<<14))
			sh[c] = int8(22 + r.IntN(20)) // results around the int16/int8 range, some saturating
			if it%6 == 5 && r.IntN(4) == 0 {
				sh[c] = int8(2 + r.IntN(20)) // small shifts: rounding edges, results beyond int32 (REQUIRE)
			}
		}
		ms := b.AddConst("m", tosa.Int16, []int{OC}, tosa.Int16Data(mul))
		ss := b.AddConst("s", tosa.Int8, []int{OC}, tosa.Int8Data(sh))
		izr := b.AddConst("rizp", tosa.Int48, []int{1}, tosa.Int48Data([]int64{0}))
		var ozr string
		if outT == tosa.Int16 {
			ozr = b.AddConst("rozp", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
		} else {
			ozr = b.AddConst("rozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{int8(r.IntN(256) - 128)}))
		}
		y := b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: false, RoundingMode: tosa.SingleRound, PerChannel: true}, []string{acc, ms, ss, izr, ozr}, "y", outT)
		if outT == tosa.Int16 {
			lo, hi := int16(r.IntN(1000)-500), int16(r.IntN(30000)+600)
			y = b.AddOp(tosa.OpClamp, tosa.Attr{ClampMin: tosa.Int16Data([]int16{lo}), ClampMax: tosa.Int16Data([]int16{hi}), NanMode: tosa.NanPropagate}, []string{y}, "c", tosa.Int16)
			if r.IntN(2) == 0 {
				y = b.AddOp(tosa.OpMaxPool2D, tosa.Attr{Kernel: []int{1, 1}, Stride: []int{1, 1}, Pad: []int{0, 0, 0, 0}, NanMode: tosa.NanPropagate}, []string{y}, "p", tosa.Int16)
			}
			// back to int8 through a 32-bit RESCALE INT16 -> INT8
			m2 := b.AddConst("m2", tosa.Int32, []int{1}, tosa.Int32Data([]int32{int32(1<<30 + r.IntN(1<<30))}))
			s2 := b.AddConst("s2", tosa.Int8, []int{1}, tosa.Int8Data([]int8{int8(31 + r.IntN(10))}))
			z2 := b.AddConst("z2", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
			o2 := b.AddConst("o2", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-5}))
			y = b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound}, []string{y, m2, s2, z2, o2}, "y8", tosa.Int8)
		}
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		xin := i16s(r, N*IH*IW*IC)
		check(t, g, map[string]*tosa.Tensor{x: {Name: x, Shape: []int{N, IH, IW, IC}, Type: tosa.Int16, Data: tosa.Int16Data(xin)}}, op, &st)
	}
	st.report(t, iters*8/10)
}

// TestInt16GraphRunsFast: the int16 kernels cover every operator of a 16x8 CONV2D chain.
func TestInt16GraphRunsFast(t *testing.T) {
	b := tosa.NewBuilder()
	x := b.Input("x", tosa.Int16, 1, 4, 4, 3)
	ws := b.AddConst("w", tosa.Int8, []int{2, 1, 1, 3}, tosa.Int8Data([]int8{1, -2, 3, 127, -127, 5}))
	bs := b.AddConst("b", tosa.Int48, []int{2}, tosa.Int48Data([]int64{1 << 40, -7}))
	iz := b.AddConst("izp", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
	wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
	acc := b.AddOp(tosa.OpConv2D, tosa.Attr{Pad: []int{0, 0, 0, 0}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int48}, []string{x, ws, bs, iz, wz}, "acc", tosa.Int48)
	ms := b.AddConst("m", tosa.Int16, []int{1}, tosa.Int16Data([]int16{1 << 14}))
	ss := b.AddConst("s", tosa.Int8, []int{1}, tosa.Int8Data([]int8{40}))
	izr := b.AddConst("rizp", tosa.Int48, []int{1}, tosa.Int48Data([]int64{0}))
	ozr := b.AddConst("rozp", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
	y := b.AddOp(tosa.OpRescale, tosa.Attr{RoundingMode: tosa.SingleRound}, []string{acc, ms, ss, izr, ozr}, "y", tosa.Int16)
	y = b.AddOp(tosa.OpClamp, tosa.Attr{ClampMin: tosa.Int16Data([]int16{0}), ClampMax: tosa.Int16Data([]int16{32767}), NanMode: tosa.NanPropagate}, []string{y}, "c", tosa.Int16)
	b.Output(y)
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RefOps()) != 0 {
		t.Errorf("operators through tosa/ref: %v", p.RefOps())
	}
	var st diffStats
	r := newRand(5)
	check(t, g, map[string]*tosa.Tensor{x: {Name: x, Shape: []int{1, 4, 4, 3}, Type: tosa.Int16, Data: tosa.Int16Data(i16s(r, 48))}}, tosa.OpConv2D, &st)
}

// TestDiffInt16Resize is TestDiffResize for INT16 input (NEAREST → INT16, BILINEAR → INT48),
// including the largest scales (scale_n up to 2048) and int16 extremes.
func TestDiffInt16Resize(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(4000 + uint64(it))
		N, IH, IW, C := 1+r.IntN(2), 1+r.IntN(7), 1+r.IntN(7), 1+r.IntN(5)
		syn, sxn := int64(1+r.IntN(8)), int64(1+r.IntN(8))
		if it%7 == 3 {
			syn, sxn = 2048, 1024+r.Int64N(1025)
		}
		syd, sxd := int64(1+r.IntN(int(min(16*syn-1, 10)))), int64(1+r.IntN(int(min(16*sxn-1, 10))))
		oy, ox := r.Int64N(2*syn)-syn, r.Int64N(2*sxn)-sxn
		hy := (int64(IH)-1)*syn - oy
		hx := (int64(IW)-1)*sxn - ox
		by := -(((hy % syd) + syd) % syd)
		bx := -(((hx % sxd) + sxd) % sxd)
		mode, outT := tosa.ResizeBilinear, tosa.Int48
		if r.IntN(2) == 0 {
			mode, outT = tosa.ResizeNearest, tosa.Int16
		}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int16, N, IH, IW, C)
		sc := b.AddConstShape("scale", syn, syd, sxn, sxd)
		of := b.AddConstShape("offset", oy, ox)
		bo := b.AddConstShape("border", by, bx)
		y := b.AddOp(tosa.OpResize, tosa.Attr{Mode: mode}, []string{x, sc, of, bo}, "y", outT)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			continue // output too large for the level or shape rules
		}
		check(t, g, map[string]*tosa.Tensor{x: {Name: x, Shape: []int{N, IH, IW, C}, Type: tosa.Int16, Data: tosa.Int16Data(i16s(r, N*IH*IW*C))}}, tosa.OpResize, &st)
	}
	st.report(t, 50)
}
