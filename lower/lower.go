// Package lower turns a quantized model (package quant) into a TOSA 1.0 INT graph (package
// tosa), the way ExecuTorch's Arm backend lowers a PT2E-quantized graph (quant-numerics.md §4):
// NHWC tensors, OHWI weights, convolutions with zero points and int32 bias followed by a
// per-channel RESCALE (SINGLE_ROUND, scale32), ReLU by saturation at the zero point, bilinear
// RESIZE with its 1/(scale_y_n*scale_x_n) RESCALE, ADD/SUB through int32 at a common scale,
// graph I/O int8.
//
// Lowering is one walk over the float graph's nodes; every node maps to a few TOSA operators.
// A node without a lowering stops it with an error naming the node, its op and what to change.
package lower

import (
	"fmt"
	"math"
	"strings"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
)

// Layout is the memory layout of the graph's inputs and outputs.
type Layout int

const (
	// NHWC I/O: no TRANSPOSE in the graph (the tutorial's channels-last export). Default.
	NHWC Layout = iota
	// NCHW I/O: TRANSPOSE operators at the graph boundaries.
	NCHW
)

// ParseLayout parses "nhwc" or "nchw".
func ParseLayout(s string) (Layout, error) {
	switch strings.ToLower(s) {
	case "nhwc":
		return NHWC, nil
	case "nchw":
		return NCHW, nil
	}
	return 0, fmt.Errorf("layout %q: want nhwc or nchw", s)
}

func (l Layout) String() string {
	if l == NCHW {
		return "nchw"
	}
	return "nhwc"
}

// Options configures lowering.
type Options struct {
	Layout Layout
	Batch  int // batch size of the graph's I/O; 0 means 1 (as the tutorial exports)
}

// TensorInfo describes one int8 tensor of the TOSA graph.
type TensorInfo struct {
	Name   string  `json:"name"`
	Source string  `json:"source"` // float graph node
	Shape  []int   `json:"shape"`
	Scale  float32 `json:"scale"`
	ZP     int32   `json:"zero_point"`
	Min    float32 `json:"observed_min"`
	Max    float32 `json:"observed_max"`
	// Int16 marks an a16w8 activation (an INT16 tensor, symmetric, zero point 0).
	Int16 bool `json:"int16,omitempty"`
}

// RescaleInfo describes one RESCALE operator: why it exists and its integer parameters.
type RescaleInfo struct {
	Output      string    `json:"output"`
	Source      string    `json:"source"`  // float graph node it came from
	Purpose     string    `json:"purpose"` // e.g. "conv requantization", "resize 1/16"
	Scales      []float64 `json:"scales"`
	Multipliers []int32   `json:"multipliers"`
	Shifts      []int     `json:"shifts"`
	InputZP     int32     `json:"input_zp"`
	OutputZP    int32     `json:"output_zp"`
	PerChannel  bool      `json:"per_channel"`
}

// IO describes a graph input or output: its int8 tensor and how it maps to real values.
type IO struct {
	Name   string  `json:"name"`
	Source string  `json:"source"`
	Shape  []int   `json:"shape"`
	Layout string  `json:"layout"`
	Scale  float32 `json:"scale"`
	ZP     int32   `json:"zero_point"`
}

// Result is a lowered graph with everything a report needs.
type Result struct {
	Graph    *tosa.Graph
	Inputs   []IO
	Outputs  []IO
	Tensors  []TensorInfo
	Rescales []RescaleInfo
	// Origin maps every TOSA operator index to the float node it came from ("" for CONSTs).
	Origin []string
}

type lowerer struct {
	m    *quant.Model
	g    *graph.Graph
	opt  Options
	b    *tosa.Builder
	res  *Result
	vals map[string]string // float value -> NHWC int8 TOSA tensor
	cur  string            // node being lowered
}

// Lower lowers m to a TOSA 1.0 INT graph.
func Lower(m *quant.Model, opt Options) (*Result, error) {
	if opt.Batch <= 0 {
		opt.Batch = 1
	}
	if len(m.Plan.Float) > 0 {
		var names []string
		for n := range m.Plan.Float {
			names = append(names, n)
		}
		return nil, fmt.Errorf("nodes %v are kept in float: an INT-only TOSA graph cannot contain them; quantize them or export only the float graph", names)
	}
	l := &lowerer{m: m, g: m.Graph, opt: opt, b: tosa.NewBuilder(), res: &Result{}, vals: map[string]string{}}
	for _, n := range l.g.Nodes {
		l.cur = n.Name
		nops := len(l.b.Graph().Ops)
		if err := l.node(n); err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: err}
		}
		if err := l.b.Err(); err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: err}
		}
		for i := nops; i < len(l.b.Graph().Ops); i++ {
			src := n.Name
			if op := l.b.Graph().Ops[i]; op.Op == tosa.OpConst || op.Op == tosa.OpConstShape {
				src = ""
			}
			l.res.Origin = append(l.res.Origin, src)
		}
	}
	for _, o := range l.g.Outputs {
		t, ok := l.vals[o]
		if !ok {
			return nil, fmt.Errorf("output %q has no int8 value (is it a fused conv?)", o)
		}
		q, _ := m.QParamOf(o)
		name := t
		shape := l.b.Graph().Tensor(t).Shape
		layout := "NHWC"
		if opt.Layout == NCHW {
			name = l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 3, 1, 2}}, []string{t}, "output_"+sanitize(o), tosa.Int8)
			l.res.Origin = append(l.res.Origin, o)
			shape = []int{shape[0], shape[3], shape[1], shape[2]}
			layout = "NCHW"
		}
		l.b.Output(name)
		l.res.Outputs = append(l.res.Outputs, IO{Name: name, Source: o, Shape: shape, Layout: layout, Scale: q.Scale, ZP: q.ZP})
	}
	g, err := l.b.Build()
	if err != nil {
		return nil, fmt.Errorf("lowered graph is invalid (a vgfq bug): %v", err)
	}
	l.res.Graph = g
	return l.res, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

func (l *lowerer) name(suffix string) string {
	n := sanitize(l.cur)
	if suffix != "" {
		n += "_" + suffix
	}
	return n
}

func (l *lowerer) qp(value string) (quant.QParam, error) {
	q, ok := l.m.QParamOf(value)
	if !ok {
		return q, fmt.Errorf("value %q has no quantization parameters", value)
	}
	return q, nil
}

func (l *lowerer) int8Scalar(name string, v int32) string {
	return l.b.AddConst(name, tosa.Int8, []int{1}, tosa.Int8Data([]int8{int8(v)}))
}

// record notes the qparams of an int8 tensor made for value.
func (l *lowerer) record(t, value string) {
	q, _ := l.m.QParamOf(value)
	id := l.m.Plan.Group[value]
	info := TensorInfo{Name: t, Source: value, Scale: q.Scale, ZP: q.ZP, Int16: q.Int16}
	if id < len(l.m.Ranges) {
		info.Min, info.Max = l.m.Ranges[id][0], l.m.Ranges[id][1]
	}
	if tt := l.b.Graph().Tensor(t); tt != nil {
		info.Shape = append([]int(nil), tt.Shape...)
	}
	l.res.Tensors = append(l.res.Tensors, info)
}

// rescale emits RESCALE in -> out (type outType) with the given real scales. An INT48 input
// (a16w8: 16x8 CONV2D, int16 bilinear RESIZE) takes 16-bit multipliers (scale32 false), as
// ExecuTorch's op_tosa_rescale does and TOSA requires; every other input scale32.
func (l *lowerer) rescale(in, out string, outType tosa.DType, scales []float64, inZP, outZP int32, purpose string) (string, error) {
	inT := l.b.Graph().Tensor(in)
	if inT == nil {
		return "", fmt.Errorf("%s: operand %q was not built: %v", purpose, in, l.b.Err())
	}
	inType := inT.Type
	width := 32
	if inType == tosa.Int48 {
		width = 16
	}
	mult, shifts, err := quant.MultipliersShifts(scales, width)
	if err != nil {
		return "", fmt.Errorf("%s: %v", purpose, err)
	}
	sh8 := make([]int8, len(shifts))
	for i, s := range shifts {
		sh8[i] = int8(s)
	}
	izp := l.b.AddConst(out+"_rescale_input_zp", inType, []int{1}, mustIntData(inType, int64(inZP)))
	ozp := l.b.AddConst(out+"_rescale_output_zp", outType, []int{1}, mustIntData(outType, int64(outZP)))
	var mc string
	if width == 16 {
		m16 := make([]int16, len(mult))
		for i, m := range mult {
			m16[i] = int16(m)
		}
		mc = l.b.AddConst(out+"_multipliers", tosa.Int16, []int{len(mult)}, tosa.Int16Data(m16))
	} else {
		mc = l.b.AddConst(out+"_multipliers", tosa.Int32, []int{len(mult)}, tosa.Int32Data(mult))
	}
	sc := l.b.AddConst(out+"_shifts", tosa.Int8, []int{len(sh8)}, tosa.Int8Data(sh8))
	perCh := len(scales) > 1
	l.b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: width == 32, RoundingMode: tosa.SingleRound, PerChannel: perCh},
		[]string{in, mc, sc, izp, ozp}, out, outType)
	l.res.Rescales = append(l.res.Rescales, RescaleInfo{Output: out, Source: l.cur, Purpose: purpose, Scales: scales,
		Multipliers: mult, Shifts: shifts, InputZP: inZP, OutputZP: outZP, PerChannel: perCh})
	return out, nil
}

func mustIntData(t tosa.DType, v int64) []byte {
	d, err := tosa.IntData(t, []int64{v})
	if err != nil {
		panic(err)
	}
	return d
}

// clamp emits a CLAMP on an int8 (or a16w8 int16) tensor unless [lo, hi] is its whole range.
func (l *lowerer) clamp(in string, lo, hi int32) string {
	t := l.b.Graph().Tensor(in).Type
	tmin, tmax := int32(-128), int32(127)
	if t == tosa.Int16 {
		tmin, tmax = -32768, 32767
	}
	lo, hi = max(lo, tmin), min(hi, tmax)
	if lo <= tmin && hi >= tmax {
		return in
	}
	return l.b.AddOp(tosa.OpClamp, tosa.Attr{ClampMin: mustIntData(t, int64(lo)), ClampMax: mustIntData(t, int64(hi)), NanMode: tosa.NanPropagate},
		[]string{in}, l.name("clamp"), t)
}

// actType is the TOSA type of a quantized value: INT8, or INT16 for an a16w8 group.
func actType(q quant.QParam) tosa.DType {
	if q.Int16 {
		return tosa.Int16
	}
	return tosa.Int8
}

// typeOf is the TOSA type of a built tensor.
func (l *lowerer) typeOf(t string) tosa.DType { return l.b.Graph().Tensor(t).Type }

// zpConst is a [1] zero-point constant of type t.
func (l *lowerer) zpConst(name string, t tosa.DType, v int32) string {
	return l.b.AddConst(name, t, []int{1}, mustIntData(t, int64(v)))
}

// activationBounds returns the integer interval an activation node keeps, for output qparams
// q (int8, or int16 for an a16w8 group: the TOSA type's range, as the RESCALE saturates).
func activationBounds(n *graph.Node, q quant.QParam) (lo, hi int32, err error) {
	lo, hi = -128, 127
	if q.Int16 {
		lo, hi = -32768, 32767
	}
	qv := func(x float32) int32 { return q.QuantizeInt(x) }
	switch n.Op {
	case graph.OpReLU:
		lo = q.ZP
	case graph.OpHardtanh, graph.OpClamp:
		if n.Attrs.Min != nil {
			lo = qv(*n.Attrs.Min)
		}
		if n.Attrs.Max != nil {
			hi = qv(*n.Attrs.Max)
		}
	default:
		return 0, 0, fmt.Errorf("%s is not a clamp-like activation", n.Op)
	}
	return lo, hi, nil
}

func (l *lowerer) node(n *graph.Node) error {
	switch n.Op {
	case graph.OpInput:
		return l.input(n)
	case graph.OpConv2d, graph.OpConvTranspose2d:
		return l.conv(n)
	case graph.OpReLU, graph.OpHardtanh, graph.OpClamp:
		if conv, ok := l.m.Plan.FusedInto[n.Name]; ok {
			l.vals[n.Name] = l.vals[conv] // lowered with its conv
			return nil
		}
		return l.standaloneClamp(n)
	case graph.OpSigmoid, graph.OpTanh, graph.OpLeakyReLU, graph.OpHardSwish, graph.OpHardSigmoid, graph.OpErf, graph.OpGELU:
		return l.table(n)
	case graph.OpSlice:
		return l.slice(n)
	case graph.OpPReLU:
		return l.prelu(n)
	case graph.OpConst:
		return l.constant(n)
	case graph.OpPad:
		return l.pad(n)
	case graph.OpResize:
		return l.resize(n)
	case graph.OpPixelShuffle, graph.OpPixelUnshuffle:
		return l.pixelShuffle(n)
	case graph.OpDepthToSpace, graph.OpSpaceToDepth:
		return l.depthSpace(n)
	case graph.OpAdd, graph.OpSub:
		return l.addSub(n)
	case graph.OpMul:
		return l.mul(n)
	case graph.OpConcat:
		return l.concat(n)
	case graph.OpMaxPool2d, graph.OpAvgPool2d:
		return l.pool(n)
	case graph.OpReshape, graph.OpTranspose:
		return l.reshapeTranspose(n)
	case graph.OpDiv:
		return fmt.Errorf("division by a tensor has no TOSA INT lowering (TOSA INT has no divide); divide by a constant, or multiply by a reciprocal the model computes")
	case graph.OpBatchNorm2d:
		return fmt.Errorf("BatchNorm2d must follow a Conv2d to be folded into it (vgfq ptq folds conv+bn); put it after a convolution or remove it")
	}
	return fmt.Errorf("no TOSA INT lowering for %s; supported: Conv2d, ConvTranspose2d, ReLU, ReLU6/Hardtanh, Clamp, LeakyReLU, Sigmoid, Tanh, Add, Sub, Mul, Concat, Resize, PixelShuffle, PixelUnshuffle, MaxPool2d, AvgPool2d, Reshape, Transpose, HardSwish, HardSigmoid, Erf, GELU, PReLU, Const, Pad, Slice, DepthToSpace, SpaceToDepth", n.Op)
}

func (l *lowerer) input(n *graph.Node) error {
	s := n.Attrs.Shape
	if len(s) != 4 {
		return fmt.Errorf("input shape %v: want N x C x H x W", s)
	}
	q, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	name := sanitize(n.Name)
	var t string
	io := IO{Name: name, Source: n.Name, Scale: q.Scale, ZP: q.ZP}
	if l.opt.Layout == NCHW {
		in := l.b.Input(name, tosa.Int8, l.opt.Batch, s[1], s[2], s[3])
		t = l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 2, 3, 1}}, []string{in}, name+"_nhwc", tosa.Int8)
		io.Shape, io.Layout = []int{l.opt.Batch, s[1], s[2], s[3]}, "NCHW"
	} else {
		t = l.b.Input(name, tosa.Int8, l.opt.Batch, s[2], s[3], s[1])
		io.Shape, io.Layout = []int{l.opt.Batch, s[2], s[3], s[1]}, "NHWC"
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	l.res.Inputs = append(l.res.Inputs, io)
	return nil
}

func (l *lowerer) conv(n *graph.Node) error {
	cq := l.m.Convs[n.Name]
	if cq == nil {
		return fmt.Errorf("no quantized weights (was the model converted?)")
	}
	in := l.vals[n.Inputs[0]]
	inQ, err := l.qp(n.Inputs[0])
	if err != nil {
		return err
	}
	// The int8 output: the fused activation's value, or the conv's own.
	outVal := n.Name
	act := l.m.Plan.Fused[n.Name]
	if act != "" {
		outVal = act
	}
	outQ, err := l.qp(outVal)
	if err != nil {
		return err
	}
	w := l.g.Params[n.Params["weight"]]
	o, _ := n.ConvOpts()
	var acc string
	inShape := l.b.Graph().Tensor(in).Shape
	cin := inShape[3]
	nbias := w.Shape[0]
	if n.Op == graph.OpConvTranspose2d {
		nbias = w.Shape[1]
	}
	bias := cq.Bias
	if bias == nil {
		bias = make([]int32, nbias)
	}
	// a16w8: an int16 input makes the 16x8 convolution of EXT-INT16 (INT48 accumulator, the
	// int32 bias values stored as INT48, input zero point 0), as ExecuTorch's RewriteConvPass
	// (bias marked TosaSpecialDtype.INT48) and op_tosa_conv2d do.
	inType, accType := l.typeOf(in), tosa.Int32
	var bname string
	if inType == tosa.Int16 {
		accType = tosa.Int48
		b48 := make([]int64, len(bias))
		for i, v := range bias {
			b48[i] = int64(v)
		}
		bname = l.b.AddConst(l.name("bias"), tosa.Int48, []int{nbias}, tosa.Int48Data(b48))
	} else {
		bname = l.b.AddConst(l.name("bias"), tosa.Int32, []int{nbias}, tosa.Int32Data(bias))
	}
	izp := l.zpConst(l.name("input_zp"), inType, inQ.ZP)
	wzp := l.int8Scalar(l.name("weight_zp"), 0)
	switch {
	case n.Op == graph.OpConvTranspose2d:
		if o.Groups != 1 || o.Dilation != [2]int{1, 1} {
			return fmt.Errorf("ConvTranspose2d with groups %d / dilation %v has no TOSA lowering; use groups 1 and dilation 1", o.Groups, o.Dilation)
		}
		// PyTorch weight [IC, OC, KH, KW] -> TOSA [OC, KH, KW, IC].
		ic, oc, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
		wd := make([]int8, len(cq.Weight))
		for i := 0; i < ic; i++ {
			for c := 0; c < oc; c++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						wd[((c*kh+y)*kw+x)*ic+i] = cq.Weight[((i*oc+c)*kh+y)*kw+x]
					}
				}
			}
		}
		wname := l.b.AddConst(l.name("weight"), tosa.Int8, []int{oc, kh, kw, ic}, tosa.Int8Data(wd))
		attr := tosa.Attr{OutPad: []int{-o.Padding[0], -o.Padding[0] + o.OutputPadding[0], -o.Padding[1], -o.Padding[1] + o.OutputPadding[1]},
			Stride: []int{o.Stride[0], o.Stride[1]}, AccType: accType}
		acc = l.b.AddOp(tosa.OpTransposeConv2D, attr, []string{in, wname, bname, izp, wzp}, l.name("acc"), accType)
	case o.Groups == 1 || !(o.Groups == cin && w.Shape[1] == 1):
		// Grouped (not depthwise) convolution: one CONV2D whose weight is zero outside each
		// output channel's group — the same sums exactly (a zero weight adds nothing whatever
		// the input zero point), at groups times the MACs.
		oc, ipg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
		ic := ipg * o.Groups
		opg := oc / o.Groups
		wd := make([]int8, oc*kh*kw*ic)
		for c := 0; c < oc; c++ {
			base := (c / opg) * ipg
			for i := 0; i < ipg; i++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						wd[((c*kh+y)*kw+x)*ic+base+i] = cq.Weight[((c*ipg+i)*kh+y)*kw+x]
					}
				}
			}
		}
		wname := l.b.AddConst(l.name("weight"), tosa.Int8, []int{oc, kh, kw, ic}, tosa.Int8Data(wd))
		attr := tosa.Attr{Pad: exactPads(inShape[1], inShape[2], kh, kw, o.Padding, o.Stride, o.Dilation), Stride: []int{o.Stride[0], o.Stride[1]},
			Dilation: []int{o.Dilation[0], o.Dilation[1]}, AccType: accType}
		acc = l.b.AddOp(tosa.OpConv2D, attr, []string{in, wname, bname, izp, wzp}, l.name("acc"), accType)
	case o.Groups == cin && w.Shape[1] == 1:
		// Depthwise: PyTorch weight [C*M, 1, KH, KW], out channel c*M+m -> TOSA [KH, KW, C, M].
		oc, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
		mult := oc / cin
		wd := make([]int8, len(cq.Weight))
		for c := 0; c < cin; c++ {
			for m := 0; m < mult; m++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						wd[((y*kw+x)*cin+c)*mult+m] = cq.Weight[((c*mult+m)*kh+y)*kw+x]
					}
				}
			}
		}
		wname := l.b.AddConst(l.name("weight"), tosa.Int8, []int{kh, kw, cin, mult}, tosa.Int8Data(wd))
		attr := tosa.Attr{Pad: exactPads(inShape[1], inShape[2], kh, kw, o.Padding, o.Stride, o.Dilation), Stride: []int{o.Stride[0], o.Stride[1]},
			Dilation: []int{o.Dilation[0], o.Dilation[1]}, AccType: accType}
		acc = l.b.AddOp(tosa.OpDepthwiseConv2D, attr, []string{in, wname, bname, izp, wzp}, l.name("acc"), accType)
	default:
		return fmt.Errorf("grouped convolution (groups %d of %d channels) has no TOSA lowering; use groups 1 or depthwise (groups = input channels)", o.Groups, cin)
	}
	scales := quant.ConvRescaleScales(inQ.Scale, cq.WeightScales, outQ.Scale)
	out, err := l.rescale(acc, l.name(""), actType(outQ), scales, 0, outQ.ZP, "conv requantization (s_in*s_w[c]/s_out)")
	if err != nil {
		return err
	}
	if act != "" {
		lo, hi, err := activationBounds(l.g.Node(act), outQ)
		if err != nil {
			return err
		}
		out = l.clamp(out, lo, hi)
	}
	l.vals[outVal] = out
	if act != "" {
		l.vals[n.Name] = out
	}
	l.record(out, outVal)
	return nil
}

func (l *lowerer) standaloneClamp(n *graph.Node) error {
	in := l.vals[n.Inputs[0]]
	inQ, err := l.qp(n.Inputs[0])
	if err != nil {
		return err
	}
	outQ, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	t := in
	if inQ != outQ {
		t, err = l.rescale(in, l.name("rescaled"), actType(outQ), []float64{float64(inQ.Scale) / float64(outQ.Scale)}, inQ.ZP, outQ.ZP, "requantize to the activation's output")
		if err != nil {
			return err
		}
	}
	lo, hi, err := activationBounds(n, outQ)
	if err != nil {
		return err
	}
	t = l.clamp(t, lo, hi)
	if t == in { // keep one tensor per value
		t = l.b.AddOp(tosa.OpIdentity, tosa.Attr{}, []string{in}, l.name(""), l.typeOf(in))
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// table lowers an element-wise function of one int8 value to TABLE: entry i holds
// Q_out(f(DQ_in(i-128))), exactly what the fake-quantized float graph computes.
func (l *lowerer) table(n *graph.Node) error {
	in := l.vals[n.Inputs[0]]
	inQ, err := l.qp(n.Inputs[0])
	if err != nil {
		return err
	}
	outQ, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	var f func(x float64) float64
	switch n.Op {
	case graph.OpSigmoid:
		f = func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	case graph.OpTanh:
		f = math.Tanh
	case graph.OpHardSwish:
		f = func(x float64) float64 { return x * math.Min(math.Max(x+3, 0), 6) / 6 }
	case graph.OpErf:
		f = math.Erf
	case graph.OpPReLU: // one shared slope
		s := float64(l.g.Params[n.Params["weight"]].Data[0])
		f = func(x float64) float64 {
			if x < 0 {
				return x * s
			}
			return x
		}
	case graph.OpGELU:
		f = func(x float64) float64 { return x * 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
	case graph.OpHardSigmoid:
		al, be := float64(n.Attrs.Alpha), float64(n.Attrs.Beta)
		f = func(x float64) float64 { return math.Min(math.Max(al*x+be, 0), 1) }
	case graph.OpLeakyReLU:
		s := float64(n.Attrs.Slope)
		f = func(x float64) float64 {
			if x < 0 {
				return x * s
			}
			return x
		}
	}
	tbl := make([]int8, 256)
	for i := range tbl {
		x := inQ.Dequantize(int8(i - 128))
		tbl[i] = outQ.Quantize(float32(f(float64(x))))
	}
	tn := l.b.AddConst(l.name("table"), tosa.Int8, []int{256}, tosa.Int8Data(tbl))
	t := l.b.AddOp(tosa.OpTable, tosa.Attr{}, []string{in, tn}, l.name(""), tosa.Int8)
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (l *lowerer) resize(n *graph.Node) error {
	in := l.vals[n.Inputs[0]]
	s := l.b.Graph().Tensor(in).Shape
	ih, iw := s[1], s[2]
	oh, ow := n.Shape[2], n.Shape[3]
	if len(n.Attrs.Scale) == 2 && (float64(oh)/float64(ih) != n.Attrs.Scale[0] || float64(ow)/float64(iw) != n.Attrs.Scale[1]) {
		return fmt.Errorf("scale factor %v is not output/input size exactly (%dx%d -> %dx%d); PyTorch then samples differently from TOSA RESIZE; use an exact integer factor or an explicit size", n.Attrs.Scale, ih, iw, oh, ow)
	}
	// The sampling rule as ONNX names it: coordinate transform and nearest rounding.
	a := n.Attrs
	coord, round := a.Coord, a.Round
	switch {
	case coord != "":
	case a.Mode == "bilinear" && a.AlignCorners:
		coord = "align_corners"
	case a.Mode == "bilinear":
		coord = "half_pixel"
	case a.Mode == "nearest":
		coord, round = "asymmetric", "floor"
	case a.Mode == "nearest-exact":
		coord, round = "half_pixel", "round_prefer_ceil"
	default:
		return fmt.Errorf("resize mode %q has no TOSA lowering; use bilinear or nearest", a.Mode)
	}
	nearest := a.Mode == "nearest" || a.Mode == "nearest-exact"
	var perr error
	// TOSA samples input position (o*scale_d + offset)/scale_n; NEAREST rounds half up, so the
	// offset also carries the rounding rule (scale_n is even).
	params := func(in, out int) (sn, sd, off, border int64) {
		if coord == "align_corners" {
			if in == 1 || out == 1 {
				perr = fmt.Errorf("align_corners resize from or to size 1 is not lowered")
				return 1, 1, 0, 0
			}
			g := gcd(out-1, in-1)
			sn, sd = int64(2*(out-1)/g), int64(2*(in-1)/g)
		} else {
			g := gcd(out, in)
			sn, sd = int64(2*out/g), int64(2*in/g)
		}
		if coord == "half_pixel" || coord == "pytorch_half_pixel" {
			off = sd/2 - sn/2 // half-pixel centers
			if coord == "half_pixel" && out == 1 {
				perr = fmt.Errorf("half_pixel resize to size 1 is not lowered; use pytorch_half_pixel")
			}
		}
		if nearest {
			switch round {
			case "floor":
				off -= sn / 2
			case "ceil":
				off += sn/2 - 1
			case "round_prefer_floor":
				off--
			case "round_prefer_ceil":
			default:
				perr = fmt.Errorf("nearest rounding %q has no TOSA lowering", round)
			}
		}
		border = sd*int64(out-1) - sn*int64(in-1) + off
		return
	}
	yn, yd, yo, yb := params(ih, oh)
	xn, xd, xo, xb := params(iw, ow)
	if perr != nil {
		return perr
	}
	scale := l.b.AddConstShape(l.name("scale"), yn, yd, xn, xd)
	offset := l.b.AddConstShape(l.name("offset"), yo, xo)
	border := l.b.AddConstShape(l.name("border"), yb, xb)
	var t string
	// a16w8: int16 NEAREST gives int16, int16 BILINEAR an INT48 accumulator (EXT-INT16), then
	// the 1/(scale_y_n*scale_x_n) RESCALE with 16-bit multipliers (ExecuTorch rewrite_upsample).
	inType := l.typeOf(in)
	if nearest {
		t = l.b.AddOp(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeNearest}, []string{in, scale, offset, border}, l.name(""), inType)
	} else {
		accType := tosa.Int32
		if inType == tosa.Int16 {
			accType = tosa.Int48
		}
		acc := l.b.AddOp(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeBilinear}, []string{in, scale, offset, border}, l.name("acc"), accType)
		var err error
		t, err = l.rescale(acc, l.name(""), inType, []float64{1 / float64(yn*xn)}, 0, 0, fmt.Sprintf("bilinear resize 1/%d", yn*xn))
		if err != nil {
			return err
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

// pixelShuffle: NHWC [N,H,W,C*r*r] with PyTorch channel c*r*r+i*r+j -> [N,H*r,W*r,C] as
// RESHAPE [N,H,W,C,r,r] -> TRANSPOSE [0,1,4,2,5,3] -> RESHAPE.
func (l *lowerer) pixelShuffle(n *graph.Node) error {
	s := l.b.Graph().Tensor(l.vals[n.Inputs[0]]).Shape
	N, H, W, C, r := int64(s[0]), int64(s[1]), int64(s[2]), int64(s[3]), int64(n.Attrs.Factor)
	if n.Op == graph.OpPixelShuffle {
		c := C / (r * r)
		return l.shuffleBlocks(n, []int64{N, H, W, c, r, r}, []int{0, 1, 4, 2, 5, 3}, []int64{N, H * r, W * r, c})
	}
	// Inverse: [N,H,W,C] = [N,h,r,w,r,C] -> [N,h,w,C,r,r] -> [N,h,w,C*r*r].
	h, w := H/r, W/r
	return l.shuffleBlocks(n, []int64{N, h, r, w, r, C}, []int{0, 1, 3, 5, 2, 4}, []int64{N, h, w, C * r * r})
}

// shuffleBlocks lowers a pixel / depth-space shuffle of node n's int8 (or a16w8 int16) input:
// RESHAPE to split, TRANSPOSE by perm, RESHAPE to merge, then n's shared-qparams requantization.
func (l *lowerer) shuffleBlocks(n *graph.Node, split []int64, perm []int, merged []int64) error {
	in := l.vals[n.Inputs[0]]
	ty := l.typeOf(in)
	a := l.b.AddOp(tosa.OpReshape, tosa.Attr{}, []string{in, l.b.AddConstShape(l.name("shape1"), split...)}, l.name("split"), ty)
	b := l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: perm}, []string{a}, l.name("perm"), ty)
	t := l.b.AddOp(tosa.OpReshape, tosa.Attr{}, []string{b, l.b.AddConstShape(l.name("shape2"), merged...)}, l.name(""), ty)
	t, err := l.requantShared(n, t)
	if err != nil {
		return err
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// addSub: ExecuTorch's insert_rescale_ops_to_int32_maxscale: both inputs to int32 at the common
// scale 2*max(s_a, s_b) with 20 bits of headroom, ADD/SUB, RESCALE back.
func (l *lowerer) addSub(n *graph.Node) error {
	qa, qb, qo, err := l.binaryQParams(n)
	if err != nil {
		return err
	}
	sa, sb := float64(qa.Scale), float64(qb.Scale)
	max2 := 2 * math.Max(sa, sb)
	// 20 bits of headroom for int8 operands; 12 when an operand is int16 (a16w8), as ExecuTorch's
	// InsertRescalePass (shift_bits = 12 for int16). ExecuTorch requires equal operand dtypes;
	// vgfq also lowers an int8 + int16 add this way (the int8 operand loses nothing: its int32
	// image is exact up to the one rounding of the multiplier).
	shift := float64(1 << 20)
	if qa.Int16 || qb.Int16 {
		shift = 1 << 12
	}
	a, err := l.rescale(l.vals[n.Inputs[0]], l.name("lhs"), tosa.Int32, []float64{shift * sa / max2}, qa.ZP, 0, "operand to int32 at the common scale")
	if err != nil {
		return err
	}
	b, err := l.rescale(l.vals[n.Inputs[1]], l.name("rhs"), tosa.Int32, []float64{shift * sb / max2}, qb.ZP, 0, "operand to int32 at the common scale")
	if err != nil {
		return err
	}
	op := tosa.OpAdd
	if n.Op == graph.OpSub {
		op = tosa.OpSub
	}
	acc := l.b.AddOp(op, tosa.Attr{}, []string{a, b}, l.name("acc"), tosa.Int32)
	t, err := l.rescale(acc, l.name(""), actType(qo), []float64{max2 / (float64(qo.Scale) * shift)}, 0, qo.ZP, "result to int8")
	if err != nil {
		return err
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// binaryQParams checks a two-operand element-wise node and returns the qparams of its operands
// and its output.
func (l *lowerer) binaryQParams(n *graph.Node) (qa, qb, qo quant.QParam, err error) {
	for _, in := range n.Inputs {
		if len(l.g.Node(in).Shape) != 4 {
			return qa, qb, qo, fmt.Errorf("operand %q is not 4-D", in)
		}
	}
	if qa, err = l.qp(n.Inputs[0]); err != nil {
		return
	}
	if qb, err = l.qp(n.Inputs[1]); err != nil {
		return
	}
	qo, err = l.qp(n.Name)
	return
}

// mul: both inputs to int32 with their zero points removed, MUL (shift 0), RESCALE by
// s_a*s_b/s_out.
func (l *lowerer) mul(n *graph.Node) error {
	qa, qb, qo, err := l.binaryQParams(n)
	if err != nil {
		return err
	}
	a, err := l.rescale(l.vals[n.Inputs[0]], l.name("lhs"), tosa.Int32, []float64{1}, qa.ZP, 0, "operand to int32")
	if err != nil {
		return err
	}
	b, err := l.rescale(l.vals[n.Inputs[1]], l.name("rhs"), tosa.Int32, []float64{1}, qb.ZP, 0, "operand to int32")
	if err != nil {
		return err
	}
	sh := l.int8Scalar(l.name("shift"), 0)
	acc := l.b.AddOp(tosa.OpMul, tosa.Attr{}, []string{a, b, sh}, l.name("acc"), tosa.Int32)
	t, err := l.rescale(acc, l.name(""), actType(qo), []float64{float64(qa.Scale) * float64(qb.Scale) / float64(qo.Scale)}, 0, qo.ZP, "product to int8")
	if err != nil {
		return err
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// nhwcAxis maps an NCHW axis of a 4-D tensor to NHWC.
func nhwcAxis(a int) int { return [4]int{0, 3, 1, 2}[a] }

func (l *lowerer) concat(n *graph.Node) error {
	axis := n.Attrs.Axis
	if axis < 0 {
		axis += 4
	}
	if len(n.Shape) != 4 || axis < 0 || axis > 3 {
		return fmt.Errorf("concat of %d-D tensors on axis %d: only 4-D NCHW concat is lowered", len(n.Shape), n.Attrs.Axis)
	}
	var ins []string
	outQ, err := l.qp(n.Name)
	if err != nil {
		return err
	}
	for k, in := range n.Inputs {
		// Inputs share the output's qparams (calibration); a QDQ model may give them their own:
		// requantize those first.
		inQ, err := l.qp(in)
		if err != nil {
			return err
		}
		t := l.vals[in]
		if inQ != outQ {
			if t, err = l.rescale(t, l.name(fmt.Sprintf("in%d_requant", k)), actType(outQ), []float64{float64(inQ.Scale) / float64(outQ.Scale)}, inQ.ZP, outQ.ZP, "requantize a concat input to the output's qparams (QDQ)"); err != nil {
				return err
			}
		}
		ins = append(ins, t)
	}
	t := l.b.AddOp(tosa.OpConcat, tosa.Attr{Axis: nhwcAxis(axis)}, ins, l.name(""), actType(outQ))
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

func (l *lowerer) pool(n *graph.Node) error {
	o, err := n.PoolOpts()
	if err != nil {
		return err
	}
	if o.CeilMode {
		return fmt.Errorf("ceil_mode=True is not lowered; use ceil_mode=False")
	}
	if o.Dilation != [2]int{1, 1} {
		return fmt.Errorf("dilated pooling has no TOSA lowering")
	}
	in := l.vals[n.Inputs[0]]
	inShape := l.b.Graph().Tensor(in).Shape
	pad := exactPads(inShape[1], inShape[2], o.Kernel[0], o.Kernel[1], o.Padding, o.Stride, [2]int{1, 1})
	attr := tosa.Attr{Kernel: []int{o.Kernel[0], o.Kernel[1]}, Stride: []int{o.Stride[0], o.Stride[1]}, Pad: pad}
	var t string
	if n.Op == graph.OpMaxPool2d {
		attr.NanMode = tosa.NanPropagate
		t = l.b.AddOp(tosa.OpMaxPool2D, attr, []string{in}, l.name(""), l.typeOf(in))
	} else {
		if (o.Padding[0] > 0 || o.Padding[1] > 0) && !o.ExcludePad {
			return fmt.Errorf("AvgPool2d with padding and count_include_pad=True has no TOSA lowering (TOSA averages valid taps only); use count_include_pad=False or no padding")
		}
		q, err := l.qp(n.Inputs[0]) // output zp too: a QDQ output scale is applied after
		if err != nil {
			return err
		}
		attr.AccType = tosa.Int32
		izp := l.int8Scalar(l.name("input_zp"), q.ZP)
		ozp := l.int8Scalar(l.name("output_zp"), q.ZP)
		t = l.b.AddOp(tosa.OpAvgPool2D, attr, []string{in, izp, ozp}, l.name(""), tosa.Int8)
	}
	t, rerr := l.requantShared(n, t)
	if rerr != nil {
		return rerr
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

// reshapeTranspose lowers NCHW-semantics Reshape / Transpose on NHWC data.
func (l *lowerer) reshapeTranspose(n *graph.Node) error {
	in := l.vals[n.Inputs[0]]
	inShape := l.g.Node(n.Inputs[0]).Shape
	if len(inShape) != 4 || len(n.Shape) != 4 {
		return fmt.Errorf("only 4-D %s is lowered (got %v -> %v)", n.Op, inShape, n.Shape)
	}
	var t string
	ty := l.typeOf(in)
	if n.Op == graph.OpTranspose {
		L, Linv := []int{0, 2, 3, 1}, []int{0, 3, 1, 2}
		q := make([]int, 4)
		for i := range q {
			q[i] = Linv[n.Attrs.Perm[L[i]]]
		}
		t = l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: q}, []string{in}, l.name(""), ty)
	} else {
		// To NCHW, reshape, back to NHWC.
		a := l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 3, 1, 2}}, []string{in}, l.name("nchw"), ty)
		s := n.Shape
		sh := l.b.AddConstShape(l.name("shape"), int64(l.opt.Batch), int64(s[1]), int64(s[2]), int64(s[3]))
		b := l.b.AddOp(tosa.OpReshape, tosa.Attr{}, []string{a, sh}, l.name("reshaped"), ty)
		t = l.b.AddOp(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 2, 3, 1}}, []string{b}, l.name(""), ty)
	}
	t, rerr := l.requantShared(n, t)
	if rerr != nil {
		return rerr
	}
	l.vals[n.Name] = t
	l.record(t, n.Name)
	return nil
}

func qparam(io IO) quant.QParam { return quant.QParam{Scale: io.Scale, ZP: io.ZP} }
