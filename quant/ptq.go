package quant

import (
	"errors"
	"fmt"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// QParam is a per-tensor affine quantization: real = (q - ZP) * Scale. Int16 marks an a16w8
// activation (ActInt16: int16, [-32767, 32767], ZP 0); otherwise the value is int8 [-128, 127].
type QParam struct {
	Scale float32 `json:"scale"`
	ZP    int32   `json:"zero_point"`
	Int16 bool    `json:"int16,omitempty"`
}

// QMin and QMax are the integer range of the value's dtype.
func (q QParam) QMin() int32 {
	if q.Int16 {
		return ActInt16.QMin
	}
	return -128
}

// QMax is the largest integer of the value's range.
func (q QParam) QMax() int32 {
	if q.Int16 {
		return ActInt16.QMax
	}
	return 127
}

// QuantizeInt quantizes to the value's own range (int8 or int16).
func (q QParam) QuantizeInt(x float32) int32 { return Quantize(x, q.Scale, q.ZP, q.QMin(), q.QMax()) }

// Quantize maps a real value to int8 like ExecuTorch's portable quantize_per_tensor kernel:
// q = clamp(zp + round_half_even(fl32(fl32(1/scale) * x)), -128, 127).
func (q QParam) Quantize(x float32) int8 {
	return int8(Quantize(x, q.Scale, q.ZP, -128, 127))
}

// Dequantize maps int8 back to real: (q - zp) * scale in float32.
func (q QParam) Dequantize(v int8) float32 { return Dequantize(int32(v), q.Scale, q.ZP) }

// DequantizeInt maps an int8 or int16 value back to real.
func (q QParam) DequantizeInt(v int32) float32 { return Dequantize(v, q.Scale, q.ZP) }

// Range returns the real interval the value's integer range covers.
func (q QParam) Range() (lo, hi float32) { return q.DequantizeInt(q.QMin()), q.DequantizeInt(q.QMax()) }

// ConvQ holds a convolution's quantized weights and bias.
type ConvQ struct {
	WeightScales []float32 `json:"weight_scales"` // per output channel
	Weight       []int8    `json:"-"`             // same layout as the float weight
	BiasScales   []float32 `json:"bias_scales"`   // fl32(s_in * s_w[c])
	Bias         []int32   `json:"-"`             // nil when the conv has no bias
	Axis         int       `json:"axis"`          // channel axis of the float weight
}

// ActObserver selects the activation calibrator.
type ActObserver int

// Activation calibrators. HistogramL2 is ExecuTorch's default (TorchAO HistogramObserver);
// the others are vgfq options, not what the reference flow computes.
const (
	HistogramL2 ActObserver = iota
	MinMaxRange
	HistogramMSE
	HistogramPercentile
)

var actObserverNames = map[string]ActObserver{"histogram": HistogramL2, "minmax": MinMaxRange, "mse": HistogramMSE, "percentile": HistogramPercentile}

// ParseActObserver parses histogram | minmax | mse | percentile.
func ParseActObserver(s string) (ActObserver, error) {
	if o, ok := actObserverNames[s]; ok {
		return o, nil
	}
	return 0, fmt.Errorf("unknown calibrator %q (histogram, minmax, mse, percentile)", s)
}

func (o ActObserver) String() string {
	for k, v := range actObserverNames {
		if v == o {
			return k
		}
	}
	return fmt.Sprintf("ActObserver(%d)", int(o))
}

// Config are the PTQ settings. The zero value is ExecuTorch-compatible (eps 2^-16,
// histogram observer with the L2 search).
type Config struct {
	Eps        float32 // 0: Eps16
	Observer   ActObserver
	Percentile float64 // for HistogramPercentile; 0: 99.99
	// A16W8Eps is the int16 observers' eps (a16w8 groups); 0: Eps12, the default epsilon of
	// ExecuTorch's get_symmetric_a16w8_quantization_config.
	A16W8Eps float32
}

// ActInt16Scheme is the a16w8 activation scheme with the configured eps.
func (c Config) ActInt16Scheme() Scheme {
	if c.A16W8Eps == 0 {
		return ActInt16
	}
	return ActInt16.WithEps(c.A16W8Eps)
}

func (c Config) eps() float32 {
	if c.Eps == 0 {
		return Eps16
	}
	return c.Eps
}

// Calibrator runs a float graph on representative inputs and observes every quantized value.
type Calibrator struct {
	Plan   *Plan
	Config Config
	obs    []Observer
	exec   *graph.Exec
	images int
}

// NewCalibrator prepares the observers of plan (quant-numerics.md §2: one observer per group).
func NewCalibrator(plan *Plan, cfg Config) *Calibrator {
	c := &Calibrator{Plan: plan, Config: cfg, exec: graph.NewExec(plan.Graph, false)}
	c.exec.HookRetainsNothing = true // the observers only read the values
	act := ActInt8.WithEps(cfg.eps())
	for range plan.Groups {
		var o Observer
		switch cfg.Observer {
		case MinMaxRange:
			o = NewMinMax(act)
		default:
			h := NewHistogram(act)
			switch cfg.Observer {
			case HistogramMSE:
				h.SetCalibration(Calibration{Kind: CalibMSE})
			case HistogramPercentile:
				p := cfg.Percentile
				if p == 0 {
					p = 99.99
				}
				h.SetCalibration(Calibration{Kind: CalibPercentile, Percentile: p})
			}
			o = h
		}
		c.obs = append(c.obs, o)
	}
	return c
}

// Images returns the number of calibration images observed so far.
func (c *Calibrator) Images() int { return c.images }

// Observe runs one calibration batch (N x C x H x W float) through the graph and feeds every
// quantized value to its group's observer, in graph order (so a group sees e.g. x, then the
// bilinear upsample of x, as PT2E's shared observer does).
func (c *Calibrator) Observe(x *engine.Tensor) error {
	var obsErr error
	hook := func(n *graph.Node, out *engine.Var) *engine.Var {
		if obsErr != nil {
			return out
		}
		if id, ok := c.Plan.Group[n.Name]; ok {
			if hasInf(out.Val.Data) {
				// TorchAO's histogram silently drops ±inf; an infinite activation means the
				// float model overflows, which no quantization can represent: stop here.
				obsErr = fmt.Errorf("calibration image %d: infinite activation at node %q (%s); the float model overflows — check its weights and input range", c.images+1, n.Name, n.Op)
				return out
			}
			if err := c.obs[id].Observe(out.Val.Data, out.Val.Shape); err != nil {
				if errors.Is(err, ErrNaN) {
					obsErr = fmt.Errorf("calibration image %d: NaN activation at node %q (%s); check the model weights and inputs", c.images+1, n.Name, n.Op)
				} else {
					obsErr = fmt.Errorf("calibration image %d: node %q: %v", c.images+1, n.Name, err)
				}
			}
			return out
		}
		return out
	}
	ins := c.Plan.Graph.Inputs()
	if len(ins) != 1 {
		return fmt.Errorf("graph %q has %d inputs; calibration supports 1", c.Plan.Graph.Name, len(ins))
	}
	for _, v := range x.Data {
		if v != v || v > 3.4e38 || v < -3.4e38 {
			return fmt.Errorf("calibration image %d: input holds NaN or Inf", c.images+1)
		}
	}
	if _, err := c.exec.Run(map[string]*engine.Var{ins[0].Name: engine.Const(x)}, hook); err != nil {
		return err
	}
	if obsErr != nil {
		return obsErr
	}
	c.images += x.Shape[0]
	return nil
}

// Model is a converted (quantized) model: the float graph plus every value's qparams and every
// conv's int8 weights and int32 bias.
type Model struct {
	Plan    *Plan
	Graph   *graph.Graph
	Act     []QParam          // per observer group
	Ranges  [][2]float32      // per group: the observed min/max
	Convs   map[string]*ConvQ // by conv node name
	Config  Config
	Images  int // calibration images
	Version string
}

// QParamOf returns the qparams of a value (node output), or false when the value is not
// quantized on its own (a conv whose activation is fused).
func (m *Model) QParamOf(name string) (QParam, bool) {
	id, ok := m.Plan.Group[name]
	if !ok {
		return QParam{}, false
	}
	return m.Act[id], true
}

// Convert computes qparams from the observers and quantizes weights (per-channel symmetric
// int8, [-127,127]) and biases (int32, scale fl32(s_in*s_w[c])) as convert_pt2e does (§1.6).
func (c *Calibrator) Convert() (*Model, error) {
	if c.images == 0 {
		return nil, errors.New("no calibration images were observed")
	}
	act := make([]QParam, len(c.obs))
	for id, o := range c.obs {
		s, zp := o.QParams()
		act[id] = QParam{Scale: s[0], ZP: zp[0]}
	}
	return c.convert(act)
}

// convert builds the model for the given activation qparams (one per group).
func (c *Calibrator) convert(act []QParam) (*Model, error) {
	if c.images == 0 {
		return nil, errors.New("no calibration images were observed")
	}
	m := &Model{Plan: c.Plan, Graph: c.Plan.Graph, Convs: map[string]*ConvQ{}, Config: c.Config, Images: c.images, Act: act}
	for _, o := range c.obs {
		mn, mx := o.MinMax()
		m.Ranges = append(m.Ranges, [2]float32{mn[0], mx[0]})
	}
	g := c.Plan.Graph
	wscheme := WeightInt8.WithEps(c.Config.eps())
	for _, n := range g.Nodes {
		if c.Plan.Float[n.Name] || (n.Op != graph.OpConv2d && n.Op != graph.OpConvTranspose2d) {
			continue
		}
		in, ok := m.QParamOf(n.Inputs[0])
		if !ok {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("input %q has no quantization parameters", n.Inputs[0])}
		}
		w := g.Params[n.Params["weight"]]
		axis := 0
		if n.Op == graph.OpConvTranspose2d {
			if n.Attrs.Groups > 1 {
				return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("grouped ConvTranspose2d is not supported by the quantizer; use groups 1")}
			}
			axis = 1
		}
		wo := NewPerChannelMinMax(wscheme, axis)
		if err := wo.Observe(w.Data, w.Shape); err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("weight: %v", err)}
		}
		ws, _ := wo.QParams()
		qw, err := QuantizePerChannel(w.Data, w.Shape, axis, ws, nil, -127, 127)
		if err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("weight: %v", err)}
		}
		cq := &ConvQ{WeightScales: ws, Weight: make([]int8, len(qw)), Axis: axis}
		for i, v := range qw {
			cq.Weight[i] = int8(v)
		}
		cq.BiasScales = BiasScales(in.Scale, ws)
		if bn, ok := n.Params["bias"]; ok {
			qb, _, err := QuantizeBias(g.Params[bn].Data, in.Scale, ws)
			if err != nil {
				return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("bias: %v", err)}
			}
			cq.Bias = qb
		}
		m.Convs[n.Name] = cq
	}
	return m, nil
}

// FakeQuantGraph returns a copy of the float graph whose conv weights and biases are replaced by
// their dequantized int8/int32 values (what the converted PT2E reference model computes with).
func (m *Model) FakeQuantGraph() *graph.Graph { return m.PartialFakeQuantGraph(m.All().Weights) }

// FakeQuantPredictor returns a function that runs the fake-quantized model: dequantized weights,
// and every quantized value passed through quantize/dequantize with its qparams.
func (m *Model) FakeQuantPredictor() func(x *engine.Tensor) (*engine.Tensor, error) {
	return m.PartialPredictor(m.All())
}
