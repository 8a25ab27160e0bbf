package engine

import "math"

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

// HardSwish is F.hardswish: x * min(max(x + 3, 0), 6) / 6. Backward (hardswish_backward of
// PyTorch 1.13): 0 for x < -3, grad*(x/3 + 0.5) for -3 <= x < 3, grad for x >= 3.
func HardSwish(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = v * clamp32(v+3, 0, 6) / 6
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			switch {
			case v < -3:
			case v < 3:
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

// Erf is erf(x), computed in float64 and rounded. Backward: grad * 2/sqrt(pi) * exp(-x^2).
func Erf(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			y[i] = float32(math.Erf(float64(v)))
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			dx[i] += g[i] * float32(2/math.Sqrt(math.Pi)*math.Exp(-float64(v)*float64(v)))
		}
	})
}

// GELU is F.gelu (approximate='none'): x * 0.5 * (1 + erf(x / sqrt(2))), computed in float64
// and rounded. Backward (gelu_backward): grad * (cdf + x * pdf) with cdf = 0.5*(1 + erf(x/sqrt2)),
// pdf = exp(-x^2/2)/sqrt(2*pi).
func GELU(x *Var) *Var {
	return unaryOp(x, func(x, y []float32) {
		for i, v := range x {
			f := float64(v)
			y[i] = float32(f * 0.5 * (1 + math.Erf(f/math.Sqrt2)))
		}
	}, func(x, _, g, dx []float32) {
		for i, v := range x {
			f := float64(v)
			cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
			pdf := math.Exp(-0.5*f*f) / math.Sqrt(2*math.Pi)
			dx[i] += g[i] * float32(cdf+f*pdf)
		}
	})
}

// Slice returns the box of x starting at start with the given size in every dimension (step 1).
// Backward adds the output gradient into that box.
func Slice(x *Var, start, size []int) *Var {
	s := x.Shape()
	if len(start) != len(s) || len(size) != len(s) {
		opPanic("Slice", "start %v size %v for input %v", start, size, s)
	}
	for d := range s {
		if start[d] < 0 || size[d] <= 0 || start[d]+size[d] > s[d] {
			opPanic("Slice", "start %v size %v out of range for input %v", start, size, s)
		}
	}
	y := New(size...)
	inStr := make([]int, len(s))
	acc := 1
	for d := len(s) - 1; d >= 0; d-- {
		inStr[d] = acc
		acc *= s[d]
	}
	src := func(k int) int {
		off := 0
		for d := len(size) - 1; d >= 0; d-- {
			off += (start[d] + k%size[d]) * inStr[d]
			k /= size[d]
		}
		return off
	}
	xd := x.Val.Data
	for k := range y.Data {
		y.Data[k] = xd[src(k)]
	}
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		for k, g := range out.Grad.Data {
			dx[src(k)] += g
		}
	}, x)
}

// PReLU is nn.PReLU: x for x > 0, w[c]*x otherwise, with one slope per channel (dimension 1)
// or one shared slope (w of one element). Backward (prelu_backward): grad_x = g for x > 0,
// w[c]*g otherwise; grad_w[c] = sum over x <= 0 of g*x (float64 sums, rounded once per channel).
func PReLU(x, w *Var) *Var {
	s := x.Shape()
	nw := w.Val.Len()
	ch, inner := 1, 1
	if nw > 1 {
		if len(s) < 2 || s[1] != nw {
			opPanic("PReLU", "%d slopes for input %v", nw, s)
		}
		ch = s[1]
		inner = NumElems(s[2:])
	}
	slope := func(i int) float32 {
		if nw == 1 {
			return w.Val.Data[0]
		}
		return w.Val.Data[(i/inner)%ch]
	}
	y := New(s...)
	xd := x.Val.Data
	for i, v := range xd {
		if v > 0 {
			y.Data[i] = v
		} else {
			y.Data[i] = slope(i) * v
		}
	}
	return result(y, func(out *Var) {
		g := out.Grad.Data
		if needsGrad(x) {
			dx := gradOf(x).Data
			for i, v := range xd {
				if v > 0 {
					dx[i] += g[i]
				} else {
					dx[i] += slope(i) * g[i]
				}
			}
		}
		if needsGrad(w) {
			acc := make([]float64, nw)
			for i, v := range xd {
				if v <= 0 {
					c := 0
					if nw > 1 {
						c = (i / inner) % ch
					}
					acc[c] += float64(g[i]) * float64(v)
				}
			}
			dw := gradOf(w).Data
			for c := range acc {
				dw[c] += float32(acc[c])
			}
		}
	}, x, w)
}

// SpaceToDepth is ONNX SpaceToDepth (channel (i*r + j)*C + c takes pixel (y*r+i, x*r+j) of
// channel c): reshape [N,C,H/r,r,W/r,r], transpose [0,3,5,1,2,4], reshape [N,C*r*r,H/r,W/r].
func SpaceToDepth(x *Var, r int) *Var {
	s := x.Shape()
	if len(s) != 4 || r <= 0 || s[2]%r != 0 || s[3]%r != 0 {
		opPanic("SpaceToDepth", "input %v, block %d", s, r)
	}
	n, c, h, w := s[0], s[1], s[2]/r, s[3]/r
	return Reshape(Permute(Reshape(x, n, c, h, r, w, r), 0, 3, 5, 1, 2, 4), n, c*r*r, h, w)
}

// DepthToSpace is ONNX DepthToSpace in DCR mode (its default; CRD is PixelShuffle): reshape
// [N,r,r,C/r^2,H,W], transpose [0,3,4,1,5,2], reshape [N,C/r^2,H*r,W*r].
func DepthToSpace(x *Var, r int) *Var {
	s := x.Shape()
	if len(s) != 4 || r <= 0 || s[1]%(r*r) != 0 {
		opPanic("DepthToSpace", "input %v, block %d", s, r)
	}
	n, c, h, w := s[0], s[1]/(r*r), s[2], s[3]
	return Reshape(Permute(Reshape(x, n, r, r, c, h, w), 0, 3, 4, 1, 5, 2), n, c, h*r, w*r)
}
