package quant

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// QATConfig are the quantization-aware-training settings. The zero value is the reference
// behaviour (TorchAO prepare_qat_pt2e + convert_pt2e with ExecuTorch's TOSA quantizer config,
// is_qat=True): observers and fake-quant always on, export qparams from the observers' §1.1
// formula with eps 2^-16.
type QATConfig struct {
	Eps float32 // observer eps (export qparams and weight scales); 0: Eps16
	// ExportTrainedQParams exports every activation with exactly the (scale, zero point) the
	// model was last trained with (ATen's ChooseQuantizationParams) instead of recomputing them
	// with the observer formula as convert_pt2e does. A vgfq option, not the reference.
	ExportTrainedQParams bool
	// LSQ replaces the activation fake-quants by learnable ones ([LearnableFakeQuant], LSQ with
	// gradient scaling): static range estimates first, then scale and zero point are trained
	// (SetLSQLearning) and exported as learned. A vgfq option, not the reference.
	LSQ bool
}

func (c QATConfig) eps() float32 {
	if c.Eps == 0 {
		return Eps16
	}
	return c.Eps
}

// QAT is a float graph prepared for quantization-aware training on the same annotation as PTQ
// (spec §2, §3): a [FusedFakeQuant] per observer group, applied wherever PTQ observes (a group
// shared by several values, such as an input and its bilinear upsample, is one module called
// once per value in graph order, as PT2E's shared fake-quant), and a [WeightFakeQuant] per
// convolution weight. Biases stay float. Conv2d followed by BatchNorm2d is trained with
// TorchAO's QAT conv-BN pattern (see [QAT.ConvBN]) and folded at Convert.
//
// Run the graph through [QAT.Exec]; its hooks fake-quantize in the forward pass and pass
// gradients straight through (masked at the clamp edges) in the backward pass. Every forward
// pass updates the observers (training and evaluation alike: TorchAO's
// move_exported_model_to_eval only switches dropout/BatchNorm, not the fake-quant modules),
// until [QAT.SetObservers](false).
type QAT struct {
	Plan    *Plan
	Graph   *graph.Graph // the float graph being trained (its parameters are updated in place)
	Config  QATConfig
	Act     []*FusedFakeQuant           // per observer group
	LSQ     []*LearnableFakeQuant       // per observer group, with QATConfig.LSQ (replacing Act)
	Weights map[string]*WeightFakeQuant // per quantized conv node
	// ConvBN maps a Conv2d to the BatchNorm2d that follows it (trained with the QAT conv-BN
	// pattern, folded at Convert); BNOf is the inverse.
	ConvBN map[string]string
	BNOf   map[string]string
	// Images counts the images seen by forward passes with observers on.
	Images int
	err    error
	sf     map[*graph.Exec]map[string]*engine.Var // conv-BN scale factors of the running forward pass
}

// PrepareQAT prepares g (shapes inferred) for QAT: annotate like PTQ (BatchNorm2d after a conv
// is treated as folded into it, as the annotation of the conv-BN QAT pattern does), then create
// the fake-quant modules.
func PrepareQAT(g *graph.Graph, opt Options, cfg QATConfig) (*QAT, error) {
	folded, _, err := graph.FoldBatchNorm(g)
	if err != nil {
		return nil, err
	}
	plan, err := Annotate(folded, opt)
	if err != nil {
		return nil, err
	}
	q := &QAT{Plan: plan, Graph: g, Config: cfg, Weights: map[string]*WeightFakeQuant{}, ConvBN: map[string]string{}, BNOf: map[string]string{}}
	// Conv-BN pairs are the BatchNorm nodes FoldBatchNorm removed.
	for _, n := range g.Nodes {
		if n.Op == graph.OpBatchNorm2d && folded.Node(n.Name) == nil {
			q.ConvBN[n.Inputs[0]] = n.Name
			q.BNOf[n.Name] = n.Inputs[0]
		}
	}
	for range plan.Groups {
		q.Act = append(q.Act, NewFusedFakeQuant(cfg.eps()))
		if cfg.LSQ {
			q.LSQ = append(q.LSQ, NewLearnableFakeQuant(cfg.eps()))
		}
	}
	for _, n := range folded.Nodes {
		if plan.Float[n.Name] || (n.Op != graph.OpConv2d && n.Op != graph.OpConvTranspose2d) {
			continue
		}
		axis := 0
		if n.Op == graph.OpConvTranspose2d {
			if n.Attrs.Groups > 1 {
				return nil, fmt.Errorf("node %q: grouped ConvTranspose2d is not supported by the quantizer", n.Name)
			}
			axis = 1
		}
		q.Weights[n.Name] = NewWeightFakeQuant(cfg.eps(), axis)
	}
	if len(q.ConvBN) > 0 {
		for conv := range q.ConvBN {
			if q.Graph.Node(conv).Params["weight"] == "" {
				return nil, fmt.Errorf("node %q: conv without weight", conv)
			}
		}
	}
	return q, nil
}

// SetObservers enables or disables every observer (activation EMAs and weight ranges); with
// observers off the qparams are frozen (torchao's disable_observer applied to the model).
func (q *QAT) SetObservers(on bool) {
	for _, a := range q.Act {
		a.ObserverEnabled = on
	}
	for _, w := range q.Weights {
		w.ObserverEnabled = on
	}
}

// SetLSQLearning switches the learnable fake-quants (QATConfig.LSQ) from static range
// estimation to training their scale and zero point (torch's enable_param_learning), or back.
func (q *QAT) SetLSQLearning(on bool) {
	for _, l := range q.LSQ {
		l.Static = !on
	}
}

// LSQParams returns the learnable scales and zero points (QATConfig.LSQ; nil otherwise), to be
// trained with the model's parameters.
func (q *QAT) LSQParams() []*engine.Var {
	var ps []*engine.Var
	for _, l := range q.LSQ {
		ps = append(ps, l.Scale, l.ZP)
	}
	return ps
}

// SetFakeQuant enables or disables fake quantization (observers keep running if enabled).
func (q *QAT) SetFakeQuant(on bool) {
	for _, a := range q.Act {
		a.FakeQuantEnabled = on
	}
	for _, w := range q.Weights {
		w.FakeQuantEnabled = on
	}
}

// Err returns (and clears) the first error a hook met during the last forward passes (a NaN
// activation names its node). Hooks cannot return errors; Exec callers check Err after Run.
func (q *QAT) Err() error {
	err := q.err
	q.err = nil
	return err
}

// groupOf returns the observer group of a node output in the executed graph: a BatchNorm2d
// folded into its conv takes the conv's place; the conv itself is then not observed.
func (q *QAT) groupOf(n *graph.Node) (int, bool) {
	if _, ok := q.ConvBN[n.Name]; ok {
		return 0, false
	}
	name := n.Name
	if c, ok := q.BNOf[n.Name]; ok {
		name = c
	}
	id, ok := q.Plan.Group[name]
	return id, ok
}

// Exec returns an executor of the prepared graph: with grads, parameters require gradients and
// BatchNorm uses batch statistics (training); without, inference (evaluation passes still
// update the observers, as in the reference).
func (q *QAT) Exec(grads bool) *graph.Exec {
	ex := graph.NewExec(q.Graph, grads)
	ex.Train = grads
	ex.Hook = func(n *graph.Node, out *engine.Var) *engine.Var { return q.hook(ex, n, out) }
	ex.ParamHook = func(n *graph.Node, role string, v *engine.Var) *engine.Var { return q.paramHook(ex, n, role, v) }
	return ex
}

func (q *QAT) fail(n *graph.Node, err error) {
	if q.err != nil {
		return
	}
	if errors.Is(err, ErrNaN) {
		q.err = fmt.Errorf("NaN activation at node %q (%s)", n.Name, n.Op)
		return
	}
	q.err = fmt.Errorf("node %q (%s): %v", n.Name, n.Op, err)
}

func (q *QAT) hook(ex *graph.Exec, n *graph.Node, out *engine.Var) *engine.Var {
	if _, ok := q.ConvBN[n.Name]; ok {
		return q.convBNOut(ex, n, out)
	}
	id, ok := q.groupOf(n)
	if !ok {
		return out
	}
	if n.Op == graph.OpInput {
		q.Images += out.Val.Shape[0]
	}
	if q.LSQ != nil {
		y, err := q.LSQ[id].Apply(out)
		if err != nil {
			q.fail(n, err)
			return out
		}
		return y
	}
	x := out.Val.Data
	y := engine.New(out.Val.Shape...)
	mask := make([]bool, len(x))
	if err := q.Act[id].Forward(x, y.Data, mask); err != nil {
		q.fail(n, err)
		return out
	}
	if !q.Act[id].FakeQuantEnabled {
		return out
	}
	return engine.StraightThrough(out, y, mask)
}

func (q *QAT) paramHook(ex *graph.Exec, n *graph.Node, role string, v *engine.Var) *engine.Var {
	wfq := q.Weights[n.Name]
	if wfq == nil {
		return v
	}
	switch role {
	case "weight":
		if _, ok := q.ConvBN[n.Name]; ok {
			v = q.convBNWeight(ex, n, v)
		}
		y := engine.New(v.Val.Shape...)
		mask := make([]bool, len(y.Data))
		if err := wfq.Forward(v.Val.Data, v.Val.Shape, y.Data, mask); err != nil {
			q.fail(n, err)
			return v
		}
		if !wfq.FakeQuantEnabled {
			return v
		}
		return engine.StraightThrough(v, y, mask)
	case "bias":
		if _, ok := q.ConvBN[n.Name]; ok {
			return nil // the conv of the QAT conv-BN pattern runs without bias; it is added after
		}
	}
	return v
}

// ActQParams describes one activation group's qparams at convert: what the model was trained
// with and what is exported.
type ActQParams struct {
	Group       int      `json:"group"`
	Values      []string `json:"values"`
	Min         float32  `json:"ema_min"`
	Max         float32  `json:"ema_max"`
	TrainScale  float32  `json:"train_scale"`
	TrainZP     int32    `json:"train_zero_point"`
	ExportScale float32  `json:"export_scale"`
	ExportZP    int32    `json:"export_zero_point"`
	ScaleULPs   int64    `json:"scale_diff_ulps"` // export - train, in float32 ulps
	RelDiff     float64  `json:"scale_rel_diff"`
	Exported    string   `json:"exported"` // "observer" (§1.1, the reference) or "trained"
}

// Convert turns the trained model into a converted [Model] as convert_pt2e does: activation
// qparams from each fake-quant's observer (§1.1 with eps; or the trained ones with
// ExportTrainedQParams), weights quantized per channel with the weight fake-quant's scales,
// biases int32 at fl32(s_in * s_w[c]); conv-BN pairs are folded first (running statistics).
// The returned table compares training-time and exported activation qparams per group. The
// model's graph is a copy: training may continue without changing it.
func (q *QAT) Convert() (*Model, []ActQParams, error) {
	for i, a := range q.Act {
		if q.LSQ != nil {
			break
		}
		if math.IsInf(float64(a.Min), 1) {
			return nil, nil, fmt.Errorf("observer group %d (%v) never saw data: run forward passes before Convert", i, q.Plan.Groups[i])
		}
	}
	fg, _, err := graph.FoldBatchNorm(q.Graph)
	if err != nil {
		return nil, nil, err
	}
	var keep []string
	for n := range q.Plan.Float {
		keep = append(keep, n)
	}
	sort.Strings(keep)
	plan, err := Annotate(fg, Options{KeepFloat: keep})
	if err != nil {
		return nil, nil, err
	}
	if len(plan.Groups) != len(q.Act) {
		return nil, nil, fmt.Errorf("quant: convert found %d observer groups, training had %d", len(plan.Groups), len(q.Act))
	}
	m := &Model{Plan: plan, Graph: fg, Convs: map[string]*ConvQ{}, Config: Config{Eps: q.Config.Eps}, Images: q.Images}
	var table []ActQParams
	for i, a := range q.Act {
		es, ez := a.ExportQParams()
		r := ActQParams{Group: i, Values: plan.Groups[i], Min: a.Min, Max: a.Max, TrainScale: a.Scale, TrainZP: a.ZP,
			ExportScale: es, ExportZP: ez, Exported: "observer"}
		r.ScaleULPs = int64(math.Float32bits(es)) - int64(math.Float32bits(a.Scale))
		r.RelDiff = float64(es)/float64(a.Scale) - 1
		if q.Config.ExportTrainedQParams {
			es, ez = a.Scale, a.ZP
			r.Exported = "trained"
		}
		if q.LSQ != nil {
			l := q.LSQ[i]
			if uninitialised(l.Obs.Min, l.Obs.Max) {
				return nil, nil, fmt.Errorf("observer group %d (%v) never saw data: run forward passes before Convert", i, q.Plan.Groups[i])
			}
			es, ez = l.QParams()
			r = ActQParams{Group: i, Values: plan.Groups[i], Min: l.Obs.Min, Max: l.Obs.Max, TrainScale: es, TrainZP: ez,
				ExportScale: es, ExportZP: ez, Exported: "learned (LSQ)"}
		}
		table = append(table, r)
		m.Act = append(m.Act, QParam{Scale: es, ZP: ez})
		m.Ranges = append(m.Ranges, [2]float32{r.Min, r.Max})
	}
	for _, n := range fg.Nodes {
		wfq := q.Weights[n.Name]
		if wfq == nil {
			continue
		}
		if wfq.Scales == nil {
			return nil, nil, fmt.Errorf("node %q: weight fake-quant never ran", n.Name)
		}
		in, ok := m.QParamOf(n.Inputs[0])
		if !ok {
			return nil, nil, fmt.Errorf("node %q: input %q has no quantization parameters", n.Name, n.Inputs[0])
		}
		w := fg.Params[n.Params["weight"]]
		ws := append([]float32(nil), wfq.Scales...)
		qw, err := QuantizePerChannel(w.Data, w.Shape, wfq.Obs.Axis, ws, nil, -127, 127)
		if err != nil {
			return nil, nil, fmt.Errorf("node %q weight: %v", n.Name, err)
		}
		cq := &ConvQ{WeightScales: ws, Weight: make([]int8, len(qw)), Axis: wfq.Obs.Axis}
		for i, v := range qw {
			cq.Weight[i] = int8(v)
		}
		cq.BiasScales = BiasScales(in.Scale, ws)
		if bn, ok := n.Params["bias"]; ok {
			qb, _, err := QuantizeBias(fg.Params[bn].Data, in.Scale, ws)
			if err != nil {
				return nil, nil, fmt.Errorf("node %q bias: %v", n.Name, err)
			}
			cq.Bias = qb
		}
		m.Convs[n.Name] = cq
	}
	return m, table, nil
}

// State returns the fake-quant state (running ranges, training-time qparams, enable flags) as
// named tensors, for checkpoints; LoadState restores it.
func (q *QAT) State() map[string]*engine.Tensor {
	st := map[string]*engine.Tensor{}
	b := func(v bool) float32 {
		if v {
			return 1
		}
		return 0
	}
	for i, a := range q.Act {
		// zero point and call count are small integers, exact in float32 up to 2^24; calls are
		// stored split to stay exact beyond that.
		st[fmt.Sprintf("act%d", i)] = engine.FromData([]float32{a.Min, a.Max, a.Scale, float32(a.ZP),
			b(a.ObserverEnabled), b(a.FakeQuantEnabled), float32(a.Calls >> 24), float32(a.Calls & (1<<24 - 1))}, 8)
	}
	for name, w := range q.Weights {
		if w.Obs.Min != nil {
			st["wmin/"+name] = engine.FromData(append([]float32(nil), w.Obs.Min...), len(w.Obs.Min))
			st["wmax/"+name] = engine.FromData(append([]float32(nil), w.Obs.Max...), len(w.Obs.Max))
			st["wscale/"+name] = engine.FromData(append([]float32(nil), w.Scales...), len(w.Scales))
		}
		st["wflags/"+name] = engine.FromData([]float32{b(w.ObserverEnabled), b(w.FakeQuantEnabled)}, 2)
	}
	for i, l := range q.LSQ {
		st[fmt.Sprintf("lsq%d", i)] = engine.FromData([]float32{l.Scale.Val.Data[0], l.ZP.Val.Data[0], l.Obs.Min, l.Obs.Max, b(l.Static)}, 5)
	}
	st["images"] = engine.FromData([]float32{float32(q.Images >> 24), float32(q.Images & (1<<24 - 1))}, 2)
	return st
}

// LoadState restores State's tensors; every mismatch with the prepared graph is an error.
func (q *QAT) LoadState(st map[string]*engine.Tensor) error {
	get := func(key string, n int) ([]float32, error) {
		t, ok := st[key]
		if !ok {
			return nil, fmt.Errorf("QAT state: missing %q", key)
		}
		if n >= 0 && len(t.Data) != n {
			return nil, fmt.Errorf("QAT state: %q has %d values, want %d", key, len(t.Data), n)
		}
		return t.Data, nil
	}
	want := len(q.Act) + len(q.LSQ) + 1
	for name := range q.Weights {
		want++
		if _, ok := st["wmin/"+name]; ok {
			want += 3
		}
	}
	if len(st) != want {
		return fmt.Errorf("QAT state: %d tensors, the prepared graph needs %d (a checkpoint of another model?)", len(st), want)
	}
	for i, a := range q.Act {
		v, err := get(fmt.Sprintf("act%d", i), 8)
		if err != nil {
			return err
		}
		initial := math.IsInf(float64(v[0]), 1) && math.IsInf(float64(v[1]), -1)
		if !initial && !(v[0] <= v[1]) || !(v[2] > 0 && v[2] <= math.MaxFloat32) || !(v[3] >= float32(a.QMin) && v[3] <= float32(a.QMax)) ||
			!(v[6] >= 0 && v[6] < 1<<24 && v[7] >= 0 && v[7] < 1<<24) {
			return fmt.Errorf("QAT state: act%d holds an invalid range or qparams %v", i, v)
		}
		a.Min, a.Max, a.Scale, a.ZP = v[0], v[1], v[2], int32(v[3])
		a.ObserverEnabled, a.FakeQuantEnabled = v[4] != 0, v[5] != 0
		a.Calls = int64(v[6])<<24 | int64(v[7])
	}
	for name, w := range q.Weights {
		f, err := get("wflags/"+name, 2)
		if err != nil {
			return err
		}
		w.ObserverEnabled, w.FakeQuantEnabled = f[0] != 0, f[1] != 0
		if _, ok := st["wmin/"+name]; !ok {
			continue
		}
		ch := q.Graph.Params[q.Graph.Node(name).Params["weight"]].Shape[w.Obs.Axis]
		mn, err := get("wmin/"+name, ch)
		if err != nil {
			return err
		}
		mx, err := get("wmax/"+name, ch)
		if err != nil {
			return err
		}
		sc, err := get("wscale/"+name, ch)
		if err != nil {
			return err
		}
		for c := range sc {
			if !(sc[c] > 0 && sc[c] <= math.MaxFloat32) || !(mn[c] <= mx[c]) {
				return fmt.Errorf("QAT state: %s channel %d holds an invalid range or scale", name, c)
			}
		}
		w.Obs.Min = append([]float32(nil), mn...)
		w.Obs.Max = append([]float32(nil), mx...)
		w.Scales = append([]float32(nil), sc...)
	}
	for i, l := range q.LSQ {
		v, err := get(fmt.Sprintf("lsq%d", i), 5)
		if err != nil {
			return err
		}
		initial := math.IsInf(float64(v[2]), 1) && math.IsInf(float64(v[3]), -1)
		if !(v[0] > 0 && v[0] <= math.MaxFloat32) || !(v[1] >= -1e6 && v[1] <= 1e6) || !initial && !(v[2] <= v[3]) {
			return fmt.Errorf("QAT state: lsq%d holds an invalid scale, zero point or range %v", i, v)
		}
		l.Scale.Val.Data[0], l.ZP.Val.Data[0], l.Obs.Min, l.Obs.Max, l.Static = v[0], v[1], v[2], v[3], v[4] != 0
	}
	im, err := get("images", 2)
	if err != nil {
		return err
	}
	if !(im[0] >= 0 && im[0] < 1<<24 && im[1] >= 0 && im[1] < 1<<24) {
		return fmt.Errorf("QAT state: invalid image count %v", im)
	}
	q.Images = int(im[0])<<24 | int(im[1])
	return nil
}

// The QAT conv-BN pattern (TorchAO qat_utils._qat_conv_bn_pattern, spec §3), split across the
// conv's weight and output hooks:
//
//	running_std = sqrt(running_var + eps); sf = gamma / running_std
//	y = conv(x, fakequant(w * sf[:,None,None,None]), no bias) / sf[None,:,None,None] + b[None,:,None,None]
//	y = batch_norm(y, training)          (the BatchNorm2d node itself, run by the executor)
//
// sf carries the gradient to gamma; the running statistics are buffers.
func (q *QAT) convBNScale(ex *graph.Exec, conv *graph.Node) *engine.Var {
	bn := q.Graph.Node(q.ConvBN[conv.Name])
	rv := q.Graph.Params[bn.Params["running_var"]]
	eps := bn.Attrs.Eps
	std := engine.New(len(rv.Data))
	for i, v := range rv.Data {
		std.Data[i] = float32(math.Sqrt(float64(v + eps)))
	}
	var gamma *engine.Var
	if p, ok := bn.Params["weight"]; ok {
		gamma = ex.Vars[p]
	} else {
		one := engine.New(len(rv.Data))
		for i := range one.Data {
			one.Data[i] = 1
		}
		gamma = engine.Const(one)
	}
	return engine.Div(gamma, engine.Const(std))
}

func (q *QAT) convBNWeight(ex *graph.Exec, conv *graph.Node, w *engine.Var) *engine.Var {
	sf := q.convBNScale(ex, conv)
	if q.sf == nil {
		q.sf = map[*graph.Exec]map[string]*engine.Var{}
	}
	if q.sf[ex] == nil {
		q.sf[ex] = map[string]*engine.Var{}
	}
	q.sf[ex][conv.Name] = sf
	shape := make([]int, len(w.Shape()))
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = -1
	if conv.Op == graph.OpConvTranspose2d {
		shape[0], shape[1] = 1, -1
	}
	shape[q.Weights[conv.Name].Obs.Axis] = len(sf.Val.Data)
	return engine.Mul(w, engine.Reshape(sf, shape...))
}

func (q *QAT) convBNOut(ex *graph.Exec, conv *graph.Node, out *engine.Var) *engine.Var {
	sf := q.sf[ex][conv.Name]
	if sf == nil {
		q.fail(conv, errors.New("conv-BN scale missing (weight hook did not run)"))
		return out
	}
	c := len(sf.Val.Data)
	y := engine.Div(out, engine.Reshape(sf, 1, c, 1, 1))
	if p, ok := conv.Params["bias"]; ok {
		y = engine.Add(y, engine.Reshape(ex.Vars[p], 1, c, 1, 1))
	}
	return y
}
