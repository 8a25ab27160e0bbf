package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestResize(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	// 1x1x1x2 [0, 1] upsampled x2 (align_corners=False): 0, .25, .75, 1.
	x := FromData([]float32{0, 1}, 1, 1, 1, 2)
	y := Resize(Const(x), ResizeOpts{Mode: ResizeBilinear, ScaleH: 2, ScaleW: 2}).Val
	if !SameShape(y.Shape, []int{1, 1, 2, 4}) {
		t.Fatalf("shape %v", y.Shape)
	}
	for i, w := range []float32{0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1} {
		if y.Data[i] != w {
			t.Errorf("bilinear x2 [%d] = %v, want %v", i, y.Data[i], w)
		}
	}
	// align_corners=True, 2 -> 3: 0, .5, 1.
	y = Resize(Const(x), ResizeOpts{Mode: ResizeBilinear, OutH: 1, OutW: 3, AlignCorners: true}).Val
	for i, w := range []float32{0, 0.5, 1} {
		if y.Data[i] != w {
			t.Errorf("bilinear align [%d] = %v, want %v", i, y.Data[i], w)
		}
	}
	// nearest 3 -> 5: floor(i*0.6) = 0,0,1,1,2; nearest-exact: floor((i+.5)*0.6) = 0,0,1,2,2.
	x3 := FromData([]float32{10, 11, 12}, 1, 1, 1, 3)
	for _, c := range []struct {
		mode ResizeMode
		want []float32
	}{{ResizeNearest, []float32{10, 10, 11, 11, 12}}, {ResizeNearestExact, []float32{10, 10, 11, 12, 12}}} {
		y := Resize(Const(x3), ResizeOpts{Mode: c.mode, OutH: 1, OutW: 5}).Val
		for i, w := range c.want {
			if y.Data[i] != w {
				t.Errorf("%v 3->5 [%d] = %v, want %v", c.mode, i, y.Data[i], w)
			}
		}
	}
	// Scale factor derives the size as floor(in*scale).
	if h, w, err := ResizeOutHW(5, 7, ResizeOpts{ScaleH: 1.5, ScaleW: 0.5}); err != nil || h != 7 || w != 3 {
		t.Errorf("ResizeOutHW = %d, %d, %v", h, w, err)
	}
	for _, o := range []ResizeOpts{
		{Mode: ResizeBilinear, ScaleH: 2, ScaleW: 2},
		{Mode: ResizeBilinear, OutH: 4, OutW: 9},
		{Mode: ResizeBilinear, OutH: 7, OutW: 3, AlignCorners: true},
		{Mode: ResizeBilinear, ScaleH: 1.5, ScaleW: 0.5},
		{Mode: ResizeNearest, ScaleH: 2, ScaleW: 1.5},
		{Mode: ResizeNearestExact, OutH: 3, OutW: 8},
	} {
		o := o
		gradCheck(t, "Resize "+o.Mode.String(), func(xs []*Var) *Var { return Resize(xs[0], o) }, randTensor(rng, 2, 3, 5, 6))
	}
	mustPanic(t, "Resize 3-D", func() { Resize(Const(New(1, 2, 3)), ResizeOpts{OutH: 2, OutW: 2}) })
}

func TestPoolOutHW(t *testing.T) {
	cases := []struct {
		h      int
		o      PoolOpts
		want   int
		hasErr bool
	}{
		{32, PoolOpts{Kernel: [2]int{2, 2}}, 16, false},
		{5, PoolOpts{Kernel: [2]int{2, 2}}, 2, false},
		{5, PoolOpts{Kernel: [2]int{2, 2}, CeilMode: true}, 3, false},
		{5, PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, 3, false},
		{6, PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true}, 4, false},
		// ceil gives 4, but the last window would start in the right padding: 3.
		{5, PoolOpts{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true}, 3, false},
		{7, PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}}, 3, false},
		{5, PoolOpts{Kernel: [2]int{2, 2}, Padding: [2]int{2, 2}}, 0, true},
		{1, PoolOpts{Kernel: [2]int{3, 3}}, 0, true},
		{5, PoolOpts{Kernel: [2]int{0, 2}}, 0, true},
	}
	for _, c := range cases {
		h, w, err := PoolOutHW(c.h, c.h, c.o)
		if (err != nil) != c.hasErr || (!c.hasErr && (h != c.want || w != c.want)) {
			t.Errorf("PoolOutHW(%d, %+v) = %d, %d, %v; want %d (err %v)", c.h, c.o, h, w, err, c.want, c.hasErr)
		}
	}
}

func TestPools(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	x := FromData([]float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9}, 1, 1, 3, 3)
	// avg k3 s1 p1: corner (1+2+4+5)/9 with padding counted, /4 without.
	inc := AvgPool2d(Const(x), PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}).Val
	exc := AvgPool2d(Const(x), PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true}).Val
	if inc.Data[0] != 12/float32(9) || exc.Data[0] != 3 || inc.Data[4] != 5 {
		t.Errorf("AvgPool2d corner inc %v exc %v centre %v", inc.Data[0], exc.Data[0], inc.Data[4])
	}
	// ceil mode with a window clipped by the input edge (count_include_pad divides by the
	// window clipped to the padded input: here 1 column, so 2 elements).
	ce := AvgPool2d(Const(x), PoolOpts{Kernel: [2]int{2, 2}, CeilMode: true}).Val
	if !SameShape(ce.Shape, []int{1, 1, 2, 2}) || ce.Data[1] != (3+6)/float32(2) || ce.Data[3] != 9 {
		t.Errorf("AvgPool2d ceil %v %v", ce.Shape, ce.Data)
	}
	mp := MaxPool2d(Const(x), PoolOpts{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}}).Val
	for i, w := range []float32{5, 6, 8, 9} {
		if mp.Data[i] != w {
			t.Errorf("MaxPool2d [%d] = %v, want %v", i, mp.Data[i], w)
		}
	}
	// Ties: the gradient goes to the first maximum in window order.
	tie := Param(FromData([]float32{1, 1, 1, 1}, 1, 1, 2, 2))
	MaxPool2d(tie, PoolOpts{Kernel: [2]int{2, 2}}).Backward(FromData([]float32{1}, 1, 1, 1, 1))
	if g := tie.Grad.Data; g[0] != 1 || g[1] != 0 || g[2] != 0 || g[3] != 0 {
		t.Errorf("MaxPool2d tie gradient %v, want [1 0 0 0]", g)
	}
	nan := float32(math.NaN())
	if y := MaxPool2d(Const(FromData([]float32{1, nan, 3, 2}, 1, 1, 2, 2)), PoolOpts{Kernel: [2]int{2, 2}}).Val.Data[0]; y == y {
		t.Errorf("MaxPool2d with NaN = %v, want NaN", y)
	}
	for _, o := range []PoolOpts{
		{Kernel: [2]int{2, 2}},
		{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}},
		{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true, ExcludePad: true},
		{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, CeilMode: true},
		{Kernel: [2]int{3, 2}, Stride: [2]int{2, 1}},
	} {
		o := o
		gradCheck(t, "AvgPool2d", func(xs []*Var) *Var { return AvgPool2d(xs[0], o) }, randTensor(rng, 2, 3, 7, 6))
		gradCheck(t, "MaxPool2d", func(xs []*Var) *Var { return MaxPool2d(xs[0], o) }, distinctGrid(rng, 2, 3, 7, 6))
	}
	o := PoolOpts{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}}
	gradCheck(t, "MaxPool2d dilated", func(xs []*Var) *Var { return MaxPool2d(xs[0], o) }, distinctGrid(rng, 1, 2, 7, 8))
	mustPanic(t, "AvgPool2d dilation", func() { AvgPool2d(Const(New(1, 1, 7, 7)), o) })
	mustPanic(t, "MaxPool2d too small", func() { MaxPool2d(Const(New(1, 1, 1, 1)), PoolOpts{Kernel: [2]int{2, 2}}) })
}

func TestBatchNorm2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := randTensor(rng, 4, 3, 5, 6)
	for i := range x.Data {
		x.Data[i] = x.Data[i]*2 + 1
	}
	rm, rv := New(3), onesLike(New(3))
	y := BatchNorm2d(Const(x), nil, nil, rm, rv, true, 0.1, 1e-5).Val
	for c := 0; c < 3; c++ {
		var s, s2, xs, xs2 float64
		for n := 0; n < 4; n++ {
			for i := 0; i < 30; i++ {
				v := float64(y.Data[(n*3+c)*30+i])
				s += v
				s2 += v * v
				u := float64(x.Data[(n*3+c)*30+i])
				xs += u
				xs2 += u * u
			}
		}
		mean, varb := s/120, s2/120-(s/120)*(s/120)
		if math.Abs(mean) > 1e-5 || math.Abs(varb-1) > 1e-3 {
			t.Errorf("channel %d: normalised mean %v var %v", c, mean, varb)
		}
		xm := xs / 120
		xv := (xs2/120 - xm*xm) * 120 / 119
		if math.Abs(float64(rm.Data[c])-0.1*xm) > 1e-5 || math.Abs(float64(rv.Data[c])-(0.9+0.1*xv)) > 1e-4 {
			t.Errorf("channel %d: running stats %v %v, want %v %v", c, rm.Data[c], rv.Data[c], 0.1*xm, 0.9+0.1*xv)
		}
	}
	// Eval uses the running stats: (x - rm)/sqrt(rv+eps)*gamma + beta.
	erm, erv := FromData([]float32{1, 2, 3}, 3), FromData([]float32{4, 1, 0.25}, 3)
	g, b := FromData([]float32{2, 1, 1}, 3), FromData([]float32{0, 1, -1}, 3)
	ye := BatchNorm2d(Const(x), Const(g), Const(b), erm, erv, false, 0.1, 0).Val
	for _, i := range []int{0, 31, 65, 359} {
		c := (i / 30) % 3
		want := (x.Data[i]-erm.Data[c])/float32(math.Sqrt(float64(erv.Data[c])))*g.Data[c] + b.Data[c]
		if math.Abs(float64(ye.Data[i]-want)) > 1e-5 {
			t.Errorf("eval [%d] = %v, want %v", i, ye.Data[i], want)
		}
	}
	gamma, beta := randTensor(rng, 3), randTensor(rng, 3)
	gradCheck(t, "BatchNorm2d train", func(xs []*Var) *Var {
		return BatchNorm2d(xs[0], xs[1], xs[2], New(3), onesLike(New(3)), true, 0.1, 1e-5)
	}, x, gamma, beta)
	gradCheck(t, "BatchNorm2d eval", func(xs []*Var) *Var {
		return BatchNorm2d(xs[0], xs[1], xs[2], erm, erv, false, 0.1, 1e-5)
	}, x, gamma, beta)
	gradCheck(t, "BatchNorm2d no affine", func(xs []*Var) *Var {
		return BatchNorm2d(xs[0], nil, nil, nil, nil, false, 0.1, 1e-5)
	}, x)
	mustPanic(t, "BatchNorm2d channels", func() { BatchNorm2d(Const(x), Const(New(4)), nil, nil, nil, true, 0.1, 1e-5) })
}

func TestInit(t *testing.T) {
	w, b := New(16, 8, 3, 3), New(16)
	InitConvParams(w, b, false, rand.New(rand.NewPCG(1, 1)))
	bound := 1 / math.Sqrt(72)
	check := func(name string, d []float32, bound float64) {
		t.Helper()
		var maxAbs float64
		for _, v := range d {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		if maxAbs > bound || maxAbs < 0.8*bound {
			t.Errorf("%s: max |v| = %v, bound %v", name, maxAbs, bound)
		}
	}
	check("conv weight", w.Data, bound)
	check("conv bias", b.Data, bound)
	// ConvTranspose2d weight C x O x kh x kw: fan_in = O*kh*kw.
	wt := New(8, 4, 4, 4)
	InitConvParams(wt, nil, true, rand.New(rand.NewPCG(1, 1)))
	check("convT weight", wt.Data, 1/math.Sqrt(64))
	k := New(1000)
	KaimingUniform(k, 50, 0, rand.New(rand.NewPCG(2, 2)))
	check("kaiming a=0", k.Data, math.Sqrt(3)*math.Sqrt(2)/math.Sqrt(50))
	w2 := New(16, 8, 3, 3)
	InitConvParams(w2, New(16), false, rand.New(rand.NewPCG(1, 1)))
	for i := range w.Data {
		if w.Data[i] != w2.Data[i] {
			t.Fatal("InitConvParams not deterministic for a seed")
		}
	}
}
