package engine

import (
	"fmt"

	"github.com/vgfq/vgfq/engine/kern"
)

// PoolOpts are the arguments of avg_pool2d / max_pool2d (PyTorch names). Zero Stride means
// Stride = Kernel (PyTorch's default); zero Dilation means 1. ExcludePad is
// !count_include_pad (average pooling only).
type PoolOpts struct {
	Kernel, Stride, Padding, Dilation [2]int
	CeilMode, ExcludePad              bool
}

func (o PoolOpts) norm() PoolOpts {
	for i := 0; i < 2; i++ {
		if o.Stride[i] == 0 {
			o.Stride[i] = o.Kernel[i]
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	return o
}

// floorDiv is ATen's div_rtn (division rounding toward negative infinity).
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func poolOutSize(in, k, pad, stride, dil int, ceil bool) int {
	extra := 0
	if ceil {
		extra = stride - 1
	}
	out := floorDiv(in+2*pad-dil*(k-1)-1+extra, stride) + 1
	if ceil && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

// PoolOutHW returns the output size of a 2-D pooling over an h x w input (ATen's
// pooling_output_shape, including the ceil_mode rule that the last window must start inside
// the input or left padding), with pool2d_shape_check's validation.
func PoolOutHW(h, w int, o PoolOpts) (int, int, error) {
	o = o.norm()
	if o.Kernel[0] <= 0 || o.Kernel[1] <= 0 {
		return 0, 0, fmt.Errorf("pool2d: kernel size should be greater than zero, got %v", o.Kernel)
	}
	if o.Stride[0] <= 0 || o.Stride[1] <= 0 {
		return 0, 0, fmt.Errorf("pool2d: stride should be greater than zero, got %v", o.Stride)
	}
	if o.Dilation[0] <= 0 || o.Dilation[1] <= 0 {
		return 0, 0, fmt.Errorf("pool2d: dilation should be greater than zero, got %v", o.Dilation)
	}
	if o.Padding[0] < 0 || o.Padding[1] < 0 || o.Padding[0] > o.Kernel[0]/2 || o.Padding[1] > o.Kernel[1]/2 {
		return 0, 0, fmt.Errorf("pool2d: pad should be non-negative and at most half of kernel size, got padding %v, kernel %v", o.Padding, o.Kernel)
	}
	if h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("pool2d: input size %dx%d is not positive", h, w)
	}
	oh := poolOutSize(h, o.Kernel[0], o.Padding[0], o.Stride[0], o.Dilation[0], o.CeilMode)
	ow := poolOutSize(w, o.Kernel[1], o.Padding[1], o.Stride[1], o.Dilation[1], o.CeilMode)
	if oh < 1 || ow < 1 {
		return 0, 0, fmt.Errorf("pool2d: input size %dx%d gives output size %dx%d, which is too small", h, w, oh, ow)
	}
	return oh, ow, nil
}

func poolShapes(op string, x *Var, o PoolOpts) (n, c, h, w, oh, ow int) {
	s := x.Shape()
	if len(s) != 4 {
		opPanic(op, "want NCHW input, got %v", s)
	}
	oh, ow, err := PoolOutHW(s[2], s[3], o)
	if err != nil {
		opPanic(op, "input %v: %v", s, err)
	}
	return s[0], s[1], s[2], s[3], oh, ow
}

// AvgPool2d is F.avg_pool2d (no divisor_override). Windows are clipped to the padded input for
// the count_include_pad divisor and to the input for the sum, as ATen does. Dilation must be 1.
func AvgPool2d(x *Var, o PoolOpts) *Var {
	n, c, h, w, oh, ow := poolShapes("AvgPool2d", x, o)
	o = o.norm()
	if o.Dilation != [2]int{1, 1} {
		opPanic("AvgPool2d", "dilation %v not supported", o.Dilation)
	}
	kh, kw, sh, sw, ph, pw := o.Kernel[0], o.Kernel[1], o.Stride[0], o.Stride[1], o.Padding[0], o.Padding[1]
	// window returns the clipped window of output (y, x) and its divisor; ok is false for
	// windows that lie entirely in the padding (their output is 0).
	window := func(oy, ox int) (h0, h1, w0, w1 int, div float32, ok bool) {
		h0, w0 = oy*sh-ph, ox*sw-pw
		h1, w1 = min(h0+kh, h+ph), min(w0+kw, w+pw)
		size := (h1 - h0) * (w1 - w0)
		h0, w0 = max(h0, 0), max(w0, 0)
		h1, w1 = min(h1, h), min(w1, w)
		if h0 >= h1 || w0 >= w1 {
			return 0, 0, 0, 0, 0, false
		}
		if o.ExcludePad {
			size = (h1 - h0) * (w1 - w0)
		}
		return h0, h1, w0, w1, float32(size), true
	}
	planes := n * c
	y := New(n, c, oh, ow)
	xd := x.Val.Data
	minPlanes := max(1, elemChunk/(oh*ow*kh*kw))
	kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := xd[p*h*w : (p+1)*h*w]
			dst := y.Data[p*oh*ow : (p+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					h0, h1, w0, w1, div, ok := window(oy, ox)
					if !ok {
						continue
					}
					var sum float32
					for iy := h0; iy < h1; iy++ {
						for ix := w0; ix < w1; ix++ {
							sum += src[iy*w+ix]
						}
					}
					dst[oy*ow+ox] = sum / div
				}
			}
		}
	})
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		g := out.Grad.Data
		kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				gi := dx[p*h*w : (p+1)*h*w]
				gp := g[p*oh*ow : (p+1)*oh*ow]
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						h0, h1, w0, w1, div, ok := window(oy, ox)
						if !ok {
							continue
						}
						v := gp[oy*ow+ox] / div
						for iy := h0; iy < h1; iy++ {
							for ix := w0; ix < w1; ix++ {
								gi[iy*w+ix] += v
							}
						}
					}
				}
			}
		})
	}, x)
}

// MaxPool2d is F.max_pool2d. NaN wins (propagates); ties keep the first index in row-major
// window order, and the gradient goes to that index, as in ATen.
func MaxPool2d(x *Var, o PoolOpts) *Var {
	n, c, h, w, oh, ow := poolShapes("MaxPool2d", x, o)
	o = o.norm()
	kh, kw, sh, sw, ph, pw, dh, dw := o.Kernel[0], o.Kernel[1], o.Stride[0], o.Stride[1], o.Padding[0], o.Padding[1], o.Dilation[0], o.Dilation[1]
	planes := n * c
	y := New(n, c, oh, ow)
	arg := make([]int32, planes*oh*ow) // index of the max within its plane
	xd := x.Val.Data
	minPlanes := max(1, elemChunk/(oh*ow*kh*kw))
	kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := xd[p*h*w : (p+1)*h*w]
			dst := y.Data[p*oh*ow : (p+1)*oh*ow]
			am := arg[p*oh*ow : (p+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				h0 := oy*sh - ph
				h1 := min(h0+(kh-1)*dh+1, h)
				for h0 < 0 {
					h0 += dh
				}
				for ox := 0; ox < ow; ox++ {
					w0 := ox*sw - pw
					w1 := min(w0+(kw-1)*dw+1, w)
					for w0 < 0 {
						w0 += dw
					}
					maxIdx := h0*w + w0
					maxVal := float32(negInf)
					for iy := h0; iy < h1; iy += dh {
						for ix := w0; ix < w1; ix += dw {
							v := src[iy*w+ix]
							if v > maxVal || v != v {
								maxVal, maxIdx = v, iy*w+ix
							}
						}
					}
					dst[oy*ow+ox] = maxVal
					am[oy*ow+ox] = int32(maxIdx)
				}
			}
		}
	})
	return result(y, func(out *Var) {
		dx := gradOf(x).Data
		g := out.Grad.Data
		kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				gi := dx[p*h*w : (p+1)*h*w]
				for i, a := range arg[p*oh*ow : (p+1)*oh*ow] {
					gi[a] += g[p*oh*ow+i]
				}
			}
		})
	}, x)
}
