package engine

import (
	"math"

	"github.com/vgfq/vgfq/engine/kern"
)

// unary builds an element-wise operator: fwd fills y from x over [lo, hi); bwd adds the
// gradient into dx given x, y and the output gradient g over [lo, hi).
func unaryOp(x *Var, fwd func(x, y []float32), bwd func(x, y, g, dx []float32)) *Var {
	y := newOverwritten(x.Shape()...) // fwd fills all of y
	xd := x.Val.Data
	parallelElems(len(xd), func(lo, hi int) { fwd(xd[lo:hi], y.Data[lo:hi]) })
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		g := out.Grad.Data
		parallelElems(len(xd), func(lo, hi int) { bwd(xd[lo:hi], y.Data[lo:hi], g[lo:hi], dx[lo:hi]) })
	}, x)
}

// ReLU is max(x, 0); NaN propagates. Backward (threshold_backward on the result): the gradient
// passes where the output is > 0.
func ReLU(x *Var) *Var {
	return unaryOp(x, kern.ReLUTo, func(_, y, g, dx []float32) { reluBackward(y, g, dx) })
}

// reluBackward adds g into dx where the output y is > 0.
func reluBackward(y, g, dx []float32) { kern.ReLUBackward(y, g, dx) }

// ReLUOver is ReLU computed over x's own storage, for a value nothing else reads (such as a
// convolution's output that only this ReLU consumes: the convolution's backward reads its
// input and weight, never its output). The result is a new Var sharing x's tensor, which then
// holds max(x, 0): no allocation and one pass over the data. The backward pass reads the
// result only, as ReLU's does, so gradients are those of ReLU.
func ReLUOver(x *Var) *Var {
	y := x.Val
	yd := y.Data
	parallelElems(len(yd), func(lo, hi int) { kern.ReLUInPlace(yd[lo:hi]) })
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		g := out.Grad.Data
		parallelElems(len(yd), func(lo, hi int) { reluBackward(yd[lo:hi], g[lo:hi], dx[lo:hi]) })
	}, x)
}

// LeakyReLU is x for x > 0, x*slope otherwise. Backward: grad where x > 0, grad*slope otherwise.
func LeakyReLU(x *Var, slope float32) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = v * slope
			}
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			if v > 0 {
				dx[i] += g[i]
			} else {
				dx[i] += g[i] * slope
			}
		}
	})
}

// Clamp is torch.clamp(x, lo, hi) (NaN propagates). Backward is torch.clamp's: the gradient
// passes where lo <= x <= hi (boundaries included), unlike Hardtanh.
func Clamp(x *Var, lo, hi float32) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = clamp32(v, lo, hi)
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			if v >= lo && v <= hi {
				dx[i] += g[i]
			}
		}
	})
}

// Hardtanh is F.hardtanh / nn.ReLU6 (= Hardtanh(x, 0, 6)): the forward equals Clamp but the
// backward (hardtanh_backward) blocks the gradient at the boundaries: it passes only where
// lo < x < hi.
func Hardtanh(x *Var, lo, hi float32) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = clamp32(v, lo, hi)
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			if v > lo && v < hi {
				dx[i] += g[i]
			}
		}
	})
}

func clamp32(v, lo, hi float32) float32 {
	if v != v {
		return v
	}
	// ATen: min(max(v, lo), hi)
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// Sigmoid is 1/(1+exp(-x)), computed in float64 and rounded. Backward (sigmoid_backward):
// grad * (1 - y) * y in float32.
func Sigmoid(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}, func(_, y, g, dx []float32) {
		for i, v := range y {
			dx[i] += g[i] * (1 - v) * v
		}
	})
}

// Tanh is tanh(x), computed in float64 and rounded. Backward (tanh_backward): grad * (1 - y*y).
func Tanh(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	}, func(_, y, g, dx []float32) {
		for i, v := range y {
			dx[i] += g[i] * (1 - v*v)
		}
	})
}

// Scale is x * s for a constant s.
func Scale(x *Var, s float32) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = v * s
		}
	}, func(_, _, g, dx []float32) {
		for i, v := range g {
			dx[i] += v * s
		}
	})
}
