package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func TestAdamWSteps(t *testing.T) {
	p := Param(FromData([]float32{1, -2, 0.5}, 3))
	skip := Param(FromData([]float32{3}, 1)) // nil Grad: skipped like p.grad is None
	opt := NewAdamW([]*Var{p, skip}, 0.1)
	if opt.Beta1 != 0.9 || opt.Beta2 != 0.999 || opt.Eps != 1e-8 || opt.WeightDecay != 0.01 {
		t.Fatalf("defaults %+v", opt)
	}
	grads := [][]float32{{0.5, -1, 2}, {0.1, 0.3, -0.2}}
	// float64 reference of the AdamW recurrence.
	ref := []float64{1, -2, 0.5}
	m, v := make([]float64, 3), make([]float64, 3)
	for s, g := range grads {
		p.Grad = FromData(append([]float32(nil), g...), 3)
		opt.Step()
		step := float64(s + 1)
		for i := range ref {
			ref[i] *= 1 - 0.1*0.01
			m[i] = 0.9*m[i] + 0.1*float64(g[i])
			v[i] = 0.999*v[i] + 0.001*float64(g[i])*float64(g[i])
			den := math.Sqrt(v[i])/math.Sqrt(1-math.Pow(0.999, step)) + 1e-8
			ref[i] -= 0.1 / (1 - math.Pow(0.9, step)) * m[i] / den
			if !near(float64(p.Val.Data[i]), ref[i]) {
				t.Errorf("step %d param %d = %v, want %v", s+1, i, p.Val.Data[i], ref[i])
			}
		}
	}
	if skip.Val.Data[0] != 3 || opt.StepCount() != 2 {
		t.Errorf("skipped param changed to %v / step count %d", skip.Val.Data[0], opt.StepCount())
	}
	st := opt.StateTensors()
	for _, k := range []string{"exp_avg.0", "exp_avg_sq.0", "step.0", "step"} {
		if st[k] == nil {
			t.Errorf("state lacks %q", k)
		}
	}
	if st["exp_avg.1"] != nil {
		t.Errorf("state has exp_avg for a parameter that never had a gradient")
	}
}

func TestAdamWAMSGrad(t *testing.T) {
	p := Param(FromData([]float32{1}, 1))
	opt := NewAdamW([]*Var{p}, 0.01)
	opt.AMSGrad = true
	opt.WeightDecay = 0
	ref, m, v, vmax := 1.0, 0.0, 0.0, 0.0
	for s, g := range []float64{2, 0.1, 0.1} {
		p.Grad = FromData([]float32{float32(g)}, 1)
		opt.Step()
		step := float64(s + 1)
		m = 0.9*m + 0.1*g
		v = 0.999*v + 0.001*g*g
		vmax = math.Max(vmax, v)
		ref -= 0.01 / (1 - math.Pow(0.9, step)) * m / (math.Sqrt(vmax)/math.Sqrt(1-math.Pow(0.999, step)) + 1e-8)
		if !near(float64(p.Val.Data[0]), ref) {
			t.Errorf("step %d: %v, want %v", s+1, p.Val.Data[0], ref)
		}
	}
}

func TestSGD(t *testing.T) {
	for _, c := range []struct {
		name          string
		mom, damp, wd float64
		nesterov      bool
	}{
		{"plain", 0, 0, 0, false},
		{"momentum", 0.9, 0, 0, false},
		{"dampening+wd", 0.9, 0.5, 0.1, false},
		{"nesterov+wd", 0.8, 0, 0.01, true},
	} {
		p := Param(FromData([]float32{1, -1}, 2))
		opt := NewSGD([]*Var{p, Param(New(1))}, 0.1)
		opt.Momentum, opt.Dampening, opt.WeightDecay, opt.Nesterov = float32(c.mom), float32(c.damp), float32(c.wd), c.nesterov
		ref := []float64{1, -1}
		buf := []float64{0, 0}
		for s, g := range [][]float64{{0.5, 2}, {-1, 0.25}, {0.3, 0.3}} {
			p.Grad = FromData([]float32{float32(g[0]), float32(g[1])}, 2)
			opt.Step()
			for i := range ref {
				d := g[i] + c.wd*ref[i]
				if c.mom != 0 {
					if s == 0 {
						buf[i] = d
					} else {
						buf[i] = c.mom*buf[i] + (1-c.damp)*d
					}
					if c.nesterov {
						d += c.mom * buf[i]
					} else {
						d = buf[i]
					}
				}
				ref[i] -= 0.1 * d
				if !near(float64(p.Val.Data[i]), ref[i]) {
					t.Errorf("%s step %d param %d = %v, want %v", c.name, s+1, i, p.Val.Data[i], ref[i])
				}
			}
		}
	}
}

func TestOptimizerStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	mk := func() []*Var {
		return []*Var{Param(FromData([]float32{1, 2, 3}, 3)), Param(FromData([]float32{-1}, 1))}
	}
	grads := func(ps []*Var, s int) {
		r := rand.New(rand.NewPCG(uint64(s), 9))
		for _, p := range ps {
			p.Grad = randTensor(r, p.Val.Shape...)
		}
	}
	_ = rng
	for _, kind := range []string{"adamw", "sgd"} {
		newOpt := func(ps []*Var) Optimizer {
			if kind == "adamw" {
				return NewAdamW(ps, 0.01)
			}
			o := NewSGD(ps, 0.01)
			o.Momentum = 0.9
			return o
		}
		a := mk()
		oa := newOpt(a)
		for s := 0; s < 3; s++ {
			grads(a, s)
			oa.Step()
		}
		st := oa.StateTensors()
		b := []*Var{Param(a[0].Val.Clone()), Param(a[1].Val.Clone())}
		ob := newOpt(b)
		if err := ob.LoadStateTensors(st); err != nil {
			t.Fatalf("%s: load: %v", kind, err)
		}
		if ob.StepCount() != 3 {
			t.Errorf("%s: step count %d after load", kind, ob.StepCount())
		}
		for s := 3; s < 5; s++ {
			grads(a, s)
			grads(b, s)
			oa.Step()
			ob.Step()
		}
		for i := range a {
			for j := range a[i].Val.Data {
				if a[i].Val.Data[j] != b[i].Val.Data[j] {
					t.Errorf("%s: resumed run differs at param %d[%d]", kind, i, j)
				}
			}
		}
		bad := map[string]*Tensor{"step": scalarTensor(1), "bogus.7": New(1)}
		if err := newOpt(mk()).LoadStateTensors(bad); err == nil {
			t.Errorf("%s: loading unknown state succeeded", kind)
		}
	}
}

func benchInput(shape ...int) *Tensor {
	return randTensor(rand.New(rand.NewPCG(1, 1)), shape...)
}

func BenchmarkReLU64x32x32x32(b *testing.B) {
	x := Param(benchInput(64, 32, 32, 32))
	seed := onesLike(x.Val)
	b.SetBytes(int64(4 * len(x.Val.Data)))
	for b.Loop() {
		x.Grad = nil
		ReLU(x).Backward(seed)
	}
}

func BenchmarkResizeBilinearX2_64x32x32x32(b *testing.B) {
	x := Param(benchInput(64, 32, 32, 32))
	var seed *Tensor
	b.SetBytes(int64(4 * len(x.Val.Data)))
	for b.Loop() {
		x.Grad = nil
		y := Resize(x, ResizeOpts{Mode: ResizeBilinear, ScaleH: 2, ScaleW: 2})
		if seed == nil {
			seed = onesLike(y.Val)
		}
		y.Backward(seed)
	}
}

func BenchmarkResizeBilinearForward_64x32x32x32(b *testing.B) {
	x := Const(benchInput(64, 32, 32, 32))
	for b.Loop() {
		Resize(x, ResizeOpts{Mode: ResizeBilinear, ScaleH: 2, ScaleW: 2})
	}
}
