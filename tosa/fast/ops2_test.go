package fast

import (
	"math"
	"slices"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// TestDiffPadSlice: PAD (random rank, padding and pad value; INT8, INT32 and INT16 tensors)
// followed by SLICE (random window), against ref.
func TestDiffPadSlice(t *testing.T) {
	var st, sst diffStats
	for it := range iters {
		r := newRand(9000 + uint64(it))
		rank := 1 + r.IntN(4)
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = 1 + r.IntN(5)
		}
		typ := []tosa.DType{tosa.Int8, tosa.Int32, tosa.Int16}[r.IntN(3)]
		n := tosa.NumElements(shape)
		b := tosa.NewBuilder()
		x := b.Input("x", typ, shape...)
		pads := make([]int64, 2*rank)
		padded := make([]int, rank)
		for d := range rank {
			pads[2*d], pads[2*d+1] = int64(r.IntN(3)), int64(r.IntN(3))
			padded[d] = shape[d] + int(pads[2*d]+pads[2*d+1])
		}
		ps := b.AddConstShape("pads", pads...)
		var pc string
		var in *tosa.Tensor
		switch typ {
		case tosa.Int8:
			pc = b.AddConst("pc", typ, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
			in = i8in(x, shape, i8s(r, n))
		case tosa.Int32:
			pc = b.AddConst("pc", typ, []int{1}, tosa.Int32Data(i32s(r, 1, math.MaxInt32)))
			in = i32in(x, shape, i32s(r, n, math.MaxInt32))
		default:
			v := make([]int64, n)
			for i := range v {
				v[i] = int64(r.IntN(65536) - 32768)
			}
			d, err := tosa.IntData(typ, []int64{int64(r.IntN(65536) - 32768)})
			if err != nil {
				t.Fatal(err)
			}
			pc = b.AddConst("pc", typ, []int{1}, d)
			dv, err := tosa.IntData(typ, v)
			if err != nil {
				t.Fatal(err)
			}
			in = &tosa.Tensor{Name: x, Shape: shape, Type: typ, Data: dv}
		}
		pd := b.AddOp(tosa.OpPad, tosa.Attr{}, []string{x, ps, pc}, "pd", typ)
		start, size := make([]int64, rank), make([]int64, rank)
		for d := range rank {
			start[d] = int64(r.IntN(padded[d]))
			size[d] = 1 + int64(r.IntN(padded[d]-int(start[d])))
		}
		ss := b.AddConstShape("start", start...)
		sz := b.AddConstShape("size", size...)
		sl := b.AddOp(tosa.OpSlice, tosa.Attr{}, []string{pd, ss, sz}, "sl", typ)
		b.Output(sl, pd)
		g, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string]*tosa.Tensor{x: in}
		check(t, g, inputs, tosa.OpPad, &st)
		check(t, g, inputs, tosa.OpSlice, &sst)
		p, _ := Compile(g)
		if len(p.RefOps()) != 0 {
			t.Fatalf("ops through ref: %v", p.RefOps())
		}
	}
	st.report(t, iters)
	sst.report(t, iters)
}

// TestDiffTransposeConv2D: random shapes, strides, out_pad (negative too), zero points and
// biases, including weights that make the accumulator bound unprovable (ref then runs it).
func TestDiffTransposeConv2D(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(9500 + uint64(it))
		N, IH, IW, IC, OC := 1+r.IntN(2), 1+r.IntN(6), 1+r.IntN(6), 1+r.IntN(12), 1+r.IntN(12)
		KH, KW := 1+r.IntN(4), 1+r.IntN(4)
		outPad := []int{r.IntN(KH+1) - KH/2, r.IntN(KH+1) - KH/2, r.IntN(KW+1) - KW/2, r.IntN(KW+1) - KW/2}
		for i := range outPad {
			k := KH
			if i >= 2 {
				k = KW
			}
			outPad[i] = max(outPad[i], 1-k)
		}
		attr := tosa.Attr{OutPad: outPad, Stride: []int{1 + r.IntN(3), 1 + r.IntN(3)}, AccType: tosa.Int32}
		w := i8s(r, OC*KH*KW*IC)
		wzp, izp := randI8(r), randI8(r)
		if it%2 == 0 {
			wzp = 0 // symmetric weights (the VNNI path needs weight - weight_zp to fit int8)
		}
		bias := i32s(r, OC, 1<<int(10+r.IntN(21)))
		if it%6 == 5 {
			for i := range bias {
				bias[i] = math.MaxInt32 - int32(r.IntN(1000))
			}
		}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, N, IH, IW, IC)
		ws := b.AddConst("w", tosa.Int8, []int{OC, KH, KW, IC}, tosa.Int8Data(w))
		bs := b.AddConst("b", tosa.Int32, []int{OC}, tosa.Int32Data(bias))
		iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{izp}))
		wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{wzp}))
		y := b.AddOp(tosa.OpTransposeConv2D, attr, []string{x, ws, bs, iz, wz}, "y", tosa.Int32)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, IC}, i8s(r, N*IH*IW*IC))}, tosa.OpTransposeConv2D, &st)
	}
	st.report(t, iters/2)
}

// TestDwAcc checks the depthwise accumulation kernels (AVX2 on amd64) against their Go versions
// on random lengths and values, including the int8 and zero-point extremes and int32 wrapping.
func TestDwAcc(t *testing.T) {
	r := newRand(91)
	for it := range 300 {
		n := r.IntN(70)
		x8 := i8s(r, n)
		x32, w := i32s(r, n, 1<<31-1), i32s(r, n, 1<<31-1)
		if it%3 == 0 {
			w = i32s(r, n, 256)
		}
		acc := i32s(r, n, 1<<31-1)
		izp := int32(randI8(r))
		got, want := slices.Clone(acc), slices.Clone(acc)
		dwAcc8(got, x8, w, izp)
		dwAcc8Go(want, x8, w, izp)
		if !slices.Equal(got, want) {
			t.Fatalf("dwAcc8 n %d: %v, want %v", n, got, want)
		}
		got, want = slices.Clone(acc), slices.Clone(acc)
		dwAcc32(got, x32, w)
		dwAcc32Go(want, x32, w)
		if !slices.Equal(got, want) {
			t.Fatalf("dwAcc32 n %d: %v, want %v", n, got, want)
		}
	}
}

// TestDwPixel checks the whole-pixel depthwise kernel (AVX2 on amd64) against its definition.
func TestDwPixel(t *testing.T) {
	r := newRand(92)
	done := 0
	for it := range 300 {
		C, nt := 1+r.IntN(40), 1+r.IntN(9)
		offs := make([]int, nt)
		o := r.IntN(5)
		for i := range offs {
			offs[i] = o
			o += C + r.IntN(3*C)
		}
		base := r.IntN(7)
		x := i8s(r, base+o+C)
		w := i32s(r, nt*C, 1<<31-1)
		if it%3 == 0 {
			w = i32s(r, nt*C, 256)
		}
		acc := i32s(r, C, 1<<31-1)
		izp := int32(randI8(r))
		got, want := slices.Clone(acc), slices.Clone(acc)
		if !dwPixel(got, x, base, offs, w, izp) {
			continue
		}
		done++
		for c := range want {
			for i, of := range offs {
				want[c] += (int32(x[base+of+c]) - izp) * w[i*C+c]
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("it %d C %d taps %d: %v, want %v", it, C, nt, got, want)
		}
	}
	if useAVX2 && done < 200 {
		t.Errorf("only %d cases ran the kernel", done)
	}
}

// TestDiffDepthwisePortable runs the DEPTHWISE_CONV2D differential test with the Go loops.
func TestDiffDepthwisePortable(t *testing.T) {
	if !useAVX2 {
		t.Skip("the Go loops are the only ones here")
	}
	useAVX2 = false
	defer func() { useAVX2 = true }()
	TestDiffDepthwise(t)
}
