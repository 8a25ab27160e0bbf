package lower

import (
	"fmt"
	"math"

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
	var t string
	if mode == engine.PadConstant {
		padding := l.b.AddConstShape(l.name("padding"), 0, 0, int64(p[0]), int64(p[2]), int64(p[1]), int64(p[3]), 0, 0)
		inQ, err := l.qp(n.Inputs[0])
		if err != nil {
			return err
		}
		pc := l.int8Scalar(l.name("pad_const"), int32(inQ.Quantize(n.Attrs.Value)))
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
	t, rerr := l.requantShared(n, t)
	if rerr != nil {
		return rerr
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

// slice lowers a 4-D Slice (NCHW start/size) to TOSA SLICE on NHWC data.
func (l *lowerer) slice(n *graph.Node) error {
	a := n.Attrs
	if len(a.Start) != 4 || len(a.Cut) != 4 {
		return fmt.Errorf("only 4-D Slice is lowered")
	}
	in := l.vals[n.Inputs[0]]
	s := l.b.Graph().Tensor(in).Shape
	if a.Start[0] != 0 || a.Cut[0] != n.Shape[0] {
		return fmt.Errorf("slicing the batch axis is not lowered")
	}
	st := l.b.AddConstShape(l.name("start"), 0, int64(a.Start[2]), int64(a.Start[3]), int64(a.Start[1]))
	sz := l.b.AddConstShape(l.name("size"), int64(s[0]), int64(a.Cut[2]), int64(a.Cut[3]), int64(a.Cut[1]))
	t := l.b.AddOp(tosa.OpSlice, tosa.Attr{}, []string{in, st, sz}, l.name(""), tosa.Int8)
	t, rerr := l.requantShared(n, t)
	if rerr != nil {
		return rerr
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// requantShared follows an op that keeps its input's int8 values (pooling, nearest resize, data
// movement) with a RESCALE when its output has other qparams than its input — only in QDQ
// models, which may prescribe them (calibration gives such ops their input's qparams).
func (l *lowerer) requantShared(n *graph.Node, t string) (string, error) {
	inQ, err := l.qp(n.Inputs[0])
	if err != nil {
		return "", err
	}
	outQ, err := l.qp(n.Name)
	if err != nil {
		return "", err
	}
	if inQ == outQ {
		return t, nil
	}
	return l.rescale(t, l.name("requant"), actType(outQ), []float64{float64(inQ.Scale) / float64(outQ.Scale)}, inQ.ZP, outQ.ZP, "requantize to the output's qparams (QDQ)")
}

// prelu lowers a per-channel PReLU: x - zp to int32, its positive part rescaled by s_in/s_out
// and its negative part by |a_c|*s_in/s_out per channel (negated where a_c < 0), added (one of
// the two is zero, so this is one rounding) and rescaled to int8 with the output zero point.
// One shared slope lowers as TABLE.
func (l *lowerer) prelu(n *graph.Node) error {
	w := l.g.Params[n.Params["weight"]]
	if w.Len() == 1 {
		return l.table(n)
	}
	in := l.vals[n.Inputs[0]]
	inQ, err := l.qp(n.Inputs[0])
	if err != nil {
		return err
	}
	outQ, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	c := l.b.Graph().Tensor(in).Shape[3]
	xi, err := l.rescale(in, l.name("x32"), tosa.Int32, []float64{1}, inQ.ZP, 0, "input minus zero point, int32")
	if err != nil {
		return err
	}
	zero := l.b.AddConst(l.name("zero"), tosa.Int32, []int{1, 1, 1, 1}, tosa.Int32Data([]int32{0}))
	pos := l.b.AddOp(tosa.OpMaximum, tosa.Attr{NanMode: tosa.NanPropagate}, []string{xi, zero}, l.name("pos"), tosa.Int32)
	neg := l.b.AddOp(tosa.OpMinimum, tosa.Attr{NanMode: tosa.NanPropagate}, []string{xi, zero}, l.name("neg"), tosa.Int32)
	r := float64(inQ.Scale) / float64(outQ.Scale)
	pr, err := l.rescale(pos, l.name("pos_scaled"), tosa.Int32, []float64{r}, 0, 0, "PReLU positive part s_in/s_out")
	if err != nil {
		return err
	}
	scales := make([]float64, c)
	signs := make([]int32, c)
	anyNeg := false
	for i := range scales {
		a := float64(w.Data[i])
		scales[i], signs[i] = math.Abs(a)*r, 1
		if a < 0 {
			signs[i], anyNeg = -1, true
		}
	}
	nr, err := l.rescale(neg, l.name("neg_scaled"), tosa.Int32, scales, 0, 0, "PReLU negative part |a_c|*s_in/s_out")
	if err != nil {
		return err
	}
	if anyNeg {
		sc := l.b.AddConst(l.name("signs"), tosa.Int32, []int{1, 1, 1, c}, tosa.Int32Data(signs))
		sh := l.int8Scalar(l.name("shift"), 0)
		nr = l.b.AddOp(tosa.OpMul, tosa.Attr{}, []string{nr, sc, sh}, l.name("neg_signed"), tosa.Int32)
	}
	sum := l.b.AddOp(tosa.OpAdd, tosa.Attr{}, []string{pr, nr}, l.name("sum"), tosa.Int32)
	t, err := l.rescale(sum, l.name(""), tosa.Int8, []float64{1}, 0, outQ.ZP, "PReLU result to int8")
	if err != nil {
		return err
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// depthSpace lowers ONNX DepthToSpace (DCR) and SpaceToDepth on NHWC data, where their channel
// order (i*r + j)*C + c is NHWC's natural one: a RESHAPE, a TRANSPOSE of the block axes, a
// RESHAPE.
func (l *lowerer) depthSpace(n *graph.Node) error {
	s := l.b.Graph().Tensor(l.vals[n.Inputs[0]]).Shape
	N, H, W, C, R := int64(s[0]), int64(s[1]), int64(s[2]), int64(s[3]), int64(n.Attrs.Factor)
	perm := []int{0, 1, 3, 2, 4, 5}
	if n.Op == graph.OpDepthToSpace { // [N,H,W,r,r,c] -> [N,H,r,W,r,c]
		c := C / (R * R)
		return l.shuffleBlocks(n, []int64{N, H, W, R, R, c}, perm, []int64{N, H * R, W * R, c})
	}
	// [N,h,r,w,r,C] -> [N,h,w,r,r,C]
	return l.shuffleBlocks(n, []int64{N, H / R, R, W / R, R, C}, perm, []int64{N, H / R, W / R, R * R * C})
}
