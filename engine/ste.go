package engine

import "github.com/vgfq/vgfq/engine/kern"

// StraightThrough returns a Var whose value is y (same shape as x) and whose gradient with
// respect to x is the straight-through estimator of fake quantization: dL/dx = dL/dy where
// mask is true and 0 elsewhere (PyTorch's fake_quantize_*_cachemask backward: grad * mask).
// mask may be nil (gradient passes everywhere). y and mask are kept, not copied.
func StraightThrough(x *Var, y *Tensor, mask []bool) *Var {
	if !SameShape(x.Shape(), y.Shape) || (mask != nil && len(mask) != len(y.Data)) {
		opPanic("StraightThrough", "value %v / mask %d do not match input %v", y.Shape, len(mask), x.Shape())
	}
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		g := out.Grad.Data
		parallelElems(len(g), func(lo, hi int) {
			if mask == nil {
				for i := lo; i < hi; i++ {
					dx[i] += g[i]
				}
				return
			}
			kern.AddMasked(dx[lo:hi], g[lo:hi], mask[lo:hi])
		})
	}, x)
}

// Custom returns a Var with value val computed outside the engine from parents. backward, called
// once during Backward with the output's gradient, receives one gradient buffer per parent
// (nil for parents that need none) and must add (not assign) its contributions into them. It
// lets other packages define differentiable operators (learnable fake quantization).
func Custom(val *Tensor, backward func(outGrad *Tensor, grads []*Tensor), parents ...*Var) *Var {
	return result(val, func(out *Var) {
		grads := make([]*Tensor, len(parents))
		for i, p := range parents {
			if needsGrad(p) {
				grads[i] = gradOf(p)
			}
		}
		backward(out.Grad, grads)
	}, parents...)
}
