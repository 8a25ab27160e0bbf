package onnx

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/graph"
	pb "github.com/vgfq/vgfq/onnx/onnxpb"
	"github.com/vgfq/vgfq/quant"
)

// QDQ is the quantization a QDQ model prescribes: every QuantizeLinear/DequantizeLinear pair
// on an activation gives that value's (scale, zero point); every DequantizeLinear of constant
// int8 weights gives a convolution's per-channel weight scales and integer weights. They are
// checked against TOSA INT's rules (int8 activations — uint8 (s, zp) is taken as the equal int8
// (s, zp-128) —, symmetric int8 weights per channel or per tensor, int32 bias at s_in*s_w[c]) and
// become a quant.Model that lowers exactly, with no calibration.
type QDQ struct {
	Act   map[string]quant.QParam // graph value -> qparams
	Convs map[string]*quant.ConvQ // conv node -> int8 weights (bias filled by finish)
	// Model is the converted model (set when the import finishes).
	Model *quant.Model
	from  map[string]string // graph value -> the QuantizeLinear node that gave its qparams
	bias  map[string]*tensor
}

type actQuant struct {
	src   string // graph node
	scale float32
	zp    int64
	dt    pb.TensorProto_DataType
	qnode string
}

func (q *QDQ) rename(from, to string) {
	if v, ok := q.Act[from]; ok {
		q.Act[to] = v
		delete(q.Act, from)
		q.from[to] = q.from[from]
	}
	if v, ok := q.Convs[from]; ok {
		q.Convs[to] = v
		delete(q.Convs, from)
	}
	if v, ok := q.bias[from]; ok {
		q.bias[to] = v
		delete(q.bias, from)
	}
}

func (im *importer) qdqState() *QDQ {
	if im.qdq == nil {
		im.qdq = &QDQ{Act: map[string]quant.QParam{}, Convs: map[string]*quant.ConvQ{}, from: map[string]string{}, bias: map[string]*tensor{}}
	}
	return im.qdq
}

// qparamsIn reads the scale and zero point inputs (1, 2) of a Q/DQ node. zp defaults to uint8 0.
func (im *importer) qparamsIn(in []*tensor, a attrs, n int) (scales []float32, zps []int64, dt pb.TensorProto_DataType, axis int, err error) {
	if len(in) < 2 || in[1] == nil {
		return nil, nil, 0, 0, im.errf("y_scale is missing or not constant")
	}
	s := in[1]
	if !s.isFloat() {
		return nil, nil, 0, 0, im.errf("scale has type %s, want float", dtName(s.dt))
	}
	scales = s.f
	dt = pb.TensorProto_UINT8
	if len(in) > 2 && in[2] != nil {
		zp := in[2]
		dt = zp.dt
		if zp.len() != s.len() {
			return nil, nil, 0, 0, im.errf("zero point has %d values, scale %d", zp.len(), s.len())
		}
		zps = zp.i
	} else {
		zps = make([]int64, len(scales))
	}
	for _, v := range scales {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return nil, nil, 0, 0, im.errf("scale %v must be positive and finite", v)
		}
	}
	axis = -1
	if len(scales) > 1 {
		ax, _ := im.aInt(a, "axis", 1)
		if ax < 0 {
			ax += int64(n)
		}
		if ax < 0 || int(ax) >= n {
			return nil, nil, 0, 0, im.errf("axis %d out of range", ax)
		}
		axis = int(ax)
	}
	return scales, zps, dt, axis, nil
}

func qrange(dt pb.TensorProto_DataType) (int64, int64, bool) {
	switch dt {
	case pb.TensorProto_INT8:
		return -128, 127, true
	case pb.TensorProto_UINT8:
		return 0, 255, true
	case pb.TensorProto_INT16:
		return -32768, 32767, true
	case pb.TensorProto_UINT16:
		return 0, 65535, true
	case pb.TensorProto_INT32:
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}

// foldQuantize: QuantizeLinear of a constant (weights): y = saturate(round_half_even(fl32(x *
// fl32(1/s))) + zp), PyTorch's fake_quantize arithmetic (the ONNX text writes x / s; the two differ
// when the float32 product lands on the other side of a .5 tie). A QDQ model exported from a
// QAT run then reproduces the weights it was trained with exactly (on the corpus' FX QAT model
// the division left 13 of 768 outputs one quantization step off torch's, the product none).
func foldQuantize(im *importer, in []*tensor, a attrs) (*tensor, error) {
	x := in[0]
	if !x.isFloat() {
		return nil, im.errf("input has type %s, want float", dtName(x.dt))
	}
	scales, zps, dt, axis, err := im.qparamsIn(in, a, len(x.shape))
	if err != nil {
		return nil, err
	}
	lo, hi, ok := qrange(dt)
	if !ok {
		return nil, im.errf("zero point type %s is not supported", dtName(dt))
	}
	out := &tensor{dt: dt, shape: x.shape, i: make([]int64, x.len())}
	inner, ch := chanLayout(x.shape, axis)
	for k, v := range x.f {
		c := 0
		if axis >= 0 {
			c = (k / inner) % ch
		}
		q := math.RoundToEven(float64(v*(1/scales[c]))) + float64(zps[c])
		out.i[k] = int64(min(max(q, float64(lo)), float64(hi)))
	}
	out.q = &qtensor{dt: dt, vals: out.i, scales: scales, zps: zps, axis: axis}
	return out, nil
}

func chanLayout(shape []int, axis int) (inner, ch int) {
	if axis < 0 {
		return 1, 1
	}
	return numElems(shape[axis+1:]), shape[axis]
}

// foldDequantize: DequantizeLinear of constant integers (weights, int32 bias): x = (q - zp) * s,
// remembering the integers for the convolution that reads them.
func foldDequantize(im *importer, in []*tensor, a attrs) (*tensor, error) {
	q := in[0]
	if q.isFloat() {
		return nil, im.errf("input has type %s, want an integer type", dtName(q.dt))
	}
	scales, zps, dt, axis, err := im.qparamsIn(in, a, len(q.shape))
	if err != nil {
		return nil, err
	}
	if len(in) > 2 && in[2] != nil && dt != q.dt {
		return nil, im.errf("zero point type %s differs from the input type %s", dtName(dt), dtName(q.dt))
	}
	out := &tensor{dt: pb.TensorProto_FLOAT, shape: q.shape, f: make([]float32, q.len())}
	inner, ch := chanLayout(q.shape, axis)
	for k, v := range q.i {
		c := 0
		if axis >= 0 {
			c = (k / inner) % ch
		}
		out.f[k] = float32(v-zps[c]) * scales[c]
	}
	out.q = &qtensor{dt: q.dt, vals: q.i, scales: scales, zps: zps, axis: axis}
	return out, nil
}

// quantizeLinear of an activation: remembered until its DequantizeLinear.
func (im *importer) quantizeLinear(a attrs) error {
	x, err := im.act(0)
	if err != nil {
		return err
	}
	var ts []*tensor
	for i := 0; i < 3; i++ {
		v, err := im.in(i)
		if err != nil {
			return err
		}
		switch {
		case v == nil:
			ts = append(ts, nil)
		case i > 0 && v.c == nil:
			return unsup("use constant scales and zero points", "QuantizeLinear with a computed scale or zero point")
		default:
			ts = append(ts, v.c)
		}
	}
	scales, zps, dt, axis, err := im.qparamsIn(ts, a, len(x.shape))
	if err != nil {
		return err
	}
	if axis >= 0 || len(scales) != 1 {
		return unsup("quantize activations per tensor", "per-channel quantization of an activation is not in TOSA INT")
	}
	switch dt {
	case pb.TensorProto_INT8, pb.TensorProto_UINT8:
	default:
		return unsup("quantize activations to int8 (or uint8)", "activation zero point type %s: TOSA INT8 graphs need int8 activations", dtName(dt))
	}
	im.qdqState()
	im.out(0, &value{qact: &actQuant{src: x.node, scale: scales[0], zp: zps[0], dt: dt, qnode: nodeName(im.cur)}, shape: x.shape})
	return nil
}

func (im *importer) dequantizeLinear(a attrs) error {
	v, err := im.in(0)
	if err != nil {
		return err
	}
	if v == nil || v.qact == nil {
		return unsup("feed DequantizeLinear from a QuantizeLinear or constant weights", "DequantizeLinear of a run-time integer tensor that no QuantizeLinear produced")
	}
	var ts []*tensor
	for i := 0; i < 3; i++ {
		w, err := im.in(i)
		if err != nil {
			return err
		}
		if i == 0 || w == nil {
			ts = append(ts, nil)
			continue
		}
		if w.c == nil {
			return unsup("use constant scales", "DequantizeLinear with a computed scale")
		}
		ts = append(ts, w.c)
	}
	scales, zps, dt, _, err := im.qparamsIn(ts, a, len(v.shape))
	if err != nil {
		return err
	}
	q := v.qact
	if len(scales) != 1 || scales[0] != q.scale || zps[0] != q.zp || dt != q.dt {
		return im.errf("scale %v / zero point %v differ from its QuantizeLinear %q (%v / %v)", scales, zps, q.qnode, q.scale, q.zp)
	}
	zp := q.zp
	if dt == pb.TensorProto_UINT8 {
		zp -= 128 // the same real values in int8
	}
	qp := quant.QParam{Scale: q.scale, ZP: int32(zp)}
	st := im.qdqState()
	if old, ok := st.Act[q.src]; ok && old != qp {
		return im.errf("value %q is quantized twice with different parameters (%v by %q, %v here)", q.src, old, st.from[q.src], qp)
	}
	st.Act[q.src] = qp
	st.from[q.src] = q.qnode
	im.out(0, &value{node: q.src, shape: v.shape})
	return nil
}

// qdqConv records a convolution's integer weights from its DequantizeLinear.
func (im *importer) qdqConv(name string, w, b *tensor) error {
	st := im.qdqState()
	if w.q == nil {
		return unsup("quantize the weights with QuantizeLinear/DequantizeLinear too", "the bias is quantized but the weight is not")
	}
	q := w.q
	if q.dt != pb.TensorProto_INT8 {
		return unsup("quantize weights to int8 (qint8, symmetric)", "weight type %s: TOSA INT8 convolutions need int8 weights", dtName(q.dt))
	}
	for _, z := range q.zps {
		if z != 0 {
			return unsup("quantize weights symmetrically (qscheme=torch.per_channel_symmetric)", "weight zero point %d: TOSA INT needs symmetric weights (zero point 0)", z)
		}
	}
	axis := 0
	oc := w.shape[0]
	if im.cur.GetOpType() == "ConvTranspose" {
		axis = 1
		oc = w.shape[1]
	}
	ws := make([]float32, oc)
	switch {
	case q.axis < 0:
		for i := range ws {
			ws[i] = q.scales[0]
		}
	case q.axis == axis && len(q.scales) == oc:
		copy(ws, q.scales)
	default:
		return unsup("quantize weights per output channel (ch_axis 0; 1 for ConvTranspose)", "weights quantized along axis %d", q.axis)
	}
	cq := &quant.ConvQ{WeightScales: ws, Weight: make([]int8, len(q.vals)), Axis: axis}
	for i, v := range q.vals {
		cq.Weight[i] = int8(v)
	}
	st.Convs[name] = cq
	if b != nil {
		st.bias[name] = b
	}
	return nil
}

// finish checks the prescribed quantization against the graph vgfq lowers (shared-scale groups,
// conv+activation fusion) and builds the converted model.
func (q *QDQ) finish(im *importer) error {
	g := im.g
	ferr := func(node, format string, args ...any) error {
		r := im.m.Origin[node]
		if r.Name == "" {
			r = NodeRef{Name: node, Op: string(g.Node(node).Op)}
		}
		return &Error{Node: r.Name, Op: r.Op, Err: fmt.Errorf(format, args...)}
	}
	for _, n := range g.Nodes {
		switch n.Op {
		case graph.OpConv2d, graph.OpConvTranspose2d:
			if q.Convs[n.Name] == nil {
				return ferr(n.Name, "a QDQ model must quantize every convolution's weights (QuantizeLinear/DequantizeLinear on the weight)")
			}
		case graph.OpBatchNorm2d:
			return ferr(n.Name, "BatchNormalization in a QDQ model: fold it into the convolution before export (QAT with fused Conv+BN)")
		}
	}
	// An op that keeps its input's values (max pool, nearest resize, concat, ...) shares its
	// input's qparams unless the model quantizes its output differently (PyTorch FX gives max
	// pooling its own observer): then it gets its own, and the lowering requantizes.
	split := map[string]bool{}
	for _, n := range g.Nodes {
		own, ok := q.Act[n.Name]
		if !ok || !quant.SharesInput(n.Op) {
			continue
		}
		for _, in := range n.Inputs {
			if p, ok := q.Act[in]; ok && p != own {
				split[n.Name] = true
			}
		}
	}
	plan, err := quant.Annotate(g, quant.Options{Split: split})
	if err != nil {
		return &Error{Err: err}
	}
	m := &quant.Model{Plan: plan, Graph: g, Convs: q.Convs, Config: quant.Config{}, Version: "qdq"}
	for _, vals := range plan.Groups {
		var qp *quant.QParam
		var from string
		for _, v := range vals {
			p, ok := q.Act[v]
			if !ok {
				continue
			}
			if qp != nil && *qp != p {
				return ferr(v, "its quantization (scale %v, zero point %d) differs from %q's (%v, %d), but TOSA gives them one scale (shared through %s); quantize them identically",
					p.Scale, p.ZP, from, qp.Scale, qp.ZP, groupOps(g, vals))
			}
			qp, from = &p, v
		}
		if qp == nil && len(vals) == 1 && g.Node(vals[0]).Op == graph.OpConst {
			// A constant operand the exporter left in float (x * 0.2, x + 1): int8 from its own
			// range, as an observer on it would give (min/max, affine, eps 2^-16).
			o := quant.NewMinMax(quant.ActInt8.WithEps(quant.Eps16))
			c := g.Params[g.Node(vals[0]).Params["value"]]
			if err := o.Observe(c.Data, c.Shape); err != nil {
				return ferr(vals[0], "constant: %v", err)
			}
			sc, zp := o.QParams()
			qp = &quant.QParam{Scale: sc[0], ZP: zp[0]}
		}
		if qp == nil {
			return ferr(vals[0], "value has no QuantizeLinear/DequantizeLinear: a QDQ model must quantize every activation the INT8 graph holds (values %s)", strings.Join(vals, ", "))
		}
		m.Act = append(m.Act, *qp)
		lo, hi := qp.Range()
		m.Ranges = append(m.Ranges, [2]float32{lo, hi})
	}
	// Bias: int32 at s_in * s_w[c] (an int32 DequantizeLinear bias must have exactly that scale).
	names := make([]string, 0, len(q.Convs))
	for name := range q.Convs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cq := q.Convs[name]
		n := g.Node(name)
		in, ok := m.QParamOf(n.Inputs[0])
		if !ok {
			return ferr(name, "its input %q is not quantized", n.Inputs[0])
		}
		cq.BiasScales = quant.BiasScales(in.Scale, cq.WeightScales)
		b := q.bias[name]
		if b == nil || b.q == nil {
			// A float bias (the graph's, after any folding): int32 at s_in*s_w[c].
			if bn, ok := n.Params["bias"]; ok {
				qb, _, err := quant.QuantizeBias(g.Params[bn].Data, in.Scale, cq.WeightScales)
				if err != nil {
					return ferr(name, "%v", err)
				}
				cq.Bias = qb
			}
			continue
		}
		if b.q != nil {
			if b.q.dt != pb.TensorProto_INT32 {
				return ferr(name, "bias type %s: TOSA INT needs an int32 bias", dtName(b.q.dt))
			}
			cq.Bias = make([]int32, len(b.q.vals))
			for c, v := range b.q.vals {
				s := b.q.scales[0]
				if b.q.axis >= 0 {
					s = b.q.scales[c]
				}
				if b.q.zps[min(c, len(b.q.zps)-1)] != 0 || math.Abs(float64(s)/float64(cq.BiasScales[c])-1) > 1e-6 {
					return ferr(name, "bias channel %d: scale %v zero point %d, want scale s_in*s_w = %v and zero point 0", c, s, b.q.zps[0], cq.BiasScales[c])
				}
				cq.Bias[c] = int32(v)
			}
			continue
		}
	}
	q.Model = m
	return nil
}

func groupOps(g *graph.Graph, vals []string) string {
	seen := map[graph.Op]bool{}
	var ops []string
	for _, v := range vals {
		if n := g.Node(v); n != nil && !seen[n.Op] && n.Op != graph.OpInput {
			seen[n.Op] = true
			ops = append(ops, string(n.Op))
		}
	}
	return strings.Join(ops, ", ")
}
