package graph

import (
	"fmt"

	"github.com/vgfq/vgfq/engine"
)

// NodeError is an error about one node of a graph: it names the node and its op.
type NodeError struct {
	Node string
	Op   Op
	Err  error
}

func (e *NodeError) Error() string { return fmt.Sprintf("node %q (%s): %v", e.Node, e.Op, e.Err) }
func (e *NodeError) Unwrap() error { return e.Err }

func nodeErr(n *Node, format string, args ...any) error {
	return &NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf(format, args...)}
}

// Validate checks the graph's structure: unique names, known ops, inputs defined before use,
// parameters present, outputs defined. It does not check shapes (InferShapes does).
func (g *Graph) Validate() error {
	known := map[Op]bool{}
	for _, op := range Ops {
		known[op] = true
	}
	defined := map[string]bool{}
	if len(g.Nodes) == 0 {
		return fmt.Errorf("graph %q has no nodes", g.Name)
	}
	for i, n := range g.Nodes {
		if n == nil {
			return fmt.Errorf("graph %q: node %d is null", g.Name, i)
		}
		if n.Name == "" {
			return fmt.Errorf("graph %q: node %d (%s) has no name", g.Name, i, n.Op)
		}
		if defined[n.Name] {
			return nodeErr(n, "name used twice")
		}
		if !known[n.Op] {
			return nodeErr(n, "unknown op (known: %v)", Ops)
		}
		for _, in := range n.Inputs {
			if !defined[in] {
				return nodeErr(n, "input %q is not the output of an earlier node", in)
			}
		}
		for role, p := range n.Params {
			if g.Params[p] == nil {
				return nodeErr(n, "%s parameter %q is missing from the weights", role, p)
			}
		}
		defined[n.Name] = true
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("graph %q has no outputs", g.Name)
	}
	for _, o := range g.Outputs {
		if !defined[o] {
			return fmt.Errorf("graph %q: output %q is not a node", g.Name, o)
		}
	}
	return nil
}

// InferShapes validates the graph and sets every node's output shape from the input nodes'
// declared shapes. It checks operand counts, parameter shapes and attribute values, and returns
// a *NodeError naming the first node that is wrong.
func (g *Graph) InferShapes() error {
	if err := g.Validate(); err != nil {
		return err
	}
	shapes := map[string][]int{}
	for _, n := range g.Nodes {
		var in [][]int
		for _, name := range n.Inputs {
			in = append(in, shapes[name])
		}
		s, err := g.nodeShape(n, in)
		if err != nil {
			if _, ok := err.(*NodeError); ok {
				return err
			}
			return &NodeError{Node: n.Name, Op: n.Op, Err: err}
		}
		n.Shape = s
		shapes[n.Name] = s
	}
	return nil
}

func (g *Graph) param(n *Node, role string) *engine.Tensor {
	if p, ok := n.Params[role]; ok {
		return g.Params[p]
	}
	return nil
}

func wantInputs(n *Node, in [][]int, k int) error {
	if len(in) != k {
		return nodeErr(n, "has %d inputs, want %d", len(in), k)
	}
	for i, s := range in {
		if k > 0 && len(s) == 0 {
			return nodeErr(n, "input %d has no shape", i)
		}
	}
	return nil
}

func want4D(n *Node, s []int) error {
	if len(s) != 4 {
		return nodeErr(n, "input is %s, want a 4-D NCHW tensor", engine.ShapeString(s))
	}
	return nil
}

func pair(v []int, def int) ([2]int, error) {
	switch len(v) {
	case 0:
		return [2]int{def, def}, nil
	case 1:
		return [2]int{v[0], v[0]}, nil
	case 2:
		return [2]int{v[0], v[1]}, nil
	}
	return [2]int{}, fmt.Errorf("want 1 or 2 values, got %v", v)
}

// ConvOpts converts a Conv2d/ConvTranspose2d node's attributes to engine options.
func (n *Node) ConvOpts() (engine.ConvOpts, error) {
	var o engine.ConvOpts
	var err error
	if o.Stride, err = pair(n.Attrs.Stride, 1); err != nil {
		return o, fmt.Errorf("stride: %v", err)
	}
	if o.Padding, err = pair(n.Attrs.Padding, 0); err != nil {
		return o, fmt.Errorf("padding: %v", err)
	}
	if o.Dilation, err = pair(n.Attrs.Dilation, 1); err != nil {
		return o, fmt.Errorf("dilation: %v", err)
	}
	if o.OutputPadding, err = pair(n.Attrs.OutputPadding, 0); err != nil {
		return o, fmt.Errorf("output_padding: %v", err)
	}
	o.Groups = max(n.Attrs.Groups, 1)
	return o, nil
}

// PoolOpts converts a pooling node's attributes to engine options.
func (n *Node) PoolOpts() (engine.PoolOpts, error) {
	var o engine.PoolOpts
	var err error
	if len(n.Attrs.Kernel) == 0 {
		return o, fmt.Errorf("kernel size missing")
	}
	if o.Kernel, err = pair(n.Attrs.Kernel, 0); err != nil {
		return o, fmt.Errorf("kernel: %v", err)
	}
	if o.Stride, err = pair(n.Attrs.Stride, 0); err != nil {
		return o, fmt.Errorf("stride: %v", err)
	}
	if o.Stride == [2]int{0, 0} {
		o.Stride = o.Kernel
	}
	if o.Padding, err = pair(n.Attrs.Padding, 0); err != nil {
		return o, fmt.Errorf("padding: %v", err)
	}
	if o.Dilation, err = pair(n.Attrs.Dilation, 1); err != nil {
		return o, fmt.Errorf("dilation: %v", err)
	}
	for i := 0; i < 2; i++ {
		if o.Kernel[i] <= 0 || o.Stride[i] <= 0 || o.Dilation[i] <= 0 || o.Padding[i] < 0 {
			return o, fmt.Errorf("kernel %v stride %v dilation %v padding %v: sizes must be positive", o.Kernel, o.Stride, o.Dilation, o.Padding)
		}
		if o.Padding[i]*2 > o.Kernel[i] {
			return o, fmt.Errorf("padding %v must be at most half the kernel %v", o.Padding, o.Kernel)
		}
	}
	o.CeilMode = n.Attrs.CeilMode
	o.ExcludePad = n.Attrs.CountIncludePad != nil && !*n.Attrs.CountIncludePad
	return o, nil
}

// ResizeONNXOpts converts the attributes of a Resize node with ONNX coordinate rules (Coord
// set) to engine options for an input of shape in.
func (n *Node) ResizeONNXOpts(in []int) (engine.ResizeONNXOpts, error) {
	a := n.Attrs
	o := engine.ResizeONNXOpts{Coord: a.Coord, Round: a.Round}
	switch a.Coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
	default:
		return o, fmt.Errorf("coord %q: want half_pixel, pytorch_half_pixel, align_corners or asymmetric", a.Coord)
	}
	switch a.Mode {
	case "linear":
		o.Linear = true
		if a.Round != "" {
			return o, fmt.Errorf("round applies to nearest only")
		}
	case "nearest":
		switch a.Round {
		case "floor", "ceil", "round_prefer_floor", "round_prefer_ceil":
		default:
			return o, fmt.Errorf("round %q: want floor, ceil, round_prefer_floor or round_prefer_ceil", a.Round)
		}
	default:
		return o, fmt.Errorf("mode %q: want linear or nearest with ONNX coordinates", a.Mode)
	}
	switch {
	case len(a.Size) == 2 && len(a.Scale) == 0:
		o.OutH, o.OutW = a.Size[0], a.Size[1]
	case len(a.Scale) == 2 && len(a.Size) == 0:
		o.ScaleH, o.ScaleW = a.Scale[0], a.Scale[1]
		if !(o.ScaleH > 0 && o.ScaleW > 0) || o.ScaleH > 1<<16 || o.ScaleW > 1<<16 {
			return o, fmt.Errorf("scale %v must be positive", a.Scale)
		}
		o.OutH, o.OutW = int(float64(in[2])*o.ScaleH), int(float64(in[3])*o.ScaleW)
	default:
		return o, fmt.Errorf("give exactly one of size (2 values) or scale (2 values)")
	}
	if o.OutH <= 0 || o.OutW <= 0 || o.OutH > 1<<16 || o.OutW > 1<<16 {
		return o, fmt.Errorf("output size %dx%d out of range", o.OutH, o.OutW)
	}
	return o, nil
}

// ResizeOpts converts a Resize node's attributes to engine options for an input of shape in.
func (n *Node) ResizeOpts(in []int) (engine.ResizeOpts, error) {
	var o engine.ResizeOpts
	switch n.Attrs.Mode {
	case "bilinear":
		o.Mode = engine.ResizeBilinear
	case "nearest":
		o.Mode = engine.ResizeNearest
	case "nearest-exact":
		o.Mode = engine.ResizeNearestExact
	default:
		return o, fmt.Errorf("mode %q: want bilinear, nearest or nearest-exact", n.Attrs.Mode)
	}
	if n.Attrs.AlignCorners && o.Mode != engine.ResizeBilinear {
		return o, fmt.Errorf("align_corners is only valid for bilinear")
	}
	o.AlignCorners = n.Attrs.AlignCorners
	switch {
	case len(n.Attrs.Size) == 2 && len(n.Attrs.Scale) == 0:
		o.OutH, o.OutW = n.Attrs.Size[0], n.Attrs.Size[1]
	case len(n.Attrs.Scale) == 2 && len(n.Attrs.Size) == 0:
		o.ScaleH, o.ScaleW = n.Attrs.Scale[0], n.Attrs.Scale[1]
		if !(o.ScaleH > 0 && o.ScaleW > 0) {
			return o, fmt.Errorf("scale %v must be positive", n.Attrs.Scale)
		}
		// PyTorch: output size = floor(input size * scale_factor).
		o.OutH = int(float64(in[2]) * o.ScaleH)
		o.OutW = int(float64(in[3]) * o.ScaleW)
	default:
		return o, fmt.Errorf("give exactly one of size (2 values) or scale (2 values)")
	}
	if o.OutH <= 0 || o.OutW <= 0 {
		return o, fmt.Errorf("output size %dx%d is not positive", o.OutH, o.OutW)
	}
	return o, nil
}

// PadOpts converts a Pad node's attributes to engine options.
func (n *Node) PadOpts() ([4]int, engine.PadMode, error) {
	var p [4]int
	if len(n.Attrs.Pads) != 4 {
		return p, 0, fmt.Errorf("pads %v: want 4 values (top, left, bottom, right)", n.Attrs.Pads)
	}
	for i, v := range n.Attrs.Pads {
		if v < 0 || v > 1<<16 {
			return p, 0, fmt.Errorf("pads %v: want values in [0, 65536]", n.Attrs.Pads)
		}
		p[i] = v
	}
	switch n.Attrs.Mode {
	case "", "constant":
		return p, engine.PadConstant, nil
	case "reflect":
		return p, engine.PadReflect, nil
	case "edge":
		return p, engine.PadEdge, nil
	}
	return p, 0, fmt.Errorf("mode %q: want constant, reflect or edge", n.Attrs.Mode)
}

// NodeShape returns the output shape of n for inputs of the given shapes (the rule InferShapes
// applies), for producers that build a graph node by node.
func (g *Graph) NodeShape(n *Node, in [][]int) ([]int, error) { return g.nodeShape(n, in) }

func (g *Graph) nodeShape(n *Node, in [][]int) ([]int, error) {
	a := n.Attrs
	switch n.Op {
	case OpInput:
		if err := wantInputs(n, in, 0); err != nil {
			return nil, err
		}
		if len(a.Shape) == 0 {
			return nil, nodeErr(n, "input has no shape")
		}
		for _, d := range a.Shape {
			if d <= 0 {
				return nil, nodeErr(n, "input shape %v has a non-positive dimension", a.Shape)
			}
		}
		return append([]int(nil), a.Shape...), nil
	case OpConv2d, OpConvTranspose2d:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		w := g.param(n, "weight")
		if w == nil {
			return nil, nodeErr(n, "weight parameter missing")
		}
		o, err := n.ConvOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		var outC, oh, ow int
		if n.Op == OpConv2d {
			p, err := engine.Conv2dParams(in[0], w.Shape, o)
			if err != nil {
				return nil, nodeErr(n, "%v", err)
			}
			outC = p.O
			oh, ow = p.OutHW()
		} else {
			p, err := engine.ConvT2dParams(in[0], w.Shape, o)
			if err != nil {
				return nil, nodeErr(n, "%v", err)
			}
			outC = p.O
			oh, ow = p.OutHW()
		}
		if b := g.param(n, "bias"); b != nil && (len(b.Shape) != 1 || b.Shape[0] != outC) {
			return nil, nodeErr(n, "bias shape %s, want %d", engine.ShapeString(b.Shape), outC)
		}
		return []int{in[0][0], outC, oh, ow}, nil
	case OpConst:
		if err := wantInputs(n, in, 0); err != nil {
			return nil, err
		}
		v := g.param(n, "value")
		if v == nil {
			return nil, nodeErr(n, "value parameter missing")
		}
		return append([]int{}, v.Shape...), nil
	case OpPad:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if err := want4D(n, in[0]); err != nil {
			return nil, err
		}
		p, mode, err := n.PadOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		h, w := in[0][2], in[0][3]
		if mode == engine.PadReflect && (p[0] >= h || p[2] >= h || p[1] >= w || p[3] >= w) {
			return nil, nodeErr(n, "reflect pads %v must be smaller than the input %dx%d", a.Pads, h, w)
		}
		return []int{in[0][0], in[0][1], h + p[0] + p[2], w + p[1] + p[3]}, nil
	case OpPReLU:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		w := g.param(n, "weight")
		if w == nil {
			return nil, nodeErr(n, "weight (slopes) missing")
		}
		if w.Len() != 1 && (len(in[0]) < 2 || w.Len() != in[0][1] || len(w.Shape) != 1) {
			return nil, nodeErr(n, "%s slopes for input %s: want 1 or one per channel", engine.ShapeString(w.Shape), engine.ShapeString(in[0]))
		}
		return append([]int(nil), in[0]...), nil
	case OpSlice:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0]
		if len(a.Start) != len(s) || len(a.Cut) != len(s) {
			return nil, nodeErr(n, "start %v size %v for a rank-%d input", a.Start, a.Cut, len(s))
		}
		for d := range s {
			if a.Start[d] < 0 || a.Cut[d] <= 0 || a.Start[d]+a.Cut[d] > s[d] {
				return nil, nodeErr(n, "start %v size %v out of range for input %s", a.Start, a.Cut, engine.ShapeString(s))
			}
		}
		return append([]int(nil), a.Cut...), nil
	case OpReLU, OpLeakyReLU, OpSigmoid, OpTanh, OpHardSigmoid, OpHardSwish, OpErf, OpGELU:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		return append([]int(nil), in[0]...), nil
	case OpClamp, OpHardtanh:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if a.Min == nil && a.Max == nil {
			return nil, nodeErr(n, "clamp needs min or max")
		}
		if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
			return nil, nodeErr(n, "min %v > max %v", *a.Min, *a.Max)
		}
		return append([]int(nil), in[0]...), nil
	case OpAdd, OpSub, OpMul:
		if err := wantInputs(n, in, 2); err != nil {
			return nil, err
		}
		s, err := engine.BroadcastShape(in[0], in[1])
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return s, nil
	case OpConcat:
		if len(in) < 1 {
			return nil, nodeErr(n, "concat needs at least one input")
		}
		rank := len(in[0])
		axis := a.Axis
		if axis < 0 {
			axis += rank
		}
		if axis < 0 || axis >= rank {
			return nil, nodeErr(n, "axis %d out of range for rank %d", a.Axis, rank)
		}
		out := append([]int(nil), in[0]...)
		for i, s := range in[1:] {
			if len(s) != rank {
				return nil, nodeErr(n, "input %d has rank %d, want %d", i+1, len(s), rank)
			}
			for d := range s {
				if d != axis && s[d] != out[d] {
					return nil, nodeErr(n, "input %d shape %s does not match %s outside axis %d", i+1, engine.ShapeString(s), engine.ShapeString(in[0]), axis)
				}
			}
			out[axis] += s[axis]
		}
		return out, nil
	case OpResize:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if err := want4D(n, in[0]); err != nil {
			return nil, err
		}
		if a.Coord != "" {
			o, err := n.ResizeONNXOpts(in[0])
			if err != nil {
				return nil, nodeErr(n, "%v", err)
			}
			return []int{in[0][0], in[0][1], o.OutH, o.OutW}, nil
		}
		o, err := n.ResizeOpts(in[0])
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return []int{in[0][0], in[0][1], o.OutH, o.OutW}, nil
	case OpPixelShuffle, OpPixelUnshuffle, OpDepthToSpace, OpSpaceToDepth:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if err := want4D(n, in[0]); err != nil {
			return nil, err
		}
		r := a.Factor
		if r <= 0 {
			return nil, nodeErr(n, "factor %d must be positive", r)
		}
		s := in[0]
		if n.Op == OpPixelShuffle || n.Op == OpDepthToSpace {
			if s[1]%(r*r) != 0 {
				return nil, nodeErr(n, "%d channels not divisible by factor^2 = %d", s[1], r*r)
			}
			return []int{s[0], s[1] / (r * r), s[2] * r, s[3] * r}, nil
		}
		if s[2]%r != 0 || s[3]%r != 0 {
			return nil, nodeErr(n, "spatial size %dx%d not divisible by factor %d", s[2], s[3], r)
		}
		return []int{s[0], s[1] * r * r, s[2] / r, s[3] / r}, nil
	case OpAvgPool2d, OpMaxPool2d:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if err := want4D(n, in[0]); err != nil {
			return nil, err
		}
		o, err := n.PoolOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		oh, ow, err := engine.PoolOutHW(in[0][2], in[0][3], o)
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return []int{in[0][0], in[0][1], oh, ow}, nil
	case OpBatchNorm2d:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if err := want4D(n, in[0]); err != nil {
			return nil, err
		}
		c := in[0][1]
		for _, role := range []string{"weight", "bias", "running_mean", "running_var"} {
			t := g.param(n, role)
			if t == nil {
				if role == "running_mean" || role == "running_var" {
					return nil, nodeErr(n, "%s buffer missing", role)
				}
				continue
			}
			if len(t.Shape) != 1 || t.Shape[0] != c {
				return nil, nodeErr(n, "%s shape %s, want %d", role, engine.ShapeString(t.Shape), c)
			}
		}
		if !(a.Eps > 0) {
			return nil, nodeErr(n, "eps must be positive")
		}
		return append([]int(nil), in[0]...), nil
	case OpReshape:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		s, err := ResolveReshape(in[0], a.Shape)
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return s, nil
	case OpTranspose:
		if err := wantInputs(n, in, 1); err != nil {
			return nil, err
		}
		if len(a.Perm) != len(in[0]) {
			return nil, nodeErr(n, "perm %v has %d entries for a rank-%d input", a.Perm, len(a.Perm), len(in[0]))
		}
		seen := make([]bool, len(a.Perm))
		out := make([]int, len(a.Perm))
		for i, p := range a.Perm {
			if p < 0 || p >= len(a.Perm) || seen[p] {
				return nil, nodeErr(n, "perm %v is not a permutation", a.Perm)
			}
			seen[p] = true
			out[i] = in[0][p]
		}
		return out, nil
	}
	return nil, nodeErr(n, "no shape rule")
}

// ResolveReshape returns the target shape with 0 entries copied from the input (ONNX rule, so a
// reshape keeps the batch dimension whatever the batch size) and one -1 resolved, checking the
// element count.
func ResolveReshape(in, shape []int) ([]int, error) {
	out := append([]int(nil), shape...)
	neg := -1
	known := 1
	for i, d := range out {
		if d == 0 {
			if i >= len(in) {
				return nil, fmt.Errorf("reshape target %v: 0 at position %d copies no input dimension", shape, i)
			}
			d = in[i]
			out[i] = d
		}
		switch {
		case d == -1 && neg < 0:
			neg = i
		case d <= 0:
			return nil, fmt.Errorf("reshape target %v: bad dimension %d", shape, d)
		default:
			known *= d
		}
	}
	total := engine.NumElems(in)
	if neg >= 0 {
		if total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %s to %v", engine.ShapeString(in), shape)
		}
		out[neg] = total / known
	}
	if engine.NumElems(out) != total {
		return nil, fmt.Errorf("cannot reshape %s (%d values) to %v", engine.ShapeString(in), total, shape)
	}
	return out, nil
}
