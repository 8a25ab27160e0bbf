package quant

import (
	"math"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/engine/kern"
)

// LearnableFakeQuant is torch.ao.quantization's _LearnableFakeQuantize (LSQ, learned step size)
// for per-tensor affine int8 activations with use_grad_scaling=True — a vgfq option, not what
// the reference flow does. While Static is set, every call observes the tensor with a
// MovingAverageMinMax observer and copies its §1.1 qparams into the learnable Scale and ZP (a
// float zero point); afterwards Scale and ZP are parameters trained with the model:
// forward = fake_quantize_per_tensor_affine(x, scale, nearbyint(zp)), backward =
// _fake_quantize_learnable_per_tensor_affine_backward (STE for x; LSQ gradients for scale and
// zero point, scaled by 1/sqrt(numel * qmax), summed with torch.sum's order).
type LearnableFakeQuant struct {
	Obs    *MovingAverageMinMax
	Scale  *engine.Var // [1]
	ZP     *engine.Var // [1], float
	Static bool        // observe and copy qparams (learning off)
}

// NewLearnableFakeQuant returns the module in its initial state (static estimate on, scale 1,
// zero point 0).
func NewLearnableFakeQuant(eps float32) *LearnableFakeQuant {
	if eps == 0 {
		eps = Eps16
	}
	return &LearnableFakeQuant{Obs: NewMovingAverageMinMax(ActInt8.WithEps(eps)),
		Scale: engine.Param(engine.FromData([]float32{1}, 1)), ZP: engine.Param(engine.FromData([]float32{0}, 1)), Static: true}
}

// float32 machine epsilon, the lower clamp of a learned scale (torch.finfo(torch.float32).eps).
const lsqMinScale = float32(1.1920928955078125e-07)

// QParams are the qparams the module quantizes with: the learned scale, the zero point rounded
// half-even and clamped (torch's _get_zero_point_from_tensor for the forward).
func (f *LearnableFakeQuant) QParams() (float32, int32) {
	return f.Scale.Val.Data[0], lsqZP(f.ZP.Val.Data[0], true)
}

func lsqZP(z float32, forward bool) int32 {
	if forward {
		z = roundHalfEven32(z)
	} else {
		z = z + 0.5
	}
	z = float32(math.Min(math.Max(float64(z), -128), 127))
	return int32(z)
}

// Apply runs the module on x. With Static it first observes x and sets Scale/ZP from the
// observer; otherwise it clamps Scale to float32 eps, as torch does before fake quantizing.
func (f *LearnableFakeQuant) Apply(x *engine.Var) (*engine.Var, error) {
	xd := x.Val.Data
	if f.Static {
		if err := f.Obs.Observe(xd, nil); err != nil {
			return nil, err
		}
		s, z := f.Obs.QParams()
		f.Scale.Val.Data[0], f.ZP.Val.Data[0] = s[0], float32(z[0])
	} else if f.Scale.Val.Data[0] < lsqMinScale {
		f.Scale.Val.Data[0] = lsqMinScale
	}
	scale := f.Scale.Val.Data[0]
	zpF := lsqZP(f.ZP.Val.Data[0], true)
	y := engine.New(x.Val.Shape...)
	kern.ParallelFor(len(xd), 1<<14, func(lo, hi int) {
		FakeQuantTensor(y.Data[lo:hi], xd[lo:hi], scale, zpF, -128, 127, nil)
	})
	zpVal := f.ZP.Val.Data[0]
	gf := float32(1 / math.Sqrt(float64(len(xd))*127))
	sv, zv := f.Scale, f.ZP
	if f.Static { // torch: toggle_qparam_learning(False) — no gradient to scale/zero point
		sv, zv = engine.Const(sv.Val), engine.Const(zv.Val)
	}
	return engine.Custom(y, func(g *engine.Tensor, grads []*engine.Tensor) {
		dS, dZ := lsqBackward(xd, g.Data, scale, zpVal, gf, grads[0])
		if grads[1] != nil {
			grads[1].Data[0] += dS
		}
		if grads[2] != nil {
			grads[2].Data[0] += dZ
		}
	}, x, sv, zv), nil
}

// lsqBackward is ATen's fake_quantize_learnable_tensor_grad_kernel_cpu followed by the sums:
// dX (added into dx if not nil), and the summed scale and zero point gradients.
func lsqBackward(x, dy []float32, scale, zpParam, gf float32, dx *engine.Tensor) (float32, float32) {
	const qmin, qmax = -128, 127
	inv := 1 / scale
	zp := int64(lsqZP(zpParam, false))
	small, big := float32(qmin-zp), float32(qmax-zp)
	dS := make([]float32, len(x))
	dZ := make([]float32, len(x))
	kern.ParallelFor(len(x), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xqi := int64(roundHalfEven32(float32(zp) + float32(x[i]*inv)))
			in := xqi >= qmin && xqi <= qmax
			if dx != nil && in {
				dx.Data[i] += dy[i]
			}
			c := min(max(xqi, qmin), qmax)
			// torch 1.13 computes x_fq - x in double (checked element by element).
			diff := float32(float64(c-zp)*float64(scale) - float64(x[i]))
			if !in {
				dZ[i] = dy[i] * -1 * scale * gf
				if xqi < qmin {
					dS[i] = dy[i] * small * gf
				} else {
					dS[i] = dy[i] * big * gf
				}
			} else {
				dS[i] = float32(float32(dy[i]*diff)*inv) * gf
			}
		}
	})
	return sum32(dS, SumLanes), sum32(dZ, SumLanes)
}
