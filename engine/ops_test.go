package engine

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randTensor(rng *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

// awayFrom returns a random tensor whose values keep at least gap from each kink.
func awayFrom(rng *rand.Rand, gap float64, kinks []float64, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
	again:
		v := rng.NormFloat64() * 2
		for _, k := range kinks {
			if math.Abs(v-k) < gap {
				goto again
			}
		}
		t.Data[i] = float32(v)
	}
	return t
}

// distinctGrid returns a tensor holding a shuffled grid of values spaced 0.1 apart (no ties,
// so max-pooling's argmax is stable under small perturbations).
func distinctGrid(rng *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	perm := rng.Perm(len(t.Data))
	for i, p := range perm {
		t.Data[i] = float32(p)*0.1 - float32(len(t.Data))*0.05
	}
	return t
}

// gradCheck compares the analytic gradients of L = sum(f(xs) * w) (w random) with central
// finite differences computed in float64 from float32 forward passes.
func gradCheck(t *testing.T, name string, f func(xs []*Var) *Var, inputs ...*Tensor) {
	t.Helper()
	const h = 1e-2
	rng := rand.New(rand.NewPCG(7, 7))
	vars := make([]*Var, len(inputs))
	for i, in := range inputs {
		vars[i] = Param(in)
	}
	out := f(vars)
	w := randTensor(rng, out.Shape()...)
	out.Backward(w)
	loss := func() float64 {
		cs := make([]*Var, len(inputs))
		for i, in := range inputs {
			cs[i] = Const(in)
		}
		o := f(cs)
		var s float64
		for i, v := range o.Val.Data {
			s += float64(v) * float64(w.Data[i])
		}
		return s
	}
	for k, in := range inputs {
		if vars[k].Grad == nil {
			t.Fatalf("%s: input %d got no gradient", name, k)
		}
		n := len(in.Data)
		step := max(1, n/200) // check at most ~200 elements per input
		for i := 0; i < n; i += step {
			old := in.Data[i]
			in.Data[i] = old + h
			lp := loss()
			in.Data[i] = old - h
			lm := loss()
			in.Data[i] = old
			num := (lp - lm) / float64(float32(old+h)-float32(old-h))
			got := float64(vars[k].Grad.Data[i])
			if math.Abs(got-num) > 2e-3+2e-2*math.Abs(num) {
				t.Errorf("%s: d/dx%d[%d] analytic %.6g, numeric %.6g", name, k, i, got, num)
				return
			}
		}
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", what)
		} else if s, ok := r.(string); ok && !strings.HasPrefix(s, "engine.") {
			t.Errorf("%s: panic message %q does not name the op", what, s)
		}
	}()
	f()
}

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		a, b, want []int
		err        bool
	}{
		{[]int{2, 3}, []int{2, 3}, []int{2, 3}, false},
		{[]int{4, 3, 5, 5}, []int{1}, []int{4, 3, 5, 5}, false},
		{[]int{4, 3, 5, 5}, []int{1, 3, 1, 1}, []int{4, 3, 5, 5}, false},
		{[]int{3, 1, 1}, []int{4, 3, 5, 5}, []int{4, 3, 5, 5}, false},
		{[]int{5, 1, 4}, []int{3, 1}, []int{5, 3, 4}, false},
		{[]int{}, []int{2}, []int{2}, false},
		{[]int{2, 3}, []int{3, 2}, nil, true},
		{[]int{4, 3, 5, 5}, []int{3, 5}, nil, true},
	}
	for _, c := range cases {
		got, err := BroadcastShape(c.a, c.b)
		if (err != nil) != c.err || (!c.err && !SameShape(got, c.want)) {
			t.Errorf("BroadcastShape(%v, %v) = %v, %v; want %v (err %v)", c.a, c.b, got, err, c.want, c.err)
		}
	}
}

// naiveBinary is a direct index-arithmetic implementation of broadcasting.
func naiveBinary(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	out, _ := BroadcastShape(a.Shape, b.Shape)
	y := New(out...)
	r := len(out)
	idx := make([]int, r)
	off := func(s []int) int {
		o := 0
		for k := range s {
			d := idx[r-len(s)+k]
			if s[k] == 1 {
				d = 0
			}
			o = o*s[k] + d
		}
		return o
	}
	for i := range y.Data {
		rem := i
		for k := r - 1; k >= 0; k-- {
			idx[k] = rem % out[k]
			rem /= out[k]
		}
		y.Data[i] = f(a.Data[off(a.Shape)], b.Data[off(b.Shape)])
	}
	return y
}

var bcastPairs = [][2][]int{
	{{2, 3, 4, 5}, {2, 3, 4, 5}},
	{{2, 3, 4, 5}, {1}},
	{{1}, {2, 3, 4, 5}},
	{{2, 3, 4, 5}, {1, 3, 1, 1}},
	{{3, 1, 1}, {2, 3, 4, 5}},
	{{5, 1, 4}, {3, 1}},
	{{2, 1, 4, 1}, {1, 3, 1, 5}},
	{{2, 3, 4, 5}, {4, 5}},
}

func TestBinaryBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := []struct {
		name string
		op   func(a, b *Var) *Var
		f    func(x, y float32) float32
	}{
		{"Add", Add, func(x, y float32) float32 { return x + y }},
		{"Sub", Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", Mul, func(x, y float32) float32 { return x * y }},
	}
	for _, o := range ops {
		for _, p := range bcastPairs {
			a, b := randTensor(rng, p[0]...), randTensor(rng, p[1]...)
			got := o.op(Const(a), Const(b)).Val
			want := naiveBinary(a, b, o.f)
			if !SameShape(got.Shape, want.Shape) {
				t.Fatalf("%s %v %v: shape %v, want %v", o.name, p[0], p[1], got.Shape, want.Shape)
			}
			for i := range want.Data {
				if got.Data[i] != want.Data[i] {
					t.Fatalf("%s %v %v: [%d] = %v, want %v", o.name, p[0], p[1], i, got.Data[i], want.Data[i])
				}
			}
			gradCheck(t, o.name+ShapeString(p[0])+"_"+ShapeString(p[1]), func(xs []*Var) *Var { return o.op(xs[0], xs[1]) }, a, b)
		}
	}
	mustPanic(t, "Add incompatible", func() { Add(Const(New(2, 3)), Const(New(3, 2))) })
}

func TestBinaryLarge(t *testing.T) {
	// Large enough to run in parallel; checks the chunked iteration against the naive version.
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := randTensor(rng, 8, 16, 32, 32), randTensor(rng, 1, 16, 1, 1)
	got := Mul(Const(a), Const(b)).Val
	want := naiveBinary(a, b, func(x, y float32) float32 { return x * y })
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("[%d] = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
	// Broadcast gradient reduction: dL/db[c] = sum over n,h,w of g*a (float64 reference).
	av, bv := Param(a), Param(b)
	Mul(av, bv).Backward(FromData(func() []float32 {
		s := make([]float32, len(a.Data))
		for i := range s {
			s[i] = 1
		}
		return s
	}(), a.Shape...))
	for c := 0; c < 16; c++ {
		var s float64
		for n := 0; n < 8; n++ {
			for i := 0; i < 1024; i++ {
				s += float64(a.Data[(n*16+c)*1024+i])
			}
		}
		if math.Abs(float64(bv.Grad.Data[c])-s) > 1e-4*math.Max(1, math.Abs(s)) {
			t.Errorf("db[%d] = %v, want %v", c, bv.Grad.Data[c], s)
		}
	}
	// Deterministic: same gradient again.
	bv2 := Param(b)
	Mul(Const(a), bv2).Backward(FromData(append([]float32(nil), onesLike(a).Data...), a.Shape...))
	for c := range bv2.Grad.Data {
		if bv2.Grad.Data[c] != bv.Grad.Data[c] {
			t.Fatalf("non-deterministic reduction at %d", c)
		}
	}
}

func onesLike(t *Tensor) *Tensor {
	o := New(t.Shape...)
	for i := range o.Data {
		o.Data[i] = 1
	}
	return o
}

func TestUnaryOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := FromData([]float32{-2, -0.5, 0, 0.5, 6, 7, -1, 1}, 8)
	check := func(name string, y *Var, want []float32) {
		t.Helper()
		for i, w := range want {
			if y.Val.Data[i] != w {
				t.Errorf("%s: [%d] = %v, want %v", name, i, y.Val.Data[i], w)
			}
		}
	}
	check("ReLU", ReLU(Const(x)), []float32{0, 0, 0, 0.5, 6, 7, 0, 1})
	check("LeakyReLU", LeakyReLU(Const(x), 0.1), []float32{-0.2, -0.05, 0, 0.5, 6, 7, -0.1, 1})
	check("Clamp", Clamp(Const(x), 0, 6), []float32{0, 0, 0, 0.5, 6, 6, 0, 1})
	check("Clamp-1,1", Clamp(Const(x), -1, 1), []float32{-1, -0.5, 0, 0.5, 1, 1, -1, 1})
	check("Scale", Scale(Const(x), 3), []float32{-6, -1.5, 0, 1.5, 18, 21, -3, 3})
	check("Sigmoid", Sigmoid(Const(FromData([]float32{0}, 1))), []float32{0.5})
	check("Tanh", Tanh(Const(FromData([]float32{0}, 1))), []float32{0})

	// Boundary gradients: relu'(0) = 0, leaky'(0) = slope, clamp passes at lo and hi,
	// hardtanh does not.
	grad := func(f func(*Var) *Var) []float32 {
		v := Param(x.Clone())
		f(v).Backward(onesLike(x))
		return v.Grad.Data
	}
	check2 := func(name string, got, want []float32) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s grad: [%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	check2("ReLU", grad(ReLU), []float32{0, 0, 0, 1, 1, 1, 0, 1})
	check2("LeakyReLU", grad(func(v *Var) *Var { return LeakyReLU(v, 0.1) }), []float32{0.1, 0.1, 0.1, 1, 1, 1, 0.1, 1})
	check2("Clamp", grad(func(v *Var) *Var { return Clamp(v, 0, 6) }), []float32{0, 0, 1, 1, 1, 0, 0, 1})
	check2("Clamp-1,1", grad(func(v *Var) *Var { return Clamp(v, -1, 1) }), []float32{0, 1, 1, 1, 0, 0, 1, 1})
	check2("Hardtanh", grad(func(v *Var) *Var { return Hardtanh(v, 0, 6) }), []float32{0, 0, 0, 1, 0, 0, 0, 1})

	nan := float32(math.NaN())
	if y := ReLU(Const(FromData([]float32{nan}, 1))).Val.Data[0]; y == y {
		t.Errorf("ReLU(NaN) = %v, want NaN", y)
	}
	if y := Clamp(Const(FromData([]float32{nan}, 1)), 0, 6).Val.Data[0]; y == y {
		t.Errorf("Clamp(NaN) = %v, want NaN", y)
	}

	shape := []int{2, 3, 4, 5}
	gradCheck(t, "ReLU", func(xs []*Var) *Var { return ReLU(xs[0]) }, awayFrom(rng, 0.05, []float64{0}, shape...))
	gradCheck(t, "LeakyReLU", func(xs []*Var) *Var { return LeakyReLU(xs[0], 0.2) }, awayFrom(rng, 0.05, []float64{0}, shape...))
	gradCheck(t, "Clamp", func(xs []*Var) *Var { return Clamp(xs[0], -1, 1.5) }, awayFrom(rng, 0.05, []float64{-1, 1.5}, shape...))
	gradCheck(t, "Hardtanh", func(xs []*Var) *Var { return Hardtanh(xs[0], 0, 6) }, awayFrom(rng, 0.05, []float64{0, 6}, shape...))
	gradCheck(t, "Sigmoid", func(xs []*Var) *Var { return Sigmoid(xs[0]) }, randTensor(rng, shape...))
	gradCheck(t, "Tanh", func(xs []*Var) *Var { return Tanh(xs[0]) }, randTensor(rng, shape...))
	gradCheck(t, "Scale", func(xs []*Var) *Var { return Scale(xs[0], -1.5) }, randTensor(rng, shape...))
}

func TestReductionsAndLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := FromData([]float32{1, 2, 3, 4}, 2, 2)
	if s := Sum(Const(x)).Val; !SameShape(s.Shape, []int{1}) || s.Data[0] != 10 {
		t.Errorf("Sum = %v %v", s.Shape, s.Data)
	}
	if m := Mean(Const(x)).Val; m.Data[0] != 2.5 {
		t.Errorf("Mean = %v", m.Data)
	}
	p, y := FromData([]float32{1, 2, 3, 4}, 4), FromData([]float32{0, 2, 5, 3}, 4)
	if l := MSELoss(Const(p), Const(y)).Val.Data[0]; l != (1+0+4+1)/4.0 {
		t.Errorf("MSELoss = %v", l)
	}
	pv := Param(p.Clone())
	l1 := L1Loss(pv, Const(y))
	if l1.Val.Data[0] != 1 {
		t.Errorf("L1Loss = %v", l1.Val.Data[0])
	}
	l1.Backward()
	for i, want := range []float32{0.25, 0, -0.25, 0.25} {
		if pv.Grad.Data[i] != want {
			t.Errorf("L1Loss grad[%d] = %v, want %v (sign(0) = 0)", i, pv.Grad.Data[i], want)
		}
	}
	shape := []int{2, 3, 4, 5}
	gradCheck(t, "Sum", func(xs []*Var) *Var { return Sum(xs[0]) }, randTensor(rng, shape...))
	gradCheck(t, "Mean", func(xs []*Var) *Var { return Mean(xs[0]) }, randTensor(rng, shape...))
	gradCheck(t, "MSELoss", func(xs []*Var) *Var { return MSELoss(xs[0], xs[1]) }, randTensor(rng, shape...), randTensor(rng, shape...))
	a := randTensor(rng, shape...)
	b := a.Clone()
	for i := range b.Data { // keep |a-b| away from 0
		b.Data[i] += float32(0.1+rng.Float64()) * float32(1-2*(i%2))
	}
	gradCheck(t, "L1Loss", func(xs []*Var) *Var { return L1Loss(xs[0], xs[1]) }, a, b)
	mustPanic(t, "MSELoss shapes", func() { MSELoss(Const(New(2)), Const(New(3))) })
}

func TestShapeOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := randTensor(rng, 2, 3, 4, 5)
	r := Reshape(Const(x), 6, -1)
	if !SameShape(r.Shape(), []int{6, 20}) {
		t.Errorf("Reshape(6,-1) shape %v", r.Shape())
	}
	mustPanic(t, "Reshape bad", func() { Reshape(Const(x), 7, -1) })
	mustPanic(t, "Reshape two -1", func() { Reshape(Const(x), -1, -1) })

	p := Permute(Const(x), 0, 2, 3, 1).Val
	if !SameShape(p.Shape, []int{2, 4, 5, 3}) {
		t.Fatalf("Permute shape %v", p.Shape)
	}
	at := func(t *Tensor, i ...int) float32 {
		o := 0
		for k, d := range i {
			o = o*t.Shape[k] + d
		}
		return t.Data[o]
	}
	if at(p, 1, 2, 3, 1) != at(x, 1, 1, 2, 3) {
		t.Errorf("Permute value mismatch")
	}
	tr := Transpose(Const(x), 1, -1).Val
	if !SameShape(tr.Shape, []int{2, 5, 4, 3}) || at(tr, 1, 4, 2, 0) != at(x, 1, 0, 2, 4) {
		t.Errorf("Transpose wrong: shape %v", tr.Shape)
	}
	gradCheck(t, "Reshape", func(xs []*Var) *Var { return Reshape(xs[0], 4, 30) }, x.Clone())
	gradCheck(t, "Permute", func(xs []*Var) *Var { return Permute(xs[0], 3, 1, 0, 2) }, x.Clone())
	gradCheck(t, "Transpose", func(xs []*Var) *Var { return Transpose(xs[0], 0, 2) }, x.Clone())

	a, b := randTensor(rng, 2, 1, 3, 3), randTensor(rng, 2, 4, 3, 3)
	c := Concat(1, Const(a), Const(b)).Val
	if !SameShape(c.Shape, []int{2, 5, 3, 3}) || at(c, 1, 0, 2, 1) != at(a, 1, 0, 2, 1) || at(c, 1, 3, 0, 2) != at(b, 1, 2, 0, 2) {
		t.Errorf("Concat wrong")
	}
	c2 := Concat(-1, Const(randTensor(rng, 2, 3)), Const(randTensor(rng, 2, 2))).Val
	if !SameShape(c2.Shape, []int{2, 5}) {
		t.Errorf("Concat(-1) shape %v", c2.Shape)
	}
	gradCheck(t, "Concat", func(xs []*Var) *Var { return Concat(1, xs[0], xs[1], xs[0]) }, a, b)
	mustPanic(t, "Concat mismatch", func() { Concat(1, Const(New(1, 2, 3)), Const(New(2, 2, 3))) })

	// PixelShuffle: out[n,c,h*r+i,w*r+j] = in[n,c*r*r+i*r+j,h,w].
	in := randTensor(rng, 2, 8, 3, 4)
	ps := PixelShuffle(Const(in), 2).Val
	if !SameShape(ps.Shape, []int{2, 2, 6, 8}) {
		t.Fatalf("PixelShuffle shape %v", ps.Shape)
	}
	for _, q := range [][6]int{{1, 1, 2, 3, 1, 0}, {0, 0, 0, 0, 0, 1}, {1, 1, 1, 3, 1, 1}} {
		n, cc, h, w, i, j := q[0], q[1], q[2], q[3], q[4], q[5]
		if at(ps, n, cc, h*2+i, w*2+j) != at(in, n, cc*4+i*2+j, h, w) {
			t.Errorf("PixelShuffle mismatch at %v", q)
		}
	}
	back := PixelUnshuffle(Const(ps), 2).Val
	for i := range in.Data {
		if back.Data[i] != in.Data[i] {
			t.Fatalf("PixelUnshuffle(PixelShuffle(x)) != x at %d", i)
		}
	}
	gradCheck(t, "PixelShuffle", func(xs []*Var) *Var { return PixelShuffle(xs[0], 2) }, in)
	gradCheck(t, "PixelUnshuffle", func(xs []*Var) *Var { return PixelUnshuffle(xs[0], 3) }, randTensor(rng, 1, 2, 6, 9))
	mustPanic(t, "PixelShuffle bad", func() { PixelShuffle(Const(New(1, 3, 2, 2)), 2) })
}
