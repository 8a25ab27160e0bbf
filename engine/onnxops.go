package engine

// HardSigmoid is ONNX HardSigmoid: max(0, min(1, alpha*x + beta)) (PyTorch's F.hardsigmoid is
// alpha 1/6, beta 0.5). Backward: grad*alpha where 0 < alpha*x+beta < 1.
func HardSigmoid(x *Var, alpha, beta float32) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = clamp32(alpha*v+beta, 0, 1)
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			if t := alpha*v + beta; t > 0 && t < 1 {
				dx[i] += g[i] * alpha
			}
		}
	})
}

// HardSwish is F.hardswish: x * min(max(x + 3, 0), 6) / 6. Backward (hardswish_backward):
// 0 for x < -3, grad*(x/3 + 0.5) for x <= 3, grad otherwise.
func HardSwish(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = v * clamp32(v+3, 0, 6) / 6
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			switch {
			case v < -3:
			case v <= 3:
				dx[i] += g[i] * (v/3 + 0.5)
			default:
				dx[i] += g[i]
			}
		}
	})
}

// PadMode selects how Pad2d fills the border.
type PadMode int

// Pad modes (ONNX Pad / F.pad names).
const (
	PadConstant PadMode = iota // the value
	PadReflect                 // mirror without repeating the edge (F.pad 'reflect')
	PadEdge                    // repeat the edge (F.pad 'replicate')
)

// padIndex maps an output coordinate to its source coordinate, or -1 for the constant.
func padIndex(o, before, n int, mode PadMode) int {
	i := o - before
	if i >= 0 && i < n {
		return i
	}
	switch mode {
	case PadReflect:
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
			if n == 1 {
				return 0
			}
		}
		return i
	case PadEdge:
		return min(max(i, 0), n-1)
	}
	return -1
}

// Pad2d pads the last two dimensions of an N x C x H x W tensor by pads = [top, left, bottom,
// right] (ONNX order for the spatial axes; all >= 0). Reflect needs each pad < the size.
// Backward adds each output gradient into the input element it was read from.
func Pad2d(x *Var, pads [4]int, mode PadMode, value float32) *Var {
	s := x.Shape()
	if len(s) != 4 {
		opPanic("Pad2d", "input %v is not N x C x H x W", s)
	}
	for _, p := range pads {
		if p < 0 {
			opPanic("Pad2d", "negative pads %v", pads)
		}
	}
	h, w := s[2], s[3]
	if mode == PadReflect && (pads[0] >= h || pads[2] >= h || pads[1] >= w || pads[3] >= w) {
		opPanic("Pad2d", "reflect pads %v must be smaller than the input %dx%d", pads, h, w)
	}
	oh, ow := h+pads[0]+pads[2], w+pads[1]+pads[3]
	ys := make([]int, oh)
	for o := range ys {
		ys[o] = padIndex(o, pads[0], h, mode)
	}
	xs := make([]int, ow)
	for o := range xs {
		xs[o] = padIndex(o, pads[1], w, mode)
	}
	planes := s[0] * s[1]
	y := New(s[0], s[1], oh, ow)
	xd := x.Val.Data
	parallelBlocks(planes, func(p int) {
		in := xd[p*h*w : (p+1)*h*w]
		out := y.Data[p*oh*ow : (p+1)*oh*ow]
		for oy, iy := range ys {
			for ox, ix := range xs {
				if iy < 0 || ix < 0 {
					out[oy*ow+ox] = value
				} else {
					out[oy*ow+ox] = in[iy*w+ix]
				}
			}
		}
	})
	return result(y, func(outV *Var) {
		dx := gradOf(x).Data
		g := outV.Grad.Data
		parallelBlocks(planes, func(p int) {
			din := dx[p*h*w : (p+1)*h*w]
			gout := g[p*oh*ow : (p+1)*oh*ow]
			for oy, iy := range ys {
				if iy < 0 {
					continue
				}
				for ox, ix := range xs {
					if ix >= 0 {
						din[iy*w+ix] += gout[oy*ow+ox]
					}
				}
			}
		})
	}, x)
}
