package engine

import (
	"fmt"
	"math"

	"github.com/vgfq/vgfq/engine/kern"
)

// ResizeMode selects the interpolation of Resize.
type ResizeMode int

const (
	// ResizeBilinear is mode='bilinear'.
	ResizeBilinear ResizeMode = iota
	// ResizeNearest is mode='nearest' (PyTorch's floor rule, src = floor(dst*scale)).
	ResizeNearest
	// ResizeNearestExact is mode='nearest-exact' (src = floor((dst+0.5)*scale)).
	ResizeNearestExact
)

func (m ResizeMode) String() string {
	switch m {
	case ResizeBilinear:
		return "bilinear"
	case ResizeNearest:
		return "nearest"
	case ResizeNearestExact:
		return "nearest-exact"
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ResizeOpts are the arguments of F.interpolate. OutH/OutW are the output size; ScaleH/ScaleW
// the scale_factor given to F.interpolate (0 = none). When a scale is given and the size is 0,
// the size is floor(in*scale) as in PyTorch; a given scale is also used (as 1/scale) for the
// source-coordinate computation, as PyTorch does with recompute_scale_factor=None.
// AlignCorners applies to bilinear only.
type ResizeOpts struct {
	Mode           ResizeMode
	OutH, OutW     int
	ScaleH, ScaleW float64
	AlignCorners   bool
}

// ResizeOutHW returns the output size of Resize for an input of h x w.
func ResizeOutHW(h, w int, o ResizeOpts) (int, int, error) {
	oh, ow := o.OutH, o.OutW
	if oh == 0 && o.ScaleH > 0 {
		oh = int(float64(h) * o.ScaleH)
	}
	if ow == 0 && o.ScaleW > 0 {
		ow = int(float64(w) * o.ScaleW)
	}
	if oh <= 0 || ow <= 0 || h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("resize: input %dx%d, output %dx%d: sizes must be positive", h, w, oh, ow)
	}
	if o.Mode < ResizeBilinear || o.Mode > ResizeNearestExact {
		return 0, 0, fmt.Errorf("resize: unknown mode %v", o.Mode)
	}
	return oh, ow, nil
}

// linearTaps are the source indices and weights of one output coordinate (UpSample.h's
// compute_source_index_and_lambda).
type linearTaps struct {
	i0, i1 int
	l0, l1 float32
}

// scaleOpt returns ATen's optional scale: the scale factor when positive.
func linearCoeffs(in, out int, align bool, scale float64) []linearTaps {
	// area_pixel_compute_scale<float>
	var ratio float32
	if align {
		if out > 1 {
			ratio = float32(in-1) / float32(out-1)
		}
	} else if scale > 0 {
		ratio = float32(1.0 / scale)
	} else {
		ratio = float32(in) / float32(out)
	}
	taps := make([]linearTaps, out)
	for i := range taps {
		if out == in {
			taps[i] = linearTaps{i, i, 1, 0}
			continue
		}
		// area_pixel_compute_source_index<double> (acc_type of float on CPU)
		var real float64
		if align {
			real = float64(ratio) * float64(i)
		} else {
			real = float64(ratio)*(float64(i)+0.5) - 0.5
			if real < 0 {
				real = 0
			}
		}
		i0 := int(real)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		l1 := float32(real - float64(i0))
		taps[i] = linearTaps{i0, i1, 1 - l1, l1}
	}
	return taps
}

// nearestIndex returns the source indices of mode nearest / nearest-exact (UpSample.h's
// nearest_idx / nearest_exact_idx).
func nearestIndex(in, out int, exact bool, scale float64) []int {
	idx := make([]int, out)
	var s float32
	if scale > 0 {
		s = float32(1.0 / scale)
	} else {
		s = float32(in) / float32(out)
	}
	for i := range idx {
		var src int
		switch {
		case exact:
			src = int(math.Floor(float64(float32((float64(i) + 0.5) * float64(s)))))
		case out == in:
			src = i
		case out == 2*in:
			src = i >> 1
		default:
			src = int(math.Floor(float64(float32(i) * s)))
		}
		idx[i] = min(src, in-1)
	}
	return idx
}

// Resize is F.interpolate for NCHW input (modes bilinear, nearest, nearest-exact, no antialias).
func Resize(x *Var, o ResizeOpts) *Var {
	s := x.Shape()
	if len(s) != 4 {
		opPanic("Resize", "want NCHW input, got %v", s)
	}
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow, err := ResizeOutHW(h, w, o)
	if err != nil {
		opPanic("Resize", "%v", err)
	}
	planes := n * c
	y := newOverwritten(n, c, oh, ow) // every element written below
	xd := x.Val.Data
	minPlanes := max(1, elemChunk/(oh*ow))
	if o.Mode == ResizeBilinear {
		th := linearCoeffs(h, oh, o.AlignCorners, o.ScaleH)
		tw := linearCoeffs(w, ow, o.AlignCorners, o.ScaleW)
		cols := &kern.BilinearCols{I0: make([]int32, ow), I1: make([]int32, ow), L0: make([]float32, ow), L1: make([]float32, ow)}
		for ox, tx := range tw {
			cols.I0[ox], cols.I1[ox], cols.L0[ox], cols.L1[ox] = int32(tx.i0), int32(tx.i1), tx.l0, tx.l1
		}
		kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				src := xd[p*h*w : (p+1)*h*w]
				dst := y.Data[p*oh*ow : (p+1)*oh*ow]
				for oy, ty := range th {
					// ATen's Interpolate<2>: t0*w0 + t1*w1 per dimension (W inner, H outer),
					// compiled with FMA contraction as fma(t0, w0, t1*w1).
					kern.BilinearRow(dst[oy*ow:oy*ow+ow], src[ty.i0*w:ty.i0*w+w], src[ty.i1*w:ty.i1*w+w], cols, ty.l0, ty.l1)
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
					for oy, ty := range th {
						r0, r1 := gi[ty.i0*w:ty.i0*w+w], gi[ty.i1*w:ty.i1*w+w]
						for ox, tx := range tw {
							v := gp[oy*ow+ox]
							// ATen: gin += h_lambda * w_lambda * g, contracted to fma(h*w, g, gin).
							r0[tx.i0] = fma32(ty.l0*tx.l0, v, r0[tx.i0])
							r0[tx.i1] = fma32(ty.l0*tx.l1, v, r0[tx.i1])
							r1[tx.i0] = fma32(ty.l1*tx.l0, v, r1[tx.i0])
							r1[tx.i1] = fma32(ty.l1*tx.l1, v, r1[tx.i1])
						}
					}
				}
			})
		}, x)
	}
	exact := o.Mode == ResizeNearestExact
	ih := nearestIndex(h, oh, exact, o.ScaleH)
	iw := nearestIndex(w, ow, exact, o.ScaleW)
	kern.ParallelFor(planes, minPlanes, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := xd[p*h*w : (p+1)*h*w]
			dst := y.Data[p*oh*ow : (p+1)*oh*ow]
			for oy, sy := range ih {
				r := src[sy*w : sy*w+w]
				row := dst[oy*ow : oy*ow+ow]
				for ox, sx := range iw {
					row[ox] = r[sx]
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
				for oy, sy := range ih {
					r := gi[sy*w : sy*w+w]
					for ox, sx := range iw {
						r[sx] += gp[oy*ow+ox]
					}
				}
			}
		})
	}, x)
}
