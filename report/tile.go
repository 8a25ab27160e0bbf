package report

import (
	"fmt"
	"math"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/train"
)

// receptiveRadius returns how far, in graph-input pixels, an output pixel of g can see from its
// own position: the sum over the path of every spatial operator's reach (a k x k convolution or
// pool reaches (k-1)/2 times its dilation pixels of its input, a bilinear RESIZE one pixel of
// its input), converted to input pixels with the tensor's size relative to the input (from the
// NHWC shapes; shape-only operators such as RESHAPE and TRANSPOSE add nothing). Operators it
// does not know make it fail.
func receptiveRadius(g *tosa.Graph, layout string) (float64, error) {
	tm := g.TensorMap()
	if len(g.Inputs) != 1 {
		return 0, fmt.Errorf("need one input")
	}
	hOf := func(s []int) int {
		if len(s) != 4 {
			return 0
		}
		if layout == "NCHW" {
			return s[2]
		}
		return s[1]
	}
	inH := float64(hOf(tm[g.Inputs[0]].Shape))
	if inH == 0 {
		return 0, fmt.Errorf("input is not an image")
	}
	rad := map[string]float64{g.Inputs[0]: 0}
	scale := func(name string) float64 {
		if t := tm[name]; t != nil && hOf(t.Shape) > 0 {
			return float64(hOf(t.Shape)) / inH
		}
		return 1
	}
	for i, op := range g.Ops {
		if op == nil || op.Op == tosa.OpConst || op.Op == tosa.OpConstShape {
			continue
		}
		r := 0.0
		for _, in := range op.Inputs {
			r = math.Max(r, rad[in])
		}
		reach := 0 // pixels of the first input
		switch op.Op {
		case tosa.OpConv2D, tosa.OpDepthwiseConv2D:
			w := tm[op.Inputs[1]]
			if w == nil || len(w.Shape) != 4 {
				return 0, fmt.Errorf("operator #%d %v: no weight shape", i, op.Op)
			}
			kh, kw := w.Shape[1], w.Shape[2]
			if op.Op == tosa.OpDepthwiseConv2D {
				kh, kw = w.Shape[0], w.Shape[1]
			}
			d := 1
			for _, v := range op.Attr.Dilation {
				d = max(d, v)
			}
			reach = max(kh, kw) / 2 * d
			if s := op.Attr.Stride; len(s) == 2 && (s[0] != 1 || s[1] != 1) {
				return 0, fmt.Errorf("operator #%d %v: strided convolutions are not tiled", i, op.Op)
			}
		case tosa.OpAvgPool2D, tosa.OpMaxPool2D:
			if k := op.Attr.Kernel; len(k) == 2 {
				reach = max(k[0], k[1])
			}
		case tosa.OpResize:
			reach = 1
		case tosa.OpRescale, tosa.OpClamp, tosa.OpAdd, tosa.OpSub, tosa.OpMul, tosa.OpMaximum, tosa.OpMinimum,
			tosa.OpReshape, tosa.OpTranspose, tosa.OpConcat, tosa.OpTable, tosa.OpCast, tosa.OpIdentity,
			tosa.OpArithmeticRightShift, tosa.OpAbs, tosa.OpNegate, tosa.OpSigmoid, tosa.OpTanh:
		default:
			return 0, fmt.Errorf("operator #%d %v: unknown spatial reach", i, op.Op)
		}
		if reach > 0 && len(op.Inputs) > 0 {
			r += float64(reach) / scale(op.Inputs[0])
		}
		for _, o := range op.Outputs {
			rad[o] = r
		}
	}
	out := 0.0
	for _, o := range g.Outputs {
		out = math.Max(out, rad[o])
	}
	return out, nil
}

// tiledPredictor runs an INT8 graph whose shapes cannot follow the image size (see
// tosa.WithInputShapes) on an h x w image as overlapping tiles of the graph's own input size.
// Each tile keeps a halo of the graph's receptive radius (receptiveRadius) on every side that is
// not an image border and contributes only its core, and tiles at the image border start at the
// border, so every output pixel sees exactly the neighbourhood (and border padding) it would see
// in one run over the whole image.
func tiledPredictor(res *lower.Result, h, w, workers int) (train.Predictor, int, error) {
	in, out := res.Inputs[0], res.Outputs[0]
	th, tw := in.Shape[1], in.Shape[2]
	oh := out.Shape[1]
	if in.Layout == "NCHW" {
		th, tw = in.Shape[2], in.Shape[3]
	}
	if out.Layout == "NCHW" {
		oh = out.Shape[2]
	}
	if oh%th != 0 {
		return nil, 0, fmt.Errorf("output height %d is not a multiple of the input's %d", oh, th)
	}
	s := oh / th
	radius, err := receptiveRadius(res.Graph, in.Layout)
	if err != nil {
		return nil, 0, err
	}
	halo := int(math.Ceil(radius))
	p, err := tiledWithHalo(res, h, w, workers, th, tw, s, halo)
	return p, halo, err
}

// tiledWithHalo is tiledPredictor with the halo given.
func tiledWithHalo(res *lower.Result, h, w, workers, th, tw, s, halo int) (train.Predictor, error) {
	if h < th || w < tw {
		return nil, fmt.Errorf("the %dx%d image is smaller than the model's %dx%d input", w, h, tw, th)
	}
	coreH, coreW := th-2*halo, tw-2*halo
	if coreH < 1 || coreW < 1 {
		return nil, fmt.Errorf("the receptive radius %d leaves no core of a %dx%d tile", halo, tw, th)
	}
	pred, err := lower.Int8Predictor(res, workers)
	if err != nil {
		return nil, err
	}
	// Tile origins along one axis: the cores cover [0, n) in order.
	origins := func(n, t int) (starts, from, to []int, ok bool) {
		for c := 0; c < n; {
			o := min(max(c-halo, 0), n-t)
			lo := o + halo
			if o == 0 {
				lo = 0
			}
			hi := o + t - halo
			if o+t == n {
				hi = n
			}
			if c < lo || hi <= c {
				return nil, nil, nil, false // cannot happen: o = c-halo, or clamped to an image border
			}
			starts, from, to = append(starts, o), append(from, c), append(to, hi)
			c = hi
		}
		return starts, from, to, true
	}
	ys, yf, yt, ok1 := origins(h, th)
	xs, xf, xt, ok2 := origins(w, tw)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("tiling %dx%d with %dx%d tiles failed", w, h, tw, th)
	}
	return func(x *engine.Tensor) (*engine.Tensor, error) {
		n, c := x.Shape[0], x.Shape[1]
		if x.Shape[2] != h || x.Shape[3] != w {
			return nil, fmt.Errorf("tiled predictor for %dx%d got %dx%d", w, h, x.Shape[3], x.Shape[2])
		}
		tiles := engine.New(n*len(ys)*len(xs), c, th, tw)
		k := 0
		for b := 0; b < n; b++ {
			for _, y0 := range ys {
				for _, x0 := range xs {
					for ch := 0; ch < c; ch++ {
						for y := 0; y < th; y++ {
							src := x.Data[((b*c+ch)*h+y0+y)*w+x0:]
							copy(tiles.Data[((k*c+ch)*th+y)*tw:((k*c+ch)*th+y+1)*tw], src[:tw])
						}
					}
					k++
				}
			}
		}
		ty, err := pred(tiles)
		if err != nil {
			return nil, err
		}
		oc := ty.Shape[1]
		H, W, TH, TW := h*s, w*s, th*s, tw*s
		y := engine.New(n, oc, H, W)
		k = 0
		for b := 0; b < n; b++ {
			for i, y0 := range ys {
				for j, x0 := range xs {
					for ch := 0; ch < oc; ch++ {
						for yy := yf[i] * s; yy < yt[i]*s; yy++ {
							src := ty.Data[((k*oc+ch)*TH+yy-y0*s)*TW:]
							dst := y.Data[((b*oc+ch)*H+yy)*W:]
							copy(dst[xf[j]*s:xt[j]*s], src[xf[j]*s-x0*s:xt[j]*s-x0*s])
						}
					}
					k++
				}
			}
		}
		return y, nil
	}, nil
}
