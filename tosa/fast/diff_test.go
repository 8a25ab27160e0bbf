package fast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
)

// Randomized differential tests: each builds small graphs with tosa.NewBuilder over random
// shapes, attributes, zero points and multipliers (including values near the overflow bounds
// and int8 saturation) and checks that Program.Run gives exactly ref.Run's outputs, or an
// error with exactly ref.Run's message.

type diffStats struct{ graphs, fast, errs, vnni, vecPost int }

// check compares fast and ref on g; it reports whether op ran through a fast kernel.
func check(t *testing.T, g *tosa.Graph, inputs map[string]*tosa.Tensor, op tosa.Op, st *diffStats) {
	t.Helper()
	want, werr := ref.Run(g, inputs)
	p, err := Compile(g)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	st.graphs++
	if p.FastOps()[op] > 0 {
		st.fast++
	}
	for _, s := range p.steps {
		if s.tconv != nil {
			st.vnni++
			break
		}
		if s.conv != nil && s.conv.v != nil {
			st.vnni++
			if s.conv.v.prm != nil {
				st.vecPost++
			}
			break
		}
	}
	got, gerr := p.Run(inputs)
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Fatalf("errors differ:\n ref:  %v\n fast: %v\n graph ops %v", werr, gerr, opsOf(g))
		}
		st.errs++
		return
	}
	for name, w := range want {
		if !sameTensor(got[name], w) {
			t.Fatalf("output %q differs from ref (graph ops %v, fast %v)", name, opsOf(g), p.FastOps())
		}
	}
	// a second run reuses the pooled state
	got2, err := p.Run(inputs)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if !sameTensor(got2[name], w) {
			t.Fatalf("second run: output %q differs", name)
		}
	}
}

func opsOf(g *tosa.Graph) []string {
	var r []string
	for _, o := range g.Ops {
		if o.Op != tosa.OpConst && o.Op != tosa.OpConstShape {
			r = append(r, fmt.Sprintf("%v%+v", o.Op, o.Attr))
		}
	}
	return r
}

func (st *diffStats) report(t *testing.T, minFast int) {
	t.Logf("%d graphs, %d with the fast kernel, %d errors (same as ref); %d CONV2D on the VNNI layout, %d with the vectorized RESCALE", st.graphs, st.fast, st.errs, st.vnni, st.vecPost)
	if dot4Layout() && (strings.HasPrefix(t.Name(), "TestDiffConv") || strings.HasPrefix(t.Name(), "TestDiffTransposeConv")) && st.vnni < minFast/2 {
		t.Errorf("only %d graphs used the VNNI layout", st.vnni)
	}
	if st.fast < minFast {
		t.Errorf("only %d graphs used the fast kernel, want >= %d", st.fast, minFast)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// i8s returns random int8 values: uniform, clustered near c, or mostly extremes.
func i8s(r *rand.Rand, n int) []int8 {
	v := make([]int8, n)
	mode := r.IntN(3)
	c := r.IntN(256) - 128
	ext := []int{-128, 127, -127, 126, 0, 1, -1}
	for i := range v {
		switch mode {
		case 0:
			v[i] = int8(r.IntN(256) - 128)
		case 1:
			v[i] = int8(max(-128, min(127, c+r.IntN(9)-4)))
		default:
			v[i] = int8(ext[r.IntN(len(ext))])
		}
	}
	return v
}

// i32s returns random int32 values in [-lim, lim] with some at the bounds.
func i32s(r *rand.Rand, n int, lim int64) []int32 {
	v := make([]int32, n)
	for i := range v {
		switch r.IntN(8) {
		case 0:
			v[i] = int32(lim)
		case 1:
			v[i] = int32(-lim)
		default:
			v[i] = int32(r.Int64N(2*lim+1) - lim)
		}
	}
	return v
}

func i8in(name string, shape []int, v []int8) *tosa.Tensor {
	return &tosa.Tensor{Name: name, Shape: shape, Type: tosa.Int8, Data: tosa.Int8Data(v)}
}

func i32in(name string, shape []int, v []int32) *tosa.Tensor {
	return &tosa.Tensor{Name: name, Shape: shape, Type: tosa.Int32, Data: tosa.Int32Data(v)}
}

// fitDim grows an input size so that (I - 1 + p0 + p1 - span) is a non-negative multiple of
// the stride, as shape inference requires (span = (K-1)·dilation).
func fitDim(I, p0, p1, span, s int) int {
	v := I - 1 + p0 + p1 - span
	if v < 0 {
		I -= v
		v = 0
	}
	return I + (s-v%s)%s
}

func randI8(r *rand.Rand) int8 { return int8(r.IntN(256) - 128) }

const iters = 150

func TestDiffConv2D(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(uint64(it))
		N, IH, IW, IC, OC := 1+r.IntN(2), 1+r.IntN(9), 1+r.IntN(9), 1+r.IntN(20), 1+r.IntN(40)
		KH, KW := 1+r.IntN(4), 1+r.IntN(4)
		attr := tosa.Attr{Pad: []int{r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)}, Stride: []int{1 + r.IntN(3), 1 + r.IntN(3)},
			Dilation: []int{1 + r.IntN(2), 1 + r.IntN(2)}, AccType: tosa.Int32}
		extreme := it%5 == 4
		if extreme { // large K, |w - wzp| = 255: the bound is unprovable; ref may overflow
			IC, KH, KW, OC = 4000+r.IntN(1000), 3, 3, 1+r.IntN(3)
			IH, IW, attr.Pad, attr.Stride, attr.Dilation = 3, 3, []int{0, 0, 0, 0}, []int{1, 1}, []int{1, 1}
		}
		IH = fitDim(IH, attr.Pad[0], attr.Pad[1], (KH-1)*attr.Dilation[0], attr.Stride[0])
		IW = fitDim(IW, attr.Pad[2], attr.Pad[3], (KW-1)*attr.Dilation[1], attr.Stride[1])
		w := i8s(r, OC*KH*KW*IC)
		wzp, izp := randI8(r), randI8(r)
		if it%2 == 0 {
			wzp = 0 // symmetric weights (the VNNI path needs weight - weight_zp to fit int8)
		}
		if extreme {
			for i := range w {
				w[i] = -128
			}
			wzp, izp = 127, -128
		}
		BC := OC
		if r.IntN(4) == 0 {
			BC = 1
		}
		bias := i32s(r, BC, 1<<int(10+r.IntN(21)))
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, N, IH, IW, IC)
		ws := b.AddConst("w", tosa.Int8, []int{OC, KH, KW, IC}, tosa.Int8Data(w))
		bs := b.AddConst("b", tosa.Int32, []int{BC}, tosa.Int32Data(bias))
		iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{izp}))
		wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{wzp}))
		y := b.AddOp(tosa.OpConv2D, attr, []string{x, ws, bs, iz, wz}, "y", tosa.Int32)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			continue // shape does not fit the kernel
		}
		xin := i8s(r, N*IH*IW*IC)
		if extreme && it%10 == 4 { // all products 255·255: the sum overflows int32
			for i := range xin {
				xin[i] = 127
			}
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, IC}, xin)}, tosa.OpConv2D, &st)
	}
	st.report(t, 50)
}

func TestDiffDepthwise(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(1000 + uint64(it))
		N, IH, IW, C, M := 1+r.IntN(2), 1+r.IntN(9), 1+r.IntN(9), 1+r.IntN(12), 1+r.IntN(3)
		KH, KW := 1+r.IntN(5), 1+r.IntN(5)
		attr := tosa.Attr{Pad: []int{r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)}, Stride: []int{1 + r.IntN(3), 1 + r.IntN(3)},
			Dilation: []int{1 + r.IntN(2), 1 + r.IntN(2)}, AccType: tosa.Int32}
		IH = fitDim(IH, attr.Pad[0], attr.Pad[1], (KH-1)*attr.Dilation[0], attr.Stride[0])
		IW = fitDim(IW, attr.Pad[2], attr.Pad[3], (KW-1)*attr.Dilation[1], attr.Stride[1])
		w := i8s(r, KH*KW*C*M)
		wzp, izp := randI8(r), randI8(r)
		BC := C * M
		if r.IntN(4) == 0 {
			BC = 1
		}
		lim := int64(1) << int(10+r.IntN(21))
		bias := i32s(r, BC, lim)
		if it%6 == 5 { // bias at the int32 edge: overflow possible, the bound fails
			for i := range bias {
				bias[i] = math.MaxInt32 - int32(r.IntN(1000))
			}
		}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, N, IH, IW, C)
		ws := b.AddConst("w", tosa.Int8, []int{KH, KW, C, M}, tosa.Int8Data(w))
		bs := b.AddConst("b", tosa.Int32, []int{BC}, tosa.Int32Data(bias))
		iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{izp}))
		wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{wzp}))
		y := b.AddOp(tosa.OpDepthwiseConv2D, attr, []string{x, ws, bs, iz, wz}, "y", tosa.Int32)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			continue
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, C}, i8s(r, N*IH*IW*C))}, tosa.OpDepthwiseConv2D, &st)
	}
	st.report(t, 50)
}

func TestDiffRescale(t *testing.T) {
	var st diffStats
	for it := range 3 * iters {
		r := newRand(2000 + uint64(it))
		types := []tosa.DType{tosa.Int8, tosa.Int32}
		inT, outT := types[r.IntN(2)], types[r.IntN(2)]
		shape := []int{1 + r.IntN(3), 1 + r.IntN(5), 1 + r.IntN(7)}
		C := shape[2]
		a := tosa.Attr{Scale32: r.IntN(4) != 0, PerChannel: r.IntN(2) == 0, RoundingMode: tosa.SingleRound}
		if a.Scale32 && r.IntN(2) == 0 {
			a.RoundingMode = tosa.DoubleRound
		}
		if inT == tosa.Int8 && outT == tosa.Int8 {
			switch r.IntN(4) {
			case 0:
				a.InputUnsigned = true
			case 1:
				a.OutputUnsigned = true
			}
		}
		nc := 1
		if a.PerChannel {
			nc = C
		}
		mul := make([]int64, nc)
		sh := make([]int8, nc)
		for c := range nc {
			if a.Scale32 {
				switch r.IntN(6) {
				case 0:
					mul[c] = math.MaxInt32
				case 1:
					mul[c] = int64(r.IntN(3))
				default:
					mul[c] = 1<<30 + r.Int64N(1<<30)
				}
			} else {
				mul[c] = 1<<14 + r.Int64N(1<<14)
				if r.IntN(6) == 0 {
					mul[c] = math.MaxInt16
				}
			}
			switch r.IntN(5) {
			case 0: // small shifts: results overflow int32 / value outside [-2^(s-1), 2^(s-1))
				sh[c] = int8(2 + r.IntN(14))
			case 1:
				sh[c] = int8(50 + r.IntN(13))
			default:
				sh[c] = int8(20 + r.IntN(30))
			}
			if it%37 == 36 { // multiplier < 0 / shift out of range: REQUIRE
				if a.Scale32 {
					mul[c] = -1
				} else {
					sh[c] = 63
				}
			}
		}
		var izp, ozp int64
		if inT == tosa.Int8 {
			izp = int64(randI8(r))
		}
		if outT == tosa.Int8 {
			ozp = int64(randI8(r))
		}
		b := tosa.NewBuilder()
		x := b.Input("x", inT, shape...)
		var ms string
		if a.Scale32 {
			v := make([]int32, nc)
			for i := range v {
				v[i] = int32(mul[i])
			}
			ms = b.AddConst("m", tosa.Int32, []int{nc}, tosa.Int32Data(v))
		} else {
			v := make([]int16, nc)
			for i := range v {
				v[i] = int16(mul[i])
			}
			ms = b.AddConst("m", tosa.Int16, []int{nc}, tosa.Int16Data(v))
		}
		ss := b.AddConst("s", tosa.Int8, []int{nc}, tosa.Int8Data(sh))
		izd, _ := tosa.IntData(inT, []int64{izp})
		ozd, _ := tosa.IntData(outT, []int64{ozp})
		iz := b.AddConst("izp", inT, []int{1}, izd)
		oz := b.AddConst("ozp", outT, []int{1}, ozd)
		y := b.AddOp(tosa.OpRescale, a, []string{x, ms, ss, iz, oz}, "y", outT)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		n := tosa.NumElements(shape)
		var in *tosa.Tensor
		if inT == tosa.Int8 {
			in = i8in(x, shape, i8s(r, n))
		} else {
			lim := int64(math.MaxInt32)
			if r.IntN(2) == 0 {
				lim = 1 << int(8+r.IntN(20))
			}
			v := i32s(r, n, lim)
			if r.IntN(3) == 0 {
				v[0] = math.MinInt32
			}
			in = i32in(x, shape, v)
		}
		check(t, g, map[string]*tosa.Tensor{x: in}, tosa.OpRescale, &st)
	}
	st.report(t, 200)
	if st.errs == 0 {
		t.Error("no REQUIRE failures exercised")
	}
}

func TestDiffResize(t *testing.T) {
	var st diffStats
	for it := range 2 * iters {
		r := newRand(3000 + uint64(it))
		N, IH, IW, C := 1+r.IntN(2), 1+r.IntN(8), 1+r.IntN(8), 1+r.IntN(5)
		syn, sxn := int64(1+r.IntN(8)), int64(1+r.IntN(8))
		syd, sxd := int64(1+r.IntN(int(min(16*syn-1, 10)))), int64(1+r.IntN(int(min(16*sxn-1, 10))))
		oy, ox := r.Int64N(2*syn)-syn, r.Int64N(2*sxn)-sxn
		// choose the border so that the output size is integral
		hy := (int64(IH)-1)*syn - oy
		hx := (int64(IW)-1)*sxn - ox
		by := -(((hy % syd) + syd) % syd)
		bx := -(((hx % sxd) + sxd) % sxd)
		if r.IntN(3) == 0 && by+syd < syn {
			by += syd
		}
		mode, outT := tosa.ResizeBilinear, tosa.Int32
		if r.IntN(2) == 0 {
			mode, outT = tosa.ResizeNearest, tosa.Int8
		}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, N, IH, IW, C)
		sc := b.AddConstShape("scale", syn, syd, sxn, sxd)
		of := b.AddConstShape("offset", oy, ox)
		bo := b.AddConstShape("border", by, bx)
		y := b.AddOp(tosa.OpResize, tosa.Attr{Mode: mode}, []string{x, sc, of, bo}, "y", outT)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			continue
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, C}, i8s(r, N*IH*IW*C))}, tosa.OpResize, &st)
	}
	st.report(t, 100)
}

// randShape returns a random shape of rank 1..4 and a broadcast partner.
func randShapes(r *rand.Rand) (a, b []int) {
	rank := 1 + r.IntN(4)
	for range rank {
		d := 1 + r.IntN(5)
		a = append(a, d)
		if r.IntN(3) == 0 {
			b = append(b, 1)
		} else {
			b = append(b, d)
		}
	}
	if r.IntN(2) == 0 {
		a, b = b, a
	}
	return a, b
}

func TestDiffElementwise(t *testing.T) {
	for _, op := range []tosa.Op{tosa.OpAdd, tosa.OpSub, tosa.OpMul} {
		t.Run(op.String(), func(t *testing.T) {
			var st diffStats
			for it := range iters {
				r := newRand(4000 + uint64(it) + uint64(op)*1000)
				sa, sb := randShapes(r)
				inT, shift := tosa.Int32, int8(0)
				if op == tosa.OpMul {
					if r.IntN(2) == 0 {
						inT = tosa.Int8
					} else if r.IntN(2) == 0 {
						shift = int8(1 + r.IntN(40))
					}
				}
				b := tosa.NewBuilder()
				x1 := b.Input("x1", inT, sa...)
				var y string
				x2 := "x2"
				constSecond := r.IntN(2) == 0
				mk := func(shape []int) *tosa.Tensor {
					n := tosa.NumElements(shape)
					if inT == tosa.Int8 {
						return i8in("", shape, i8s(r, n))
					}
					lim := int64(math.MaxInt32)
					if op == tosa.OpMul && r.IntN(4) != 0 {
						lim = 1 << int(4+r.IntN(16))
					} else if r.IntN(4) != 0 {
						lim = 1 << 30
					}
					return i32in("", shape, i32s(r, n, lim))
				}
				t2 := mk(sb)
				if constSecond {
					x2 = b.AddConst("x2", inT, sb, t2.Data)
				} else {
					x2 = b.Input("x2", inT, sb...)
				}
				ins := []string{x1, x2}
				if op == tosa.OpMul {
					ins = append(ins, b.AddConst("shift", tosa.Int8, []int{1}, tosa.Int8Data([]int8{shift})))
				}
				y = b.AddOp(op, tosa.Attr{}, ins, "y", tosa.Int32)
				b.Output(y)
				g, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				t1 := mk(sa)
				t1.Name = x1
				inputs := map[string]*tosa.Tensor{x1: t1}
				if !constSecond {
					t2.Name = x2
					inputs[x2] = t2
				}
				check(t, g, inputs, op, &st)
			}
			st.report(t, iters)
		})
	}
}

func TestDiffClampTable(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(5000 + uint64(it))
		shape, _ := randShapes(r)
		n := tosa.NumElements(shape)
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, shape...)
		lo, hi := randI8(r), randI8(r)
		if lo > hi && it%10 != 0 { // it%10 == 0: max < min, ERROR_IF
			lo, hi = hi, lo
		}
		bound := func(v int8) []byte { return []byte{byte(v), 0, 0, 0, 0, 0, 0, 0} }
		c := b.AddOp(tosa.OpClamp, tosa.Attr{ClampMin: bound(lo), ClampMax: bound(hi), NanMode: tosa.NanPropagate}, []string{x}, "c", tosa.Int8)
		tb := b.AddConst("table", tosa.Int8, []int{256}, tosa.Int8Data(i8s(r, 256)))
		y := b.AddOp(tosa.OpTable, tosa.Attr{}, []string{c, tb}, "y", tosa.Int8)
		b.Output(y)
		g, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, shape, i8s(r, n))}, tosa.OpTable, &st)
	}
	st.report(t, iters)
	if st.errs == 0 {
		t.Error("no CLAMP ERROR_IF exercised")
	}
}

func TestDiffDataMovement(t *testing.T) {
	var st diffStats
	for it := range iters {
		r := newRand(6000 + uint64(it))
		rank := 1 + r.IntN(5)
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = 1 + r.IntN(4)
		}
		n := tosa.NumElements(shape)
		inT := tosa.Int8
		if r.IntN(2) == 0 {
			inT = tosa.Int32
		}
		b := tosa.NewBuilder()
		x := b.Input("x", inT, shape...)
		perm := r.Perm(rank)
		tr := b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: perm}, []string{x}, "tr", inT)
		axis := r.IntN(rank)
		cshape := append([]int{}, shape...)
		for i, p := range perm {
			cshape[i] = shape[p]
		}
		cshape[axis] = 1 + r.IntN(3)
		var cd []byte
		if inT == tosa.Int8 {
			cd = tosa.Int8Data(i8s(r, tosa.NumElements(cshape)))
		} else {
			cd = tosa.Int32Data(i32s(r, tosa.NumElements(cshape), math.MaxInt32))
		}
		k := b.AddConst("k", inT, cshape, cd)
		ops := []string{tr, k, tr}
		r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		cc := b.AddOp(tosa.OpConcat, tosa.Attr{Axis: axis}, ops, "cc", inT)
		ccShape := b.Graph().Tensor(cc).Shape
		total := tosa.NumElements(ccShape)
		rs := b.AddConstShape("rs", int64(total))
		flat := b.AddOp(tosa.OpReshape, tosa.Attr{}, []string{cc, rs}, "flat", inT)
		id := b.AddOp(tosa.OpIdentity, tosa.Attr{}, []string{flat}, "id", inT)
		b.Output(id, tr)
		g, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		var in *tosa.Tensor
		if inT == tosa.Int8 {
			in = i8in(x, shape, i8s(r, n))
		} else {
			in = i32in(x, shape, i32s(r, n, math.MaxInt32))
		}
		check(t, g, map[string]*tosa.Tensor{x: in}, tosa.OpConcat, &st)
		p, _ := Compile(g)
		if len(p.RefOps()) != 0 {
			t.Fatalf("ops through ref: %v", p.RefOps())
		}
	}
	st.report(t, iters)
}

func TestDiffPool(t *testing.T) {
	for _, op := range []tosa.Op{tosa.OpAvgPool2D, tosa.OpMaxPool2D} {
		t.Run(op.String(), func(t *testing.T) {
			var st diffStats
			for it := range iters {
				r := newRand(7000 + uint64(it) + uint64(op)*1000)
				N, IH, IW, C := 1+r.IntN(2), 1+r.IntN(9), 1+r.IntN(9), 1+r.IntN(6)
				ky, kx := 1+r.IntN(4), 1+r.IntN(4)
				a := tosa.Attr{Kernel: []int{ky, kx}, Stride: []int{1 + r.IntN(3), 1 + r.IntN(3)},
					Pad: []int{r.IntN(ky), r.IntN(ky), r.IntN(kx), r.IntN(kx)}}
				IH = fitDim(IH, a.Pad[0], a.Pad[1], ky-1, a.Stride[0])
				IW = fitDim(IW, a.Pad[2], a.Pad[3], kx-1, a.Stride[1])
				if it%20 == 19 {
					a.Pad[0] = ky // ERROR_IF pad >= kernel (if shapes still infer)
				}
				b := tosa.NewBuilder()
				x := b.Input("x", tosa.Int8, N, IH, IW, C)
				var y string
				if op == tosa.OpAvgPool2D {
					a.AccType = tosa.Int32
					iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
					oz := b.AddConst("ozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
					y = b.AddOp(op, a, []string{x, iz, oz}, "y", tosa.Int8)
				} else {
					a.NanMode = tosa.NanPropagate
					y = b.AddOp(op, a, []string{x}, "y", tosa.Int8)
				}
				b.Output(y)
				g, err := b.Build()
				if err != nil {
					continue
				}
				check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, C}, i8s(r, N*IH*IW*C))}, op, &st)
			}
			st.report(t, 50)
		})
	}
}

// TestPortableKernel runs the CONV2D differential test with the pure-Go micro-kernel.
func TestPortableKernel(t *testing.T) {
	if !useAVX2 {
		t.Skip("the portable kernel is the only kernel here")
	}
	savedVNNI := useVNNI
	useAVX2, useVNNI = false, false
	defer func() { useAVX2, useVNNI = true, savedVNNI }()
	TestDiffConv2D(t)
}

// TestDiffConvRescale covers the fused CONV2D → RESCALE epilogue, including RESCALEs whose
// REQUIRE fails (small shifts) and a CONV2D accumulator that is also a graph output.
func TestDiffConvRescale(t *testing.T) {
	var st diffStats
	fused := 0
	for it := range iters {
		r := newRand(8000 + uint64(it))
		N, IH, IW, IC, OC := 1, 2+r.IntN(10), 2+r.IntN(10), 1+r.IntN(16), 1+r.IntN(40)
		attr := tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32}
		b := tosa.NewBuilder()
		x := b.Input("x", tosa.Int8, N, IH, IW, IC)
		ws := b.AddConst("w", tosa.Int8, []int{OC, 3, 3, IC}, tosa.Int8Data(i8s(r, OC*9*IC)))
		bs := b.AddConst("b", tosa.Int32, []int{OC}, tosa.Int32Data(i32s(r, OC, 1<<16)))
		iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
		wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
		acc := b.AddOp(tosa.OpConv2D, attr, []string{x, ws, bs, iz, wz}, "acc", tosa.Int32)
		perCh := r.IntN(2) == 0
		nc := 1
		if perCh {
			nc = OC
		}
		mul, sh := make([]int32, nc), make([]int8, nc)
		for c := range nc {
			mul[c] = int32(1<<30 + r.IntN(1<<30))
			sh[c] = int8(30 + 8 + r.IntN(8))
			if it%4 == 3 {
				sh[c] = int8(2 + r.IntN(20)) // the scaled value may leave int32, or the value exceed 2^(shift-1)
			}
		}
		rm := tosa.SingleRound
		if r.IntN(2) == 0 {
			rm = tosa.DoubleRound
		}
		m := b.AddConst("m", tosa.Int32, []int{nc}, tosa.Int32Data(mul))
		s := b.AddConst("s", tosa.Int8, []int{nc}, tosa.Int8Data(sh))
		riz := b.AddConst("rizp", tosa.Int32, []int{1}, tosa.Int32Data([]int32{0}))
		roz := b.AddConst("rozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
		y := b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, PerChannel: perCh, RoundingMode: rm}, []string{acc, m, s, riz, roz}, "y", tosa.Int8)
		b.Output(y)
		if it%5 == 0 {
			b.Output(acc)
		}
		g, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{N, IH, IW, IC}, i8s(r, N*IH*IW*IC))}, tosa.OpRescale, &st)
		if p, _ := Compile(g); p.nFlags > 0 {
			fused++
		}
	}
	st.report(t, iters)
	if st.errs == 0 {
		t.Error("no fused RESCALE failure exercised")
	}
	if fused < iters/2 {
		t.Errorf("only %d graphs fused CONV2D and RESCALE", fused)
	}
}

// TestDiffResizeGo runs the RESIZE differential test with the int8 bilinear rows in Go (the
// path without AVX2).
func TestDiffResizeGo(t *testing.T) {
	forceGoResize = true
	defer func() { forceGoResize = false }()
	TestDiffResize(t)
}
