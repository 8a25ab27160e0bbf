package onnx

import (
	"math"

	"github.com/vgfq/vgfq/graph"
	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

type attrs map[string]*pb.AttributeProto

func (im *importer) attrs() attrs {
	a := attrs{}
	for _, at := range im.cur.GetAttribute() {
		a[at.GetName()] = at
	}
	return a
}

func (a attrs) has(name string) bool { return a[name] != nil }

func (im *importer) aInt(a attrs, name string, def int64) (int64, error) {
	at := a[name]
	if at == nil {
		return def, nil
	}
	if at.GetType() != pb.AttributeProto_INT {
		return 0, im.errf("attribute %s: want an int", name)
	}
	return at.GetI(), nil
}

func (im *importer) aInts(a attrs, name string) ([]int64, error) {
	at := a[name]
	if at == nil {
		return nil, nil
	}
	if at.GetType() != pb.AttributeProto_INTS {
		return nil, im.errf("attribute %s: want ints", name)
	}
	return at.GetInts(), nil
}

func (im *importer) aFloat(a attrs, name string, def float32) (float32, error) {
	at := a[name]
	if at == nil {
		return def, nil
	}
	if at.GetType() != pb.AttributeProto_FLOAT {
		return 0, im.errf("attribute %s: want a float", name)
	}
	return at.GetF(), nil
}

func (im *importer) aStr(a attrs, name, def string) (string, error) {
	at := a[name]
	if at == nil {
		return def, nil
	}
	if at.GetType() != pb.AttributeProto_STRING {
		return "", im.errf("attribute %s: want a string", name)
	}
	return string(at.GetS()), nil
}

// in returns input i (nil when absent or empty).
func (im *importer) in(i int) (*value, error) {
	ins := im.cur.GetInput()
	if i >= len(ins) || ins[i] == "" {
		return nil, nil
	}
	v := im.vals[ins[i]]
	if v == nil {
		return nil, im.errf("input %q is not available (its producer was not imported)", ins[i])
	}
	if v.qact != nil && im.cur.GetOpType() != "DequantizeLinear" {
		return nil, im.errf("input %q is the int8 output of a QuantizeLinear; only DequantizeLinear may read it", ins[i])
	}
	return v, nil
}

func (im *importer) act(i int) (*value, error) {
	v, err := im.in(i)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, im.errf("input %d is missing", i)
	}
	if v.c != nil && v.qact == nil {
		// A constant where an activation is expected: make it a Const node.
		name, err := im.constNode(im.cur.GetInput()[i], v.c, len(v.c.shape))
		if err != nil {
			return nil, err
		}
		return &value{node: name, shape: im.shapes[name]}, nil
	}
	return v, nil
}

func (im *importer) konst(i int, what string) (*tensor, error) {
	v, err := im.in(i)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	if v.c == nil {
		return nil, unsup("make it a constant (an initializer) or export with do_constant_folding=True", "%s (input %d) is computed at run time; vgfq needs it constant", what, i)
	}
	return v.c, nil
}

func (im *importer) out(i int, v *value) {
	outs := im.cur.GetOutput()
	if i < len(outs) && outs[i] != "" {
		im.vals[outs[i]] = v
	}
}

func (im *importer) outNode(name string) {
	im.out(0, &value{node: name, shape: im.shapes[name]})
}

func (im *importer) outName() string { return im.cur.GetOutput()[0] }

// constNode makes a Const graph node holding t, padded with leading 1s to rank.
func (im *importer) constNode(name string, t *tensor, rank int) (string, error) {
	if !t.isFloat() {
		return "", im.errf("constant %q has type %s where a float tensor is needed", name, dtName(t.dt))
	}
	shape := append([]int(nil), t.shape...)
	for len(shape) < rank {
		shape = append([]int{1}, shape...)
	}
	p := im.param(name, shape, t.f)
	return im.addNode(&graph.Node{Name: name, Op: graph.OpConst, Params: map[string]string{"value": p}})
}

func (im *importer) unary(op graph.Op, a graph.Attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: op, Inputs: []string{x.node}, Attrs: a})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) alias() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	if x == nil {
		return im.errf("input 0 is missing")
	}
	im.out(0, x)
	return nil
}

func f32p(v float32) *float32 { return &v }

func (im *importer) node(n *pb.NodeProto) error {
	op := n.GetOpType()
	if len(n.GetOutput()) == 0 || n.GetOutput()[0] == "" {
		return im.errf("node has no output")
	}
	// Constant folding: every input constant.
	if folder, ok := folders[op]; ok {
		allConst := true
		for i := range n.GetInput() {
			v, err := im.in(i)
			if err != nil {
				return err
			}
			if v != nil && v.c == nil {
				allConst = false
			}
		}
		if allConst && (len(n.GetInput()) > 0 || op == "Constant") {
			return im.fold(folder)
		}
	}
	a := im.attrs()
	switch op {
	case "Identity", "Dropout":
		if len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" && im.readers[n.GetOutput()[1]] > 0 {
			return unsup("remove the use of the dropout mask", "the Dropout mask output is used")
		}
		if op == "Dropout" && im.opset >= 12 {
			if tm, _ := im.konst(2, "training_mode"); tm != nil && len(tm.i) > 0 && tm.i[0] != 0 {
				return unsup("export in eval mode (model.eval())", "Dropout in training mode")
			}
		}
		return im.alias()
	case "Cast":
		to, err := im.aInt(a, "to", 0)
		if err != nil {
			return err
		}
		if pb.TensorProto_DataType(to) != pb.TensorProto_FLOAT {
			return unsup("keep activations in float32", "Cast of an activation to %s", dtName(pb.TensorProto_DataType(to)))
		}
		return im.alias()
	case "Shape":
		x, err := im.in(0)
		if err != nil {
			return err
		}
		s := make([]int64, len(x.shape))
		for i, d := range x.shape {
			s[i] = int64(d)
		}
		start, _ := im.aInt(a, "start", 0)
		end, _ := im.aInt(a, "end", int64(len(s)))
		st, en := clampRange(start, end, len(s))
		s = s[st:en]
		im.out(0, &value{c: &tensor{dt: pb.TensorProto_INT64, shape: []int{len(s)}, i: s}, shape: []int{len(s)}})
		return nil
	case "Relu":
		return im.unary(graph.OpReLU, graph.Attrs{})
	case "Sigmoid":
		return im.unary(graph.OpSigmoid, graph.Attrs{})
	case "Erf":
		return im.unary(graph.OpErf, graph.Attrs{})
	case "Gelu": // opset 20; accepted from newer exporters when declared at a lower opset
		if ap, _ := im.aStr(a, "approximate", "none"); ap != "none" {
			return unsup("use approximate='none'", "Gelu approximate=%s", ap)
		}
		return im.unary(graph.OpGELU, graph.Attrs{})
	case "Slice":
		return im.slice()
	case "Split":
		return im.split(a)
	case "Tanh":
		return im.unary(graph.OpTanh, graph.Attrs{})
	case "HardSwish":
		return im.unary(graph.OpHardSwish, graph.Attrs{})
	case "HardSigmoid":
		alpha, err := im.aFloat(a, "alpha", 0.2)
		if err != nil {
			return err
		}
		beta, err := im.aFloat(a, "beta", 0.5)
		if err != nil {
			return err
		}
		return im.unary(graph.OpHardSigmoid, graph.Attrs{Alpha: alpha, Beta: beta})
	case "LeakyRelu":
		alpha, err := im.aFloat(a, "alpha", 0.01)
		if err != nil {
			return err
		}
		return im.unary(graph.OpLeakyReLU, graph.Attrs{Slope: alpha})
	case "PRelu":
		x, err := im.act(0)
		if err != nil {
			return err
		}
		sl, err := im.konst(1, "slope")
		if err != nil {
			return err
		}
		if sl == nil || !sl.isFloat() || sl.len() == 0 {
			return im.errf("slope must be a float constant")
		}
		// One slope, or one per channel broadcast along axis 1 ([C], [C,1,1], [1,C,1,1]).
		if n := sl.len(); n != 1 {
			// ONNX broadcasts the slope from the right: per channel means shape [C,1,1] or
			// [1,C,1,1] against N x C x H x W.
			r := len(sl.shape)
			ok := len(x.shape) == 4 && n == x.shape[1] && (r == 3 || r == 4) && sl.shape[r-3] == n
			if !ok {
				return unsup("use nn.PReLU() or nn.PReLU(num_channels)", "PRelu slope of shape %v for input %v", sl.shape, x.shape)
			}
		}
		w := im.param(im.cur.GetInput()[1], []int{sl.len()}, sl.f)
		name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpPReLU, Inputs: []string{x.node}, Params: map[string]string{"weight": w}})
		if err != nil {
			return err
		}
		im.outNode(name)
		return nil
	case "Clip":
		return im.clip(a)
	case "Add", "Sub", "Mul", "Div":
		return im.binary(op)
	case "Concat":
		return im.concat(a)
	case "Conv":
		return im.conv(a)
	case "ConvTranspose":
		return im.convTranspose(a)
	case "BatchNormalization":
		return im.batchNorm(a)
	case "MaxPool", "AveragePool":
		return im.pool(op, a)
	case "GlobalAveragePool", "GlobalMaxPool":
		x, err := im.act(0)
		if err != nil {
			return err
		}
		if len(x.shape) != 4 {
			return im.errf("input is %v, want N x C x H x W", x.shape)
		}
		gop := graph.OpAvgPool2d
		if op == "GlobalMaxPool" {
			gop = graph.OpMaxPool2d
		}
		k := []int{x.shape[2], x.shape[3]}
		name, err := im.addNode(&graph.Node{Name: im.outName(), Op: gop, Inputs: []string{x.node}, Attrs: graph.Attrs{Kernel: k, Stride: k}})
		if err != nil {
			return err
		}
		im.outNode(name)
		return nil
	case "Resize", "Upsample":
		return im.resize(a)
	case "DepthToSpace":
		return im.depthToSpace(a)
	case "SpaceToDepth":
		bs, err := im.aInt(a, "blocksize", 0)
		if err != nil {
			return err
		}
		if bs <= 0 || bs > 64 {
			return im.errf("blocksize %d out of range", bs)
		}
		return im.unary(graph.OpSpaceToDepth, graph.Attrs{Factor: int(bs)})
	case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
		return im.reshape(op, a)
	case "Transpose":
		x, err := im.act(0)
		if err != nil {
			return err
		}
		perm, err := im.aInts(a, "perm")
		if err != nil {
			return err
		}
		p := make([]int, len(x.shape))
		for i := range p {
			p[i] = len(p) - 1 - i
			if perm != nil {
				if i >= len(perm) {
					return im.errf("perm %v has %d entries for a rank-%d input", perm, len(perm), len(p))
				}
				p[i] = int(perm[i])
			}
		}
		name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpTranspose, Inputs: []string{x.node}, Attrs: graph.Attrs{Perm: p}})
		if err != nil {
			return err
		}
		im.outNode(name)
		return nil
	case "Pad":
		return im.pad(a)
	case "QuantizeLinear":
		return im.quantizeLinear(a)
	case "DequantizeLinear":
		return im.dequantizeLinear(a)
	case "Gemm", "MatMul":
		return im.gemm(op, a)
	case "Resize_cubic":
	}
	return unsup("replace it with a supported op (vgfq check lists them)", "op %s is not supported", op)
}

func clampRange(start, end int64, n int) (int, int) {
	c := func(v int64) int {
		if v < 0 {
			v += int64(n)
		}
		return int(min(max(v, 0), int64(n)))
	}
	s, e := c(start), c(end)
	if e < s {
		e = s
	}
	return s, e
}

func (im *importer) clip(a attrs) error {
	var lo, hi *float32
	if im.opset < 11 {
		return im.errf("opset < 11")
	}
	for i, p := range []**float32{&lo, &hi} {
		t, err := im.konst(i+1, []string{"min", "max"}[i])
		if err != nil {
			return err
		}
		if t != nil {
			if t.len() != 1 {
				return im.errf("%s must be a scalar", []string{"min", "max"}[i])
			}
			*p = f32p(t.floats()[0])
		}
	}
	if lo == nil && hi == nil {
		return im.alias()
	}
	if lo != nil && hi != nil && *lo > *hi {
		return im.errf("min %v > max %v", *lo, *hi)
	}
	if lo != nil && hi == nil && *lo == 0 {
		return im.unary(graph.OpReLU, graph.Attrs{})
	}
	return im.unary(graph.OpClamp, graph.Attrs{Min: lo, Max: hi})
}

func (im *importer) binary(op string) error {
	a, err := im.in(0)
	if err != nil {
		return err
	}
	b, err := im.in(1)
	if err != nil {
		return err
	}
	if a == nil || b == nil {
		return im.errf("needs two inputs")
	}
	gop := map[string]graph.Op{"Add": graph.OpAdd, "Sub": graph.OpSub, "Mul": graph.OpMul, "Div": graph.OpMul}[op]
	if op == "Div" && b.c == nil {
		gop = graph.OpDiv // float only: vgfq check reports that it does not lower
	}
	if op == "Div" && b.c != nil {
		if !b.c.isFloat() {
			return im.errf("divisor has type %s", dtName(b.c.dt))
		}
		r := &tensor{dt: pb.TensorProto_FLOAT, shape: b.c.shape, f: make([]float32, len(b.c.f))}
		for i, v := range b.c.f {
			if v == 0 {
				return im.errf("division by a constant holding 0")
			}
			r.f[i] = 1 / v
		}
		b = &value{c: r, shape: r.shape}
	}
	rank := max(len(a.shape), len(b.shape))
	operand := func(v *value, i int) (string, error) {
		if v.c != nil {
			return im.constNode(im.outName()+"/"+[]string{"lhs", "rhs"}[i], v.c, rank)
		}
		return v.node, nil
	}
	x, err := operand(a, 0)
	if err != nil {
		return err
	}
	y, err := operand(b, 1)
	if err != nil {
		return err
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: gop, Inputs: []string{x, y}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) concat(a attrs) error {
	axis, err := im.aInt(a, "axis", 0)
	if err != nil {
		return err
	}
	if !a.has("axis") {
		return im.errf("attribute axis is required")
	}
	var ins []string
	for i := range im.cur.GetInput() {
		v, err := im.act(i)
		if err != nil {
			return err
		}
		ins = append(ins, v.node)
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpConcat, Inputs: ins, Attrs: graph.Attrs{Axis: int(axis)}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

// spatial reads the 2-D attributes of a conv or pool node: kernel, strides, dilations and the
// pads [top, left, bottom, right] after auto_pad.
func (im *importer) spatial(a attrs, in []int, kernel []int, transposed bool) (strides, dil, pads []int, err error) {
	get := func(name string, def int) ([]int, error) {
		v, err := im.aInts(a, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return []int{def, def}, nil
		}
		if len(v) != 2 {
			return nil, im.errf("attribute %s %v: want 2 values (2-D only)", name, v)
		}
		out := []int{int(v[0]), int(v[1])}
		for _, x := range out {
			if x < 0 || x > 1<<16 || (x == 0 && name != "pads") {
				return nil, im.errf("attribute %s %v out of range", name, v)
			}
		}
		return out, nil
	}
	if strides, err = get("strides", 1); err != nil {
		return
	}
	if dil, err = get("dilations", 1); err != nil {
		return
	}
	p, err := im.aInts(a, "pads")
	if err != nil {
		return
	}
	pads = []int{0, 0, 0, 0}
	if p != nil {
		if len(p) != 4 {
			return nil, nil, nil, im.errf("attribute pads %v: want 4 values", p)
		}
		for i, v := range p {
			if v < 0 || v > 1<<16 {
				return nil, nil, nil, im.errf("attribute pads %v: negative or huge", p)
			}
			pads[i] = int(v)
		}
	}
	autoPad, err := im.aStr(a, "auto_pad", "NOTSET")
	if err != nil {
		return
	}
	switch autoPad {
	case "NOTSET", "":
	case "VALID":
		pads = []int{0, 0, 0, 0}
	case "SAME_UPPER", "SAME_LOWER":
		if transposed {
			return nil, nil, nil, unsup("give explicit pads", "ConvTranspose with auto_pad %s is not supported", autoPad)
		}
		for i := 0; i < 2; i++ {
			n := in[2+i]
			out := (n + strides[i] - 1) / strides[i]
			total := max((out-1)*strides[i]+(kernel[i]-1)*dil[i]+1-n, 0)
			small, big := total/2, total-total/2
			if autoPad == "SAME_UPPER" {
				pads[i], pads[i+2] = small, big
			} else {
				pads[i], pads[i+2] = big, small
			}
		}
	default:
		return nil, nil, nil, im.errf("auto_pad %q: want NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad)
	}
	return
}

// padFirst inserts a Pad node when pads are asymmetric and returns the new input and the
// symmetric pads left for the op itself.
func (im *importer) padFirst(x *value, pads []int, mode string) (string, []int, error) {
	if pads[0] == pads[2] && pads[1] == pads[3] {
		return x.node, []int{pads[0], pads[1]}, nil
	}
	sym := []int{min(pads[0], pads[2]), min(pads[1], pads[3])}
	extra := []int{pads[0] - sym[0], pads[1] - sym[1], pads[2] - sym[0], pads[3] - sym[1]}
	name, err := im.addNode(&graph.Node{Name: im.outName() + "/pad", Op: graph.OpPad, Inputs: []string{x.node}, Attrs: graph.Attrs{Pads: extra, Mode: mode}})
	return name, sym, err
}

func (im *importer) weight(i int, what string) (*tensor, error) {
	w, err := im.konst(i, what)
	if err != nil {
		return nil, err
	}
	if w == nil {
		return nil, im.errf("%s (input %d) is missing", what, i)
	}
	if !w.isFloat() {
		return nil, im.errf("%s has type %s, want float", what, dtName(w.dt))
	}
	return w, nil
}

func (im *importer) conv(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	w, err := im.weight(1, "weight")
	if err != nil {
		return err
	}
	if len(w.shape) != 4 || len(x.shape) != 4 {
		return unsup("use Conv2d on N x C x H x W tensors", "only 2-D convolution is supported (input %v, weight %v)", x.shape, w.shape)
	}
	b, err := im.konst(2, "bias")
	if err != nil {
		return err
	}
	group, err := im.aInt(a, "group", 1)
	if err != nil {
		return err
	}
	if group < 1 || group > int64(x.shape[1]) {
		return im.errf("group %d out of range for %d input channels", group, x.shape[1])
	}
	if ks, _ := im.aInts(a, "kernel_shape"); ks != nil && (len(ks) != 2 || int(ks[0]) != w.shape[2] || int(ks[1]) != w.shape[3]) {
		return im.errf("kernel_shape %v does not match the weight %v", ks, w.shape)
	}
	strides, dil, pads, err := im.spatial(a, x.shape, w.shape[2:], false)
	if err != nil {
		return err
	}
	in, sym, err := im.padFirst(x, pads, "constant")
	if err != nil {
		return err
	}
	n := &graph.Node{Name: im.outName(), Op: graph.OpConv2d, Inputs: []string{in}, Params: map[string]string{},
		Attrs: graph.Attrs{Stride: strides, Padding: sym, Dilation: dil}}
	return im.addConv(n, w, b, group, w.shape[0])
}

// addConv finishes a Conv2d or ConvTranspose2d node n: groups, weight (input 1) and bias
// (input 2, a float vector of outCh), QDQ quantization of either, and the node's output.
func (im *importer) addConv(n *graph.Node, w, b *tensor, group int64, outCh int) error {
	if group > 1 {
		n.Attrs.Groups = int(group)
	}
	n.Params["weight"] = im.param(im.cur.GetInput()[1], w.shape, w.f)
	if b != nil {
		if !b.isFloat() || len(b.shape) != 1 || b.shape[0] != outCh {
			return im.errf("bias %v must be a float vector of %d", b.shape, outCh)
		}
		n.Params["bias"] = im.param(im.cur.GetInput()[2], b.shape, b.f)
	}
	name, err := im.addNode(n)
	if err != nil {
		return err
	}
	if w.q != nil || (b != nil && b.q != nil) {
		if err := im.qdqConv(name, w, b); err != nil {
			return err
		}
	}
	im.outNode(name)
	return nil
}

func (im *importer) convTranspose(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	w, err := im.weight(1, "weight")
	if err != nil {
		return err
	}
	if len(w.shape) != 4 || len(x.shape) != 4 {
		return unsup("use ConvTranspose2d on N x C x H x W tensors", "only 2-D transposed convolution is supported")
	}
	b, err := im.konst(2, "bias")
	if err != nil {
		return err
	}
	group, err := im.aInt(a, "group", 1)
	if err != nil {
		return err
	}
	if group < 1 || group > int64(x.shape[1]) {
		return im.errf("group %d out of range", group)
	}
	strides, dil, pads, err := im.spatial(a, x.shape, w.shape[2:], true)
	if err != nil {
		return err
	}
	op, err := im.aInts(a, "output_padding")
	if err != nil {
		return err
	}
	outPad := []int{0, 0}
	if op != nil {
		if len(op) != 2 {
			return im.errf("output_padding %v: want 2 values", op)
		}
		outPad = []int{int(op[0]), int(op[1])}
	}
	if os, _ := im.aInts(a, "output_shape"); os != nil {
		// Total padding from the requested output size (ONNX: begin gets the smaller half
		// unless SAME_UPPER).
		if len(os) < 2 {
			return im.errf("output_shape %v: want the spatial size", os)
		}
		os = os[len(os)-2:]
		for i := 0; i < 2; i++ {
			total := strides[i]*(x.shape[2+i]-1) + outPad[i] + (w.shape[2+i]-1)*dil[i] + 1 - int(os[i])
			if total < 0 {
				return unsup("give pads and output_padding instead", "output_shape %v needs negative padding", os)
			}
			pads[i], pads[i+2] = total-total/2, total/2
		}
	}
	for i := 0; i < 2; i++ {
		// PyTorch's form: symmetric padding p, and output_padding for the extra end rows.
		if d := pads[i] - pads[i+2]; d != 0 {
			if d < 0 {
				return unsup("use symmetric pads", "ConvTranspose with more padding at the end than the beginning (%v) is not supported", pads)
			}
			outPad[i] += d
			pads[i] = pads[i+2]
		}
	}
	n := &graph.Node{Name: im.outName(), Op: graph.OpConvTranspose2d, Inputs: []string{x.node}, Params: map[string]string{},
		Attrs: graph.Attrs{Stride: strides, Padding: []int{pads[0], pads[1]}, Dilation: dil}}
	if outPad[0] != 0 || outPad[1] != 0 {
		n.Attrs.OutputPadding = outPad
	}
	return im.addConv(n, w, b, group, w.shape[1]*int(group))
}

// batchNorm maps inference BatchNormalization. After a Conv2d (its only reader) it stays a
// BatchNorm2d, which PTQ folds into the conv; elsewhere it becomes the equivalent depthwise
// 1x1 Conv2d (scale gamma/sqrt(var+eps), bias beta - mean*scale), which lowers to TOSA.
func (im *importer) batchNorm(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return unsup("use BatchNorm2d", "only 4-D BatchNormalization is supported")
	}
	if tm, _ := im.aInt(a, "training_mode", 0); tm != 0 {
		return unsup("export in eval mode (model.eval())", "BatchNormalization in training mode")
	}
	if len(im.cur.GetOutput()) > 1 {
		for _, o := range im.cur.GetOutput()[1:] {
			if o != "" && im.readers[o] > 0 {
				return unsup("export in eval mode", "the running mean/var outputs are used")
			}
		}
	}
	eps, err := im.aFloat(a, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	mom, err := im.aFloat(a, "momentum", 0.9)
	if err != nil {
		return err
	}
	c := x.shape[1]
	var ts [4]*tensor
	for i, what := range []string{"scale", "B", "input_mean", "input_var"} {
		t, err := im.weight(i+1, what)
		if err != nil {
			return err
		}
		if len(t.shape) != 1 || t.shape[0] != c {
			return im.errf("%s has shape %v, want %d", what, t.shape, c)
		}
		ts[i] = t
	}
	if !(eps > 0) {
		return im.errf("epsilon %v must be positive", eps)
	}
	prod := im.g.Node(x.node)
	if prod != nil && prod.Op == graph.OpConv2d && im.readers[im.cur.GetInput()[0]] == 1 {
		n := &graph.Node{Name: im.outName(), Op: graph.OpBatchNorm2d, Inputs: []string{x.node}, Params: map[string]string{},
			Attrs: graph.Attrs{Eps: eps, Momentum: 1 - mom}}
		for i, role := range []string{"weight", "bias", "running_mean", "running_var"} {
			n.Params[role] = im.param(im.cur.GetInput()[i+1], ts[i].shape, ts[i].f)
		}
		name, err := im.addNode(n)
		if err != nil {
			return err
		}
		im.outNode(name)
		return nil
	}
	w := make([]float32, c)
	bias := make([]float32, c)
	for i := 0; i < c; i++ {
		v := float64(ts[3].f[i]) + float64(eps)
		if !(v > 0) {
			return im.errf("input_var[%d] + epsilon is not positive", i)
		}
		k := float64(ts[0].f[i]) / math.Sqrt(v)
		w[i] = float32(k)
		bias[i] = float32(float64(ts[1].f[i]) - float64(ts[2].f[i])*k)
	}
	n := &graph.Node{Name: im.outName(), Op: graph.OpConv2d, Inputs: []string{x.node},
		Params: map[string]string{"weight": im.param(im.outName()+".weight", []int{c, 1, 1, 1}, w), "bias": im.param(im.outName()+".bias", []int{c}, bias)},
		Attrs:  graph.Attrs{Stride: []int{1, 1}, Padding: []int{0, 0}, Dilation: []int{1, 1}}}
	if c > 1 {
		n.Attrs.Groups = c
	}
	name, err := im.addNode(n)
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) pool(op string, a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return unsup("use 2-D pooling", "only 2-D pooling is supported")
	}
	if len(im.cur.GetOutput()) > 1 && im.cur.GetOutput()[1] != "" && im.readers[im.cur.GetOutput()[1]] > 0 {
		return unsup("use MaxPool without return_indices", "MaxPool indices output is used")
	}
	ks, err := im.aInts(a, "kernel_shape")
	if err != nil {
		return err
	}
	if len(ks) != 2 || ks[0] <= 0 || ks[1] <= 0 || ks[0] > 1<<16 || ks[1] > 1<<16 {
		return im.errf("kernel_shape %v: want 2 positive values", ks)
	}
	k := []int{int(ks[0]), int(ks[1])}
	strides, dil, pads, err := im.spatial(a, x.shape, k, false)
	if err != nil {
		return err
	}
	ceil, err := im.aInt(a, "ceil_mode", 0)
	if err != nil {
		return err
	}
	if so, _ := im.aInt(a, "storage_order", 0); so != 0 {
		return unsup("use the default storage order", "storage_order 1")
	}
	attrs := graph.Attrs{Kernel: k, Stride: strides, CeilMode: ceil != 0}
	gop := graph.OpMaxPool2d
	padMode := "edge" // max pooling ignores padding: edge padding never changes a max
	if op == "AveragePool" {
		gop = graph.OpAvgPool2d
		cip, err := im.aInt(a, "count_include_pad", 0)
		if err != nil {
			return err
		}
		if cip == 0 {
			attrs.CountIncludePad = new(bool)
		}
		padMode = "constant"
		if cip == 0 && (pads[0] != pads[2] || pads[1] != pads[3]) {
			return unsup("use symmetric pads", "AveragePool with asymmetric pads and count_include_pad=0")
		}
		if dil[0] != 1 || dil[1] != 1 {
			return im.errf("dilations %v: AveragePool has none", dil)
		}
	} else {
		attrs.Dilation = dil
	}
	in, sym, err := im.padFirst(x, pads, padMode)
	if err != nil {
		return err
	}
	attrs.Padding = sym
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: gop, Inputs: []string{in}, Attrs: attrs})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) resize(a attrs) error {
	if im.cur.GetOpType() == "Upsample" {
		return unsup("export at opset 11 or later (Resize)", "Upsample is deprecated")
	}
	x, err := im.act(0)
	if err != nil {
		return err
	}
	if len(x.shape) != 4 {
		return unsup("resize N x C x H x W tensors", "only 4-D Resize is supported")
	}
	mode, err := im.aStr(a, "mode", "nearest")
	if err != nil {
		return err
	}
	ctm, err := im.aStr(a, "coordinate_transformation_mode", "half_pixel")
	if err != nil {
		return err
	}
	nm, err := im.aStr(a, "nearest_mode", "round_prefer_floor")
	if err != nil {
		return err
	}
	if aa, _ := im.aInt(a, "antialias", 0); aa != 0 {
		return unsup("use antialias=False", "Resize with antialias")
	}
	if ax, _ := im.aInts(a, "axes"); ax != nil {
		return unsup("give scales or sizes for all 4 axes", "Resize with axes")
	}
	if p, _ := im.aStr(a, "keep_aspect_ratio_policy", "stretch"); p != "stretch" {
		return unsup("use the default policy", "keep_aspect_ratio_policy %s", p)
	}
	scales, err := im.konst(2, "scales")
	if err != nil {
		return err
	}
	sizes, err := im.konst(3, "sizes")
	if err != nil {
		return err
	}
	if scales != nil && scales.len() == 0 {
		scales = nil
	}
	if sizes != nil && sizes.len() == 0 {
		sizes = nil
	}
	attrs := graph.Attrs{}
	switch {
	case scales != nil && sizes == nil:
		s := scales.floats()
		if len(s) != 4 || s[0] != 1 || s[1] != 1 {
			return unsup("resize only H and W", "scales %v: only the spatial axes may be scaled", s)
		}
		attrs.Scale = []float64{float64(s[2]), float64(s[3])}
	case sizes != nil && scales == nil:
		s := sizes.ints()
		if len(s) != 4 || int(s[0]) != x.shape[0] || int(s[1]) != x.shape[1] {
			return unsup("resize only H and W", "sizes %v: only the spatial axes may change", s)
		}
		attrs.Size = []int{int(s[2]), int(s[3])}
	default:
		return im.errf("give exactly one of scales and sizes")
	}
	fix := "use coordinate_transformation_mode half_pixel, pytorch_half_pixel, align_corners or asymmetric"
	switch ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
	default:
		return unsup(fix, "Resize coordinate_transformation_mode %s is not supported", ctm)
	}
	switch mode {
	case "linear":
		// PyTorch's bilinear (F.interpolate) where it is the same rule; ONNX's own otherwise.
		switch ctm {
		case "half_pixel", "pytorch_half_pixel":
			attrs.Mode = "bilinear"
		case "align_corners":
			attrs.Mode, attrs.AlignCorners = "bilinear", true
		default:
			attrs.Mode, attrs.Coord = "linear", ctm
		}
	case "nearest":
		switch nm {
		case "floor", "ceil", "round_prefer_floor", "round_prefer_ceil":
		default:
			return im.errf("nearest_mode %q: want floor, ceil, round_prefer_floor or round_prefer_ceil", nm)
		}
		switch {
		case ctm == "asymmetric" && nm == "floor":
			attrs.Mode = "nearest"
		case (ctm == "half_pixel" || ctm == "pytorch_half_pixel") && nm == "round_prefer_ceil":
			attrs.Mode = "nearest-exact"
		default:
			attrs.Mode, attrs.Coord, attrs.Round = "nearest", ctm, nm
		}
	case "cubic":
		return unsup("use linear or nearest", "Resize mode cubic is not in TOSA INT")
	default:
		return im.errf("mode %q: want nearest, linear or cubic", mode)
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpResize, Inputs: []string{x.node}, Attrs: attrs})
	if err != nil {
		return err
	}
	if n := im.g.Node(name); ctm == "half_pixel" && mode == "linear" && (n.Shape[2] == 1 || n.Shape[3] == 1) {
		return unsup("use pytorch_half_pixel", "half_pixel with an output size of 1 differs from PyTorch's rule")
	}
	im.outNode(name)
	return nil
}

func (im *importer) depthToSpace(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	bs, err := im.aInt(a, "blocksize", 0)
	if err != nil {
		return err
	}
	if bs <= 0 || bs > 64 {
		return im.errf("blocksize %d out of range", bs)
	}
	mode, err := im.aStr(a, "mode", "DCR")
	if err != nil {
		return err
	}
	r := int(bs)
	src := x.node
	op := graph.OpPixelShuffle
	switch mode {
	case "DCR":
		op = graph.OpDepthToSpace
	case "CRD":
	default:
		return im.errf("mode %q: want DCR or CRD", mode)
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: op, Inputs: []string{src}, Attrs: graph.Attrs{Factor: r}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) reshape(op string, a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	var target []int
	switch op {
	case "Reshape":
		s, err := im.konst(1, "shape")
		if err != nil {
			return err
		}
		if s == nil {
			return im.errf("shape input missing")
		}
		az, _ := im.aInt(a, "allowzero", 0)
		for _, v := range s.ints() {
			if v == 0 && az != 0 {
				return unsup("use allowzero=0", "Reshape with allowzero and a 0 dimension")
			}
			target = append(target, int(v))
		}
	case "Flatten":
		axis, err := im.aInt(a, "axis", 1)
		if err != nil {
			return err
		}
		if axis < 0 {
			axis += int64(len(x.shape))
		}
		if axis < 0 || int(axis) > len(x.shape) {
			return im.errf("axis %d out of range", axis)
		}
		target = []int{numElems(x.shape[:axis]), numElems(x.shape[axis:])}
	case "Squeeze", "Unsqueeze":
		var axes []int64
		if im.opset >= 13 {
			t, err := im.konst(1, "axes")
			if err != nil {
				return err
			}
			if t != nil {
				axes = t.ints()
			}
		} else {
			axes, _ = im.aInts(a, "axes")
		}
		rank := len(x.shape)
		if op == "Unsqueeze" {
			rank += len(axes)
		}
		mark := map[int]bool{}
		for _, ax := range axes {
			if ax < 0 {
				ax += int64(rank)
			}
			if ax < 0 || int(ax) >= rank {
				return im.errf("axis %d out of range", ax)
			}
			mark[int(ax)] = true
		}
		if op == "Squeeze" {
			for i, d := range x.shape {
				if (len(axes) == 0 && d == 1) || mark[i] {
					if d != 1 {
						return im.errf("axis %d has size %d, not 1", i, d)
					}
					continue
				}
				target = append(target, d)
			}
		} else {
			k := 0
			for i := 0; i < rank; i++ {
				if mark[i] {
					target = append(target, 1)
				} else {
					target = append(target, x.shape[k])
					k++
				}
			}
		}
	}
	// The graph's Reshape copies 0 entries from the input (ONNX rule). A target that keeps the
	// (static) batch size as its first dimension copies it instead, so that the graph runs at
	// any batch size (training) — PyTorch writes view(b, ...) with b folded to the export's batch.
	if len(target) > 0 && len(x.shape) > 0 && target[0] == x.shape[0] {
		target[0] = 0
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpReshape, Inputs: []string{x.node}, Attrs: graph.Attrs{Shape: target}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

func (im *importer) pad(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	mode, err := im.aStr(a, "mode", "constant")
	if err != nil {
		return err
	}
	if mode != "constant" && mode != "reflect" && mode != "edge" {
		return unsup("use constant, reflect or edge padding", "Pad mode %s is not supported", mode)
	}
	p, err := im.konst(1, "pads")
	if err != nil {
		return err
	}
	if p == nil {
		return im.errf("pads input missing")
	}
	var value float32
	if cv, err := im.konst(2, "constant_value"); err != nil {
		return err
	} else if cv != nil && cv.len() > 0 {
		value = cv.floats()[0]
	}
	pads := p.ints()
	rank := len(x.shape)
	if t, err := im.konst(3, "axes"); err != nil {
		return err
	} else if t != nil {
		// opset 18: pads for the listed axes only.
		full := make([]int64, 2*rank)
		axes := t.ints()
		if len(pads) != 2*len(axes) {
			return im.errf("pads %v for axes %v", pads, axes)
		}
		for k, ax := range axes {
			if ax < 0 {
				ax += int64(rank)
			}
			if ax < 0 || int(ax) >= rank {
				return im.errf("axis %d out of range", ax)
			}
			full[ax], full[int(ax)+rank] = pads[k], pads[k+len(axes)]
		}
		pads = full
	}
	if len(pads) != 2*rank || rank != 4 {
		return im.errf("pads %v for a rank-%d input", pads, rank)
	}
	if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return unsup("pad only H and W", "padding of the batch or channel axis (pads %v)", pads)
	}
	for _, v := range pads {
		if v < 0 {
			return unsup("crop with Slice instead", "negative pads %v", pads)
		}
	}
	g := []int{int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])}
	if g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 {
		return im.alias()
	}
	if mode != "constant" {
		value = 0
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpPad, Inputs: []string{x.node}, Attrs: graph.Attrs{Pads: g, Mode: mode, Value: value}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

// gemm maps a fully connected layer on an N x K activation (nn.Linear after a global pool and
// a flatten, as in squeeze-excite blocks) to a 1x1 Conv2d between reshapes: [N,K] ->
// [N,K,1,1] -> conv -> [N,M]. The reshapes cancel against the flatten and the view around it
// (see cancelReshapes), so the block lowers as convolutions.
func (im *importer) gemm(op string, a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	w, err := im.weight(1, "B")
	if err != nil {
		return err
	}
	fix := "apply nn.Linear to a flattened N x C vector, or use a 1x1 Conv2d"
	if len(x.shape) != 2 || len(w.shape) != 2 {
		return unsup(fix, "%s of %v by %v: only N x K times a constant K x M matrix is supported", op, x.shape, w.shape)
	}
	var bias *tensor
	transB := int64(0)
	if op == "Gemm" {
		ta, _ := im.aInt(a, "transA", 0)
		transB, _ = im.aInt(a, "transB", 0)
		alpha, _ := im.aFloat(a, "alpha", 1)
		beta, _ := im.aFloat(a, "beta", 1)
		if ta != 0 || alpha != 1 || beta != 1 {
			return unsup(fix, "Gemm with transA, alpha or beta other than the defaults")
		}
		if bias, err = im.konst(2, "C"); err != nil {
			return err
		}
	}
	k, m := w.shape[0], w.shape[1]
	if transB != 0 {
		k, m = m, k
	}
	if k != x.shape[1] {
		return im.errf("B is %v, input %v: inner sizes differ", w.shape, x.shape)
	}
	// Conv weight [M, K, 1, 1] = B^T (B is K x M) or B (transB).
	cw := make([]float32, m*k)
	for o := 0; o < m; o++ {
		for i := 0; i < k; i++ {
			if transB != 0 {
				cw[o*k+i] = w.f[o*k+i]
			} else {
				cw[o*k+i] = w.f[i*m+o]
			}
		}
	}
	base := im.outName()
	r1, err := im.addNode(&graph.Node{Name: base + "/to4d", Op: graph.OpReshape, Inputs: []string{x.node}, Attrs: graph.Attrs{Shape: []int{0, k, 1, 1}}})
	if err != nil {
		return err
	}
	n := &graph.Node{Name: base + "/fc", Op: graph.OpConv2d, Inputs: []string{r1}, Params: map[string]string{"weight": im.param(im.cur.GetInput()[1], []int{m, k, 1, 1}, cw)},
		Attrs: graph.Attrs{Stride: []int{1, 1}, Padding: []int{0, 0}, Dilation: []int{1, 1}}}
	if bias != nil {
		if !bias.isFloat() || bias.len() != m && bias.len() != 1 {
			return unsup(fix, "Gemm bias of shape %v", bias.shape)
		}
		bv := make([]float32, m)
		for i := range bv {
			bv[i] = bias.f[min(i, bias.len()-1)]
		}
		n.Params["bias"] = im.param(im.cur.GetInput()[2], []int{m}, bv)
	}
	c, err := im.addNode(n)
	if err != nil {
		return err
	}
	name, err := im.addNode(&graph.Node{Name: base, Op: graph.OpReshape, Inputs: []string{c}, Attrs: graph.Attrs{Shape: []int{0, m}}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}

// split maps Split (torch.split / chunk) to one Slice per output.
func (im *importer) split(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	ax, err := im.aInt(a, "axis", 0)
	if err != nil {
		return err
	}
	rank := len(x.shape)
	if ax < 0 {
		ax += int64(rank)
	}
	if ax < 0 || int(ax) >= rank {
		return im.errf("axis %d out of range", ax)
	}
	if ax == 0 {
		return unsup("do not split the batch axis", "Split of the batch axis")
	}
	outs := im.cur.GetOutput()
	n := x.shape[ax]
	var sizes []int
	var st *tensor
	if im.opset >= 13 {
		if st, err = im.konst(1, "split"); err != nil {
			return err
		}
	}
	switch {
	case st != nil:
		for _, v := range st.ints() {
			sizes = append(sizes, int(v))
		}
	case a.has("split"):
		v, _ := im.aInts(a, "split")
		for _, s := range v {
			sizes = append(sizes, int(s))
		}
	default:
		k := len(outs)
		if no, _ := im.aInt(a, "num_outputs", 0); no > 0 {
			k = int(no)
		}
		if k != len(outs) || k == 0 {
			return im.errf("num_outputs %d for %d outputs", k, len(outs))
		}
		per := (n + k - 1) / k // the last part may be smaller (ONNX opset 18 rule)
		for i := 0; i < k; i++ {
			sizes = append(sizes, min(per, n-i*per))
		}
	}
	total := 0
	for _, s := range sizes {
		if s <= 0 {
			return im.errf("split sizes %v must be positive", sizes)
		}
		total += s
	}
	if len(sizes) != len(outs) || total != n {
		return im.errf("split sizes %v for %d outputs of an axis of %d", sizes, len(outs), n)
	}
	off := 0
	for i, sz := range sizes {
		start := make([]int, rank)
		cut := append([]int(nil), x.shape...)
		start[ax], cut[ax] = off, sz
		off += sz
		if outs[i] == "" {
			continue
		}
		name, err := im.addNode(&graph.Node{Name: outs[i], Op: graph.OpSlice, Inputs: []string{x.node}, Attrs: graph.Attrs{Start: start, Cut: cut}})
		if err != nil {
			return err
		}
		im.out(i, &value{node: name, shape: im.shapes[name]})
	}
	return nil
}

// slice maps Slice of an activation with steps 1 (a crop) to a Slice node.
func (im *importer) slice() error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	if im.opset < 10 {
		return im.errf("opset < 10")
	}
	var ts [4]*tensor
	for i, what := range []string{"starts", "ends", "axes", "steps"} {
		if ts[i], err = im.konst(i+1, what); err != nil {
			return err
		}
	}
	if ts[0] == nil || ts[1] == nil {
		return im.errf("starts and ends are required")
	}
	starts, ends := ts[0].ints(), ts[1].ints()
	rank := len(x.shape)
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if ts[2] != nil {
		axes = ts[2].ints()
	}
	if len(ends) != len(starts) || len(axes) != len(starts) {
		return im.errf("starts %v, ends %v and axes %v differ in length", starts, ends, axes)
	}
	if ts[3] != nil {
		for _, st := range ts[3].ints() {
			if st != 1 {
				return unsup("slice with step 1 (a crop)", "Slice with step %d", st)
			}
		}
	}
	start := make([]int, rank)
	size := append([]int(nil), x.shape...)
	for k, ax := range axes {
		if ax < 0 {
			ax += int64(rank)
		}
		if ax < 0 || int(ax) >= rank {
			return im.errf("axis %d out of range", axes[k])
		}
		n := int64(x.shape[ax])
		s, e := starts[k], ends[k]
		if s < 0 {
			s += n
		}
		if e < 0 {
			e += n
		}
		s, e = min(max(s, 0), n), min(max(e, 0), n)
		if e <= s {
			return im.errf("Slice of axis %d is empty (start %d, end %d of %d)", ax, starts[k], ends[k], n)
		}
		if ax == 0 && (s != 0 || e != n) {
			return unsup("do not slice the batch axis", "Slice of the batch axis")
		}
		start[ax], size[ax] = int(s), int(e-s)
	}
	name, err := im.addNode(&graph.Node{Name: im.outName(), Op: graph.OpSlice, Inputs: []string{x.node}, Attrs: graph.Attrs{Start: start, Cut: size}})
	if err != nil {
		return err
	}
	im.outNode(name)
	return nil
}
