package lower

import (
	"fmt"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/tosa"
)

// constant lowers a Const node (an operand of Add/Sub/Mul, e.g. y*0.25) to an int8 CONST in
// NHWC quantized with the value's own qparams.
func (l *lowerer) constant(n *graph.Node) error {
	t := l.g.Params[n.Params["value"]]
	if len(t.Shape) != 4 {
		return fmt.Errorf("constant of shape %v: only 4-D constants (broadcast against N x C x H x W) are lowered", t.Shape)
	}
	q, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	N, C, H, W := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	d := make([]int8, len(t.Data))
	for b := 0; b < N; b++ {
		for c := 0; c < C; c++ {
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					d[((b*H+y)*W+x)*C+c] = q.Quantize(t.Data[((b*C+c)*H+y)*W+x])
				}
			}
		}
	}
	name := l.b.AddConst(l.name(""), tosa.Int8, []int{N, H, W, C}, tosa.Int8Data(d))
	l.vals[n.Name] = name
	l.record(name, n.Name)
	return nil
}

// pad lowers Pad on NHWC int8 data: constant mode as PAD with the quantized constant (the
// output shares the input's qparams); reflect and edge as SLICEs of border rows/columns
// concatenated around the input, first along H, then along W.
func (l *lowerer) pad(n *graph.Node) error {
	p, mode, err := n.PadOpts()
	if err != nil {
		return err
	}
	in := l.vals[n.Inputs[0]]
	q, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	var t string
	if mode == engine.PadConstant {
		padding := l.b.AddConstShape(l.name("padding"), 0, 0, int64(p[0]), int64(p[2]), int64(p[1]), int64(p[3]), 0, 0)
		pc := l.int8Scalar(l.name("pad_const"), int32(q.Quantize(n.Attrs.Value)))
		t = l.b.AddOp(tosa.OpPad, tosa.Attr{}, []string{in, padding, pc}, l.name(""), tosa.Int8)
	} else {
		t = in
		for axis := 1; axis <= 2; axis++ {
			before, after := p[0], p[2]
			if axis == 2 {
				before, after = p[1], p[3]
			}
			if before == 0 && after == 0 {
				continue
			}
			t = l.borderConcat(t, axis, before, after, mode)
		}
		if t == in {
			t = l.b.AddOp(tosa.OpIdentity, tosa.Attr{}, []string{in}, l.name(""), tosa.Int8)
		}
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

func (l *lowerer) borderConcat(in string, axis, before, after int, mode engine.PadMode) string {
	s := l.b.Graph().Tensor(in).Shape
	size := s[axis]
	src := func(i int) int { // source index of output position i in [-before, size+after)
		switch {
		case i < 0 && mode == engine.PadReflect:
			return -i
		case i < 0:
			return 0
		case i >= size && mode == engine.PadReflect:
			return 2*(size-1) - i
		case i >= size:
			return size - 1
		}
		return i
	}
	var parts []string
	slice := func(i int) string {
		start := make([]int64, 4)
		sz := make([]int64, 4)
		for d := range sz {
			sz[d] = int64(s[d])
		}
		start[axis], sz[axis] = int64(i), 1
		st := l.b.AddConstShape(l.name(fmt.Sprintf("ax%d_start%d_%d", axis, i, len(parts))), start...)
		sc := l.b.AddConstShape(l.name(fmt.Sprintf("ax%d_size%d_%d", axis, i, len(parts))), sz...)
		return l.b.AddOp(tosa.OpSlice, tosa.Attr{}, []string{in, st, sc}, l.name(fmt.Sprintf("ax%d_row%d_%d", axis, i, len(parts))), tosa.Int8)
	}
	for i := -before; i < 0; i++ {
		parts = append(parts, slice(src(i)))
	}
	parts = append(parts, in)
	for i := size; i < size+after; i++ {
		parts = append(parts, slice(src(i)))
	}
	return l.b.AddOp(tosa.OpConcat, tosa.Attr{Axis: axis}, parts, l.name(fmt.Sprintf("pad_ax%d", axis)), tosa.Int8)
}

// exactPads returns TOSA's [top, bottom, left, right] padding for PyTorch's symmetric padding:
// TOSA requires (in - 1 + pad_top + pad_bottom - (k-1)*dilation) to divide by the stride
// exactly; the rows PyTorch pads beyond the last window are never read, so the bottom (right)
// padding drops the remainder, as ExecuTorch's Arm backend does.
func exactPads(ih, iw, kh, kw int, pad, stride, dil [2]int) []int {
	out := []int{pad[0], pad[0], pad[1], pad[1]}
	for i, d := range []struct{ in, k int }{{ih, kh}, {iw, kw}} {
		if r := (d.in - 1 + 2*pad[i] - (d.k-1)*dil[i]) % stride[i]; r > 0 && r <= out[2*i+1] {
			out[2*i+1] -= r
		}
	}
	return out
}
