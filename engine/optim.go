package engine

import (
	"fmt"
	"math"

	"github.com/vgfq/vgfq/engine/kern"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step()
	// ZeroGrad clears the parameters' gradients.
	ZeroGrad()
	// StateTensors returns the optimizer state for checkpoints, named by parameter index
	// ("exp_avg.0", "momentum_buffer.3", ...) plus "step" (a one-element tensor).
	StateTensors() map[string]*Tensor
	// LoadStateTensors restores state saved by StateTensors.
	LoadStateTensors(map[string]*Tensor) error
	// StepCount returns the number of steps taken.
	StepCount() int
}

// fma32 returns a*b + c rounded to float32 (ATen's vectorised fmadd for add(alpha=), addcmul),
// as kern.FMA32: the float64 FMA of float32 operands rounds the exact result to 53 bits first;
// the double rounding differs from a float32 FMA only in very rare ties.
func fma32(a, b, c float32) float32 { return kern.FMA32(a, b, c) }

// AdamW is torch.optim.AdamW (torch 1.13, foreach=False: _single_tensor_adamw), reproduced op by
// op in float32. The hyper-parameters are float32 fields but are used as the Python floats
// (doubles) they print as, like PyTorch's Python-float hyper-parameters (see pyFloat).
type AdamW struct {
	Params      []*Var
	LR          float32
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32
	AMSGrad     bool

	expAvg, expAvgSq, maxExpAvgSq []*Tensor
	steps                         []int // per parameter, as PyTorch's state['step']
	stepCount                     int
}

// NewAdamW returns AdamW with torch's defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.
func NewAdamW(params []*Var, lr float32) *AdamW {
	n := len(params)
	return &AdamW{Params: params, LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01,
		expAvg: make([]*Tensor, n), expAvgSq: make([]*Tensor, n), maxExpAvgSq: make([]*Tensor, n),
		steps: make([]int, n)}
}

// Step performs one AdamW update.
func (o *AdamW) Step() {
	lr, b1, b2, eps, wd := pyFloat(o.LR), pyFloat(o.Beta1), pyFloat(o.Beta2), pyFloat(o.Eps), pyFloat(o.WeightDecay)
	decay := float32(1 - lr*wd)
	beta1, beta2 := float32(b1), float32(b2)
	oneMinusB1, oneMinusB2 := float32(1-b1), float32(1-b2)
	epsF := float32(eps)
	for i, p := range o.Params {
		if p.Grad == nil {
			continue
		}
		if o.expAvg[i] == nil {
			o.expAvg[i] = New(p.Val.Shape...)
			o.expAvgSq[i] = New(p.Val.Shape...)
		}
		if o.AMSGrad && o.maxExpAvgSq[i] == nil {
			o.maxExpAvgSq[i] = New(p.Val.Shape...)
		}
		o.steps[i]++
		step := float64(o.steps[i])
		bc1 := 1 - math.Pow(b1, step)
		bc2 := 1 - math.Pow(b2, step)
		stepSize := lr / bc1
		bc2Sqrt := float32(math.Sqrt(bc2))
		negStep := float32(-stepSize)
		pd, g, m, v := p.Val.Data, p.Grad.Data, o.expAvg[i].Data, o.expAvgSq[i].Data
		var vmax []float32
		if o.AMSGrad {
			vmax = o.maxExpAvgSq[i].Data
		}
		parallelElems(len(pd), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				pd[j] *= decay                                  // param.mul_(1 - lr*wd)
				m[j] = fma32(oneMinusB1, g[j], m[j]*beta1)      // exp_avg.mul_(b1).add_(g, alpha=1-b1)
				v[j] = fma32(oneMinusB2*g[j], g[j], v[j]*beta2) // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
				den := v[j]
				if vmax != nil {
					vmax[j] = max32nan(vmax[j], v[j]) // torch.maximum
					den = vmax[j]
				}
				d := sqrt32(den)/bc2Sqrt + epsF // (sqrt / bias_correction2_sqrt).add_(eps)
				pd[j] += negStep * m[j] / d     // param.addcdiv_(exp_avg, denom, value=-step_size)
			}
		})
	}
	o.stepCount++
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// max32nan is torch.maximum: NaN propagates.
func max32nan(a, b float32) float32 {
	if a != a || b != b {
		return float32(math.NaN())
	}
	return max(a, b)
}

// ZeroGrad clears the parameters' gradients.
func (o *AdamW) ZeroGrad() { ZeroGrad(o.Params) }

// StepCount returns the number of Step calls.
func (o *AdamW) StepCount() int { return o.stepCount }

// StateTensors returns exp_avg.i, exp_avg_sq.i (and max_exp_avg_sq.i with AMSGrad) and step.i
// for every parameter that has state, plus "step" (the number of Step calls).
func (o *AdamW) StateTensors() map[string]*Tensor {
	st := map[string]*Tensor{"step": scalarTensor(o.stepCount)}
	for i := range o.Params {
		if o.expAvg[i] == nil {
			continue
		}
		st[fmt.Sprintf("exp_avg.%d", i)] = o.expAvg[i].Clone()
		st[fmt.Sprintf("exp_avg_sq.%d", i)] = o.expAvgSq[i].Clone()
		st[fmt.Sprintf("step.%d", i)] = scalarTensor(o.steps[i])
		if o.maxExpAvgSq[i] != nil {
			st[fmt.Sprintf("max_exp_avg_sq.%d", i)] = o.maxExpAvgSq[i].Clone()
		}
	}
	return st
}

// LoadStateTensors restores state saved by StateTensors. Parameters without saved state start
// fresh.
func (o *AdamW) LoadStateTensors(st map[string]*Tensor) error {
	n := len(o.Params)
	expAvg, expAvgSq, maxSq, steps := make([]*Tensor, n), make([]*Tensor, n), make([]*Tensor, n), make([]int, n)
	total, err := loadScalar(st, "step")
	if err != nil {
		return err
	}
	known := map[string]bool{"step": true}
	for i, p := range o.Params {
		var err error
		if expAvg[i], err = loadParamState(st, "exp_avg", i, p, known); err != nil {
			return err
		}
		if expAvgSq[i], err = loadParamState(st, "exp_avg_sq", i, p, known); err != nil {
			return err
		}
		if maxSq[i], err = loadParamState(st, "max_exp_avg_sq", i, p, known); err != nil {
			return err
		}
		if (expAvg[i] == nil) != (expAvgSq[i] == nil) {
			return fmt.Errorf("adamw state: parameter %d has only one of exp_avg and exp_avg_sq", i)
		}
		if expAvg[i] != nil {
			k := fmt.Sprintf("step.%d", i)
			s, err := loadScalar(st, k)
			if err != nil {
				return err
			}
			known[k] = true
			steps[i] = s
			if o.AMSGrad && maxSq[i] == nil {
				return fmt.Errorf("adamw state: AMSGrad needs max_exp_avg_sq.%d", i)
			}
		}
	}
	if err := checkKnown("adamw", st, known); err != nil {
		return err
	}
	o.expAvg, o.expAvgSq, o.maxExpAvgSq, o.steps, o.stepCount = expAvg, expAvgSq, maxSq, steps, total
	return nil
}

// SGD is torch.optim.SGD (torch 1.13, foreach=False: _single_tensor_sgd), op by op in float32.
// Hyper-parameters are used as the Python floats they print as (see pyFloat).
type SGD struct {
	Params      []*Var
	LR          float32
	Momentum    float32
	Dampening   float32
	WeightDecay float32
	Nesterov    bool

	buf       []*Tensor
	stepCount int
}

// NewSGD returns plain SGD (momentum 0, dampening 0, weight_decay 0, no Nesterov).
func NewSGD(params []*Var, lr float32) *SGD {
	return &SGD{Params: params, LR: lr, buf: make([]*Tensor, len(params))}
}

// Step performs one SGD update.
func (o *SGD) Step() {
	lr, mom, damp, wd := pyFloat(o.LR), pyFloat(o.Momentum), pyFloat(o.Dampening), pyFloat(o.WeightDecay)
	if o.Nesterov && (mom <= 0 || damp != 0) {
		panic("engine.SGD: Nesterov momentum requires a momentum and zero dampening")
	}
	negLR, wdF, momF, oneMinusDamp := float32(-lr), float32(wd), float32(mom), float32(1-damp)
	for i, p := range o.Params {
		if p.Grad == nil {
			continue
		}
		pd, g := p.Val.Data, p.Grad.Data
		fresh := false
		if mom != 0 && o.buf[i] == nil {
			o.buf[i] = New(p.Val.Shape...)
			fresh = true
		}
		var buf []float32
		if mom != 0 {
			buf = o.buf[i].Data
		}
		parallelElems(len(pd), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				d := g[j]
				if wd != 0 {
					d = fma32(wdF, pd[j], d) // d_p.add(param, alpha=weight_decay)
				}
				if buf != nil {
					if fresh {
						buf[j] = d // torch.clone(d_p)
					} else {
						buf[j] = fma32(oneMinusDamp, d, buf[j]*momF) // buf.mul_(m).add_(d_p, alpha=1-dampening)
					}
					if o.Nesterov {
						d = fma32(momF, buf[j], d) // d_p.add(buf, alpha=momentum)
					} else {
						d = buf[j]
					}
				}
				pd[j] = fma32(negLR, d, pd[j]) // param.add_(d_p, alpha=-lr)
			}
		})
	}
	o.stepCount++
}

// ZeroGrad clears the parameters' gradients.
func (o *SGD) ZeroGrad() { ZeroGrad(o.Params) }

// StepCount returns the number of Step calls.
func (o *SGD) StepCount() int { return o.stepCount }

// StateTensors returns momentum_buffer.i for every parameter with a buffer, plus "step".
func (o *SGD) StateTensors() map[string]*Tensor {
	st := map[string]*Tensor{"step": scalarTensor(o.stepCount)}
	for i, b := range o.buf {
		if b != nil {
			st[fmt.Sprintf("momentum_buffer.%d", i)] = b.Clone()
		}
	}
	return st
}

// LoadStateTensors restores state saved by StateTensors.
func (o *SGD) LoadStateTensors(st map[string]*Tensor) error {
	total, err := loadScalar(st, "step")
	if err != nil {
		return err
	}
	known := map[string]bool{"step": true}
	buf := make([]*Tensor, len(o.Params))
	for i, p := range o.Params {
		if buf[i], err = loadParamState(st, "momentum_buffer", i, p, known); err != nil {
			return err
		}
	}
	if err := checkKnown("sgd", st, known); err != nil {
		return err
	}
	o.buf, o.stepCount = buf, total
	return nil
}

func scalarTensor(v int) *Tensor { return FromData([]float32{float32(v)}, 1) }

func loadScalar(st map[string]*Tensor, k string) (int, error) {
	t, ok := st[k]
	if !ok {
		return 0, fmt.Errorf("optimizer state: missing %q", k)
	}
	if len(t.Data) != 1 || t.Data[0] < 0 || t.Data[0] != float32(math.Trunc(float64(t.Data[0]))) {
		return 0, fmt.Errorf("optimizer state: %q is not a non-negative integer scalar", k)
	}
	return int(t.Data[0]), nil
}

// loadParamState returns a copy of st["name.i"] (nil if absent), checking its shape against p.
func loadParamState(st map[string]*Tensor, name string, i int, p *Var, known map[string]bool) (*Tensor, error) {
	k := fmt.Sprintf("%s.%d", name, i)
	t, ok := st[k]
	if !ok {
		return nil, nil
	}
	known[k] = true
	if !SameShape(t.Shape, p.Val.Shape) || len(t.Data) != NumElems(t.Shape) {
		return nil, fmt.Errorf("optimizer state: %s has shape %v, parameter %d has %v", k, t.Shape, i, p.Val.Shape)
	}
	return t.Clone(), nil
}

func checkKnown(opt string, st map[string]*Tensor, known map[string]bool) error {
	for k := range st {
		if !known[k] {
			return fmt.Errorf("%s state: unexpected entry %q (parameter index out of range or wrong optimizer)", opt, k)
		}
	}
	return nil
}
