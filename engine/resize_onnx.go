package engine

import (
	"fmt"
	"math"
)

// ResizeONNXOpts are ONNX Resize's coordinate rules for the modes PyTorch's F.interpolate has no
// name for (asymmetric linear, nearest with ceil / round_prefer_floor / round_prefer_ceil
// rounding, ...). Coord is half_pixel, pytorch_half_pixel, align_corners or asymmetric; Linear
// selects linear interpolation (else nearest with Round: floor, ceil, round_prefer_floor,
// round_prefer_ceil). ScaleH/ScaleW are the scales the model gives (0: out/in).
type ResizeONNXOpts struct {
	OutH, OutW     int
	ScaleH, ScaleW float64
	Coord, Round   string
	Linear         bool
}

// onnxSource returns the source coordinate of output index o (ONNX Resize's definitions).
func onnxSource(o, in, out int, scale float64, coord string) float64 {
	if scale <= 0 {
		scale = float64(out) / float64(in)
	}
	x := float64(o)
	switch coord {
	case "half_pixel":
		return (x+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if out > 1 {
			return (x+0.5)/scale - 0.5
		}
		return 0
	case "align_corners":
		if out == 1 {
			return 0
		}
		return x * float64(in-1) / float64(out-1)
	}
	return x / scale // asymmetric
}

type resizeTap struct {
	i0, i1 int
	w0, w1 float32
}

func onnxTaps(in, out int, scale float64, o ResizeONNXOpts) ([]resizeTap, error) {
	taps := make([]resizeTap, out)
	for k := range taps {
		x := onnxSource(k, in, out, scale, o.Coord)
		if o.Linear {
			x = math.Min(math.Max(x, 0), float64(in-1))
			i0 := int(math.Floor(x))
			i1 := min(i0+1, in-1)
			l := float32(x - float64(i0))
			taps[k] = resizeTap{i0, i1, 1 - l, l}
			continue
		}
		var i float64
		switch o.Round {
		case "floor":
			i = math.Floor(x)
		case "ceil":
			i = math.Ceil(x)
		case "round_prefer_floor":
			if x == math.Floor(x)+0.5 {
				i = math.Floor(x)
			} else {
				i = math.Round(x)
			}
		case "round_prefer_ceil":
			i = math.Floor(x + 0.5)
		default:
			return nil, fmt.Errorf("resize: nearest rounding %q", o.Round)
		}
		j := int(math.Min(math.Max(i, 0), float64(in-1)))
		taps[k] = resizeTap{j, j, 1, 0}
	}
	return taps, nil
}

// ResizeONNX resizes the last two dimensions of an N x C x H x W tensor with ONNX Resize's
// rules (coordinates in float64; linear weights in float32). Backward scatters each output
// gradient to its source taps.
func ResizeONNX(x *Var, o ResizeONNXOpts) *Var {
	s := x.Shape()
	if len(s) != 4 {
		opPanic("ResizeONNX", "input %v is not N x C x H x W", s)
	}
	h, w := s[2], s[3]
	if o.OutH <= 0 || o.OutW <= 0 {
		opPanic("ResizeONNX", "output size %dx%d", o.OutH, o.OutW)
	}
	switch o.Coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
	default:
		opPanic("ResizeONNX", "coordinate_transformation_mode %q", o.Coord)
	}
	ty, err := onnxTaps(h, o.OutH, o.ScaleH, o)
	if err != nil {
		opPanic("ResizeONNX", "%v", err)
	}
	tx, err := onnxTaps(w, o.OutW, o.ScaleW, o)
	if err != nil {
		opPanic("ResizeONNX", "%v", err)
	}
	oh, ow := o.OutH, o.OutW
	planes := s[0] * s[1]
	y := New(s[0], s[1], oh, ow)
	xd := x.Val.Data
	parallelBlocks(planes, func(p int) {
		in := xd[p*h*w : (p+1)*h*w]
		out := y.Data[p*oh*ow : (p+1)*oh*ow]
		for oy, a := range ty {
			for ox, b := range tx {
				v := a.w0*(b.w0*in[a.i0*w+b.i0]+b.w1*in[a.i0*w+b.i1]) + a.w1*(b.w0*in[a.i1*w+b.i0]+b.w1*in[a.i1*w+b.i1])
				out[oy*ow+ox] = v
			}
		}
	})
	return result(y, func(outV *Var) {
		dx := gradOf(x).Data
		g := outV.Grad.Data
		parallelBlocks(planes, func(p int) {
			din := dx[p*h*w : (p+1)*h*w]
			gout := g[p*oh*ow : (p+1)*oh*ow]
			for oy, a := range ty {
				for ox, b := range tx {
					v := gout[oy*ow+ox]
					din[a.i0*w+b.i0] += a.w0 * b.w0 * v
					din[a.i0*w+b.i1] += a.w0 * b.w1 * v
					din[a.i1*w+b.i0] += a.w1 * b.w0 * v
					din[a.i1*w+b.i1] += a.w1 * b.w1 * v
				}
			}
		})
	}, x)
}
