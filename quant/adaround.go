package quant

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// AdaRound's rectified sigmoid stretch (Nagel et al. 2020, "Up or Down? Adaptive Rounding for
// Post-Training Quantization", eq. 23): h(V) = clip(sigmoid(V)·(ζ-γ) + γ, 0, 1).
// They are float64 variables, not constants, so that ζ-γ is computed in float64 as the
// reference implementations (AIMET, BRECQ) compute it: 1.2000000000000002, not 1.2.
var (
	AdaRoundZeta  = 1.1
	AdaRoundGamma = -0.1
)

// AdaRoundConfig are AdaRound's settings. Zero fields take the defaults in brackets (AIMET's
// defaults except the iteration count, which AIMET sets to 10000).
type AdaRoundConfig struct {
	Iters     int     `json:"iterations"` // optimisation steps per layer [1000]
	Batch     int     `json:"batch"`      // images per step [32]
	Images    int     `json:"images"`     // calibration images used, the first ones [256]
	Lambda    float64 `json:"lambda"`     // weight of the rounding regularizer [0.01]
	BetaStart float64 `json:"beta_start"` // annealing of the regularizer's β [20]
	BetaEnd   float64 `json:"beta_end"`   // [2]
	WarmStart float64 `json:"warm_start"` // fraction of steps without the regularizer [0.2]
	LR        float64 `json:"lr"`         // Adam learning rate [1e-3]
	Seed      uint64  `json:"seed"`       // batch sampling
}

// WithDefaults fills the zero fields.
func (c AdaRoundConfig) WithDefaults() AdaRoundConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Iters == 0 {
		c.Iters = 1000
	}
	if c.Batch == 0 {
		c.Batch = 32
	}
	if c.Images == 0 {
		c.Images = 256
	}
	def(&c.Lambda, 0.01)
	def(&c.BetaStart, 20)
	def(&c.BetaEnd, 2)
	def(&c.WarmStart, 0.2)
	def(&c.LR, 1e-3)
	return c
}

// Validate reports settings that cannot work.
func (c AdaRoundConfig) Validate() error {
	switch {
	case c.Iters < 1 || c.Iters > 1_000_000:
		return fmt.Errorf("iterations %d out of range [1, 1000000]", c.Iters)
	case c.Batch < 1 || c.Batch > 4096:
		return fmt.Errorf("batch %d out of range [1, 4096]", c.Batch)
	case c.Images < 1:
		return fmt.Errorf("images %d must be positive", c.Images)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("lambda %g must be a non-negative number", c.Lambda)
	case !(c.BetaStart >= c.BetaEnd && c.BetaEnd >= 1):
		return fmt.Errorf("beta %g -> %g: want start >= end >= 1", c.BetaStart, c.BetaEnd)
	case !(c.WarmStart >= 0 && c.WarmStart < 1):
		return fmt.Errorf("warm start %g out of range [0, 1)", c.WarmStart)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %g must be positive", c.LR)
	}
	return nil
}

// RectifiedSigmoid is h(V) = clip(sigmoid(V)·(ζ-γ) + γ, 0, 1).
func RectifiedSigmoid(v float64) float64 {
	return math.Min(1, math.Max(0, sigmoid(v)*(AdaRoundZeta-AdaRoundGamma)+AdaRoundGamma))
}

// RectifiedSigmoidGrad is dh/dV: sigmoid(V)(1-sigmoid(V))(ζ-γ) where the clip does not bind
// (torch.clamp's gradient, which passes at the bounds), 0 elsewhere.
func RectifiedSigmoidGrad(v float64) float64 {
	s := sigmoid(v)
	u := s*(AdaRoundZeta-AdaRoundGamma) + AdaRoundGamma
	if u < 0 || u > 1 {
		return 0
	}
	return s * (1 - s) * (AdaRoundZeta - AdaRoundGamma)
}

// RectifiedSigmoidInverse returns V with h(V) = r for r in (0, 1) (AdaRound's initialisation
// from the fractional part of w/s): V = -log((ζ-γ)/(r-γ) - 1).
func RectifiedSigmoidInverse(r float64) float64 {
	return -math.Log((AdaRoundZeta-AdaRoundGamma)/(r-AdaRoundGamma) - 1)
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// RoundingReg is one term of AdaRound's regularizer (eq. 24): 1 - |2h - 1|^β.
func RoundingReg(h, beta float64) float64 { return 1 - math.Pow(math.Abs(2*h-1), beta) }

// RoundingRegGrad is d/dh of RoundingReg: -2β|2h-1|^(β-1)·sign(2h-1).
func RoundingRegGrad(h, beta float64) float64 {
	d := 2*h - 1
	if d == 0 {
		return 0
	}
	g := 2 * beta * math.Pow(math.Abs(d), beta-1)
	if d > 0 {
		return -g
	}
	return g
}

// Beta returns the regularizer's β at step t (0-based) and whether the regularizer is on: off
// during the warm start (the first WarmStart·Iters steps), then β decays linearly from BetaStart
// to BetaEnd over the remaining steps.
func (c AdaRoundConfig) Beta(t int) (float64, bool) {
	warm := c.WarmStart * float64(c.Iters)
	if float64(t) < warm {
		return c.BetaStart, false
	}
	rel := (float64(t) - warm) / (float64(c.Iters) - warm)
	return c.BetaEnd + (c.BetaStart-c.BetaEnd)*math.Max(0, 1-rel), true
}

// AdaRoundLayer reports one layer.
type AdaRoundLayer struct {
	Node    string `json:"node"`
	Weights int    `json:"weights"`
	// Flipped counts weights rounded the other way than round-to-nearest.
	Flipped int `json:"flipped"`
	// Reconstruction error (mean over images and pixels of the squared error summed over output
	// channels, after the fused activation) of the layer's output against float, on the images
	// used, with round-to-nearest and with the learned rounding.
	ReconNearest  float64 `json:"recon_nearest"`
	ReconAdaRound float64 `json:"recon_adaround"`
	// Undecided counts weights whose h(V) ended strictly between 0.01 and 0.99.
	Undecided int `json:"undecided"`
}

// AdaRound learns the rounding of every convolution's int8 weights (Nagel et al. 2020), layer by
// layer in graph order, keeping the weight scales and the int32 bias. For a layer with float
// weights w, per-channel scales s and floor f = ⌊w/s⌋, the soft weights are
// s·clip(f + h(V), -127, 127) with h the rectified sigmoid, V initialised so that h(V) = w/s - f.
// The loss is the reconstruction error of the layer's output after its fused activation, with
// the input the fake-quantized model (earlier layers already rounded) gives it, against the
// float model's output (AIMET's formulation: squared error summed over channels, averaged over
// batch and pixels), plus λ·Σ(1 - |2h(V) - 1|^β) after the warm start, β annealed. Adam on V
// with batches of calibration images drawn by a seeded generator. Finally each weight rounds up
// where h(V) >= 0.5.
func (m *Model) AdaRound(images []*engine.Tensor, cfg AdaRoundConfig) ([]AdaRoundLayer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("adaround: %v", err)
	}
	var used []*engine.Tensor
	n := 0
	for _, t := range images {
		if n >= cfg.Images {
			break
		}
		k := min(t.Shape[0], cfg.Images-n)
		per := len(t.Data) / t.Shape[0]
		used = append(used, engine.FromData(t.Data[:k*per], k, t.Shape[1], t.Shape[2], t.Shape[3]))
		n += k
	}
	batches, err := StackImages(used, 32)
	if err != nil {
		return nil, err
	}
	var reps []AdaRoundLayer
	li := 0
	for _, nd := range m.Graph.Nodes {
		if m.Convs[nd.Name] == nil {
			continue
		}
		rep, err := m.adaroundLayer(nd, batches, cfg, li)
		if err != nil {
			return nil, fmt.Errorf("adaround: node %q: %v", nd.Name, err)
		}
		reps = append(reps, *rep)
		li++
	}
	return reps, nil
}

// layerData is a layer's calibration set: quantized-model inputs and float targets, stacked.
type layerData struct {
	x, y       []float32
	xs, ys     []int // per-image shapes (without N)
	n          int
	xper, yper int
}

func (d *layerData) batch(idx []int) (*engine.Tensor, *engine.Tensor) {
	x := make([]float32, 0, len(idx)*d.xper)
	y := make([]float32, 0, len(idx)*d.yper)
	for _, i := range idx {
		x = append(x, d.x[i*d.xper:(i+1)*d.xper]...)
		y = append(y, d.y[i*d.yper:(i+1)*d.yper]...)
	}
	return engine.FromData(x, append([]int{len(idx)}, d.xs...)...), engine.FromData(y, append([]int{len(idx)}, d.ys...)...)
}

// activation returns the fused activation of conv n as an engine function (identity if none).
func (m *Model) activation(n *graph.Node) (func(*engine.Var) *engine.Var, error) {
	a, ok := m.Plan.Fused[n.Name]
	if !ok {
		return func(v *engine.Var) *engine.Var { return v }, nil
	}
	an := m.Graph.Node(a)
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if an.Attrs.Min != nil {
		lo = *an.Attrs.Min
	}
	if an.Attrs.Max != nil {
		hi = *an.Attrs.Max
	}
	switch an.Op {
	case graph.OpReLU:
		return engine.ReLU, nil
	case graph.OpHardtanh:
		return func(v *engine.Var) *engine.Var { return engine.Hardtanh(v, lo, hi) }, nil
	case graph.OpClamp:
		return func(v *engine.Var) *engine.Var { return engine.Clamp(v, lo, hi) }, nil
	}
	return nil, fmt.Errorf("fused activation %q (%s) is not supported", a, an.Op)
}

// collect runs the calibration batches through the float model (target: the conv's output after
// act) and the current fake-quantized model (input: the conv's input as the quantized model
// sees it).
func (m *Model) collect(nd *graph.Node, batches []*engine.Tensor, act func(*engine.Var) *engine.Var) (*layerData, error) {
	d := &layerData{}
	in := m.Graph.Inputs()[0].Name
	fex := graph.NewExec(m.Graph, false)
	qex := graph.NewExec(m.FakeQuantGraph(), false)
	for _, x := range batches {
		if _, err := fex.Run(map[string]*engine.Var{in: engine.Const(x)}, func(n *graph.Node, out *engine.Var) *engine.Var {
			if n.Name == nd.Name {
				y := act(out).Val
				d.y = append(d.y, y.Data...)
				d.ys = y.Shape[1:]
			}
			return out
		}); err != nil {
			return nil, err
		}
		if _, err := qex.Run(map[string]*engine.Var{in: engine.Const(x)}, func(n *graph.Node, out *engine.Var) *engine.Var {
			if q, ok := m.QParamOf(n.Name); ok {
				out = engine.Const(engine.FromData(FakeQuantTensor(nil, out.Val.Data, q.Scale, q.ZP, q.QMin(), q.QMax(), nil), out.Val.Shape...))
			}
			if n.Name == nd.Inputs[0] {
				d.x = append(d.x, out.Val.Data...)
				d.xs = out.Val.Shape[1:]
			}
			return out
		}); err != nil {
			return nil, err
		}
		d.n += x.Shape[0]
	}
	if d.n == 0 || d.xs == nil || d.ys == nil {
		return nil, fmt.Errorf("no calibration data reached the layer")
	}
	d.xper, d.yper = len(d.x)/d.n, len(d.y)/d.n
	return d, nil
}

func (m *Model) adaroundLayer(nd *graph.Node, batches []*engine.Tensor, cfg AdaRoundConfig, li int) (*AdaRoundLayer, error) {
	cq := m.Convs[nd.Name]
	w := m.Graph.Params[nd.Params["weight"]]
	_, ch, inner, err := channelLayout(len(w.Data), w.Shape, cq.Axis)
	if err != nil {
		return nil, err
	}
	opts, err := nd.ConvOpts()
	if err != nil {
		return nil, err
	}
	act, err := m.activation(nd)
	if err != nil {
		return nil, err
	}
	d, err := m.collect(nd, batches, act)
	if err != nil {
		return nil, err
	}
	var bias *engine.Var
	if cq.Bias != nil {
		b := make([]float32, len(cq.Bias))
		for c := range b {
			b[c] = float32(cq.Bias[c]) * cq.BiasScales[c]
		}
		bias = engine.Const(engine.FromData(b, len(b)))
	}
	conv := func(x, wv *engine.Var) *engine.Var {
		if nd.Op == graph.OpConvTranspose2d {
			return engine.ConvTranspose2d(x, wv, bias, opts)
		}
		return engine.Conv2d(x, wv, bias, opts)
	}
	outC := d.ys[0]
	// recon is the reconstruction error of integer weights q over all the layer's data.
	recon := func(q []int8) (float64, error) {
		wq := make([]float32, len(q))
		for i, v := range q {
			wq[i] = float32(v) * cq.WeightScales[(i/inner)%ch]
		}
		wv := engine.Const(engine.FromData(wq, w.Shape...))
		var sum float64
		all := make([]int, d.n)
		for i := range all {
			all[i] = i
		}
		for lo := 0; lo < d.n; lo += 32 {
			xb, yb := d.batch(all[lo:min(lo+32, d.n)])
			out := act(conv(engine.Const(xb), wv))
			for i, v := range out.Val.Data {
				e := float64(v - yb.Data[i])
				sum += e * e
			}
		}
		return sum / float64(len(d.y)/outC), nil
	}
	// Floor and initial V from the fractional part of w/s (as the quantizer computes w/s).
	nw := len(w.Data)
	floor := make([]float64, nw)
	V := make([]float64, nw)
	for i, x := range w.Data {
		s := cq.WeightScales[(i/inner)%ch]
		ws := float64(x * (1 / s))
		f := math.Floor(ws)
		floor[i] = f
		r := math.Min(math.Max(ws-f, 1e-4), 1-1e-4) // keep V finite
		V[i] = RectifiedSigmoidInverse(r)
	}
	obj := &adaObjective{floor: floor, scales: cq.WeightScales, inner: inner, ch: ch, shape: w.Shape, conv: conv, act: act}
	mom, vel := make([]float64, nw), make([]float64, nw)
	const b1, b2, eps = 0.9, 0.999, 1e-8
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(li)))
	idx := make([]int, min(cfg.Batch, d.n))
	grad := make([]float64, nw)
	for t := 0; t < cfg.Iters; t++ {
		for i := range idx {
			idx[i] = rng.IntN(d.n)
		}
		xb, yb := d.batch(idx)
		beta, regOn := cfg.Beta(t)
		lambda := cfg.Lambda
		if !regOn {
			lambda = 0
		}
		obj.lossGrad(V, xb, yb, lambda, beta, grad)
		// Adam (torch.optim.Adam, no weight decay).
		step := float64(t + 1)
		bc1, bc2 := 1-math.Pow(b1, step), 1-math.Pow(b2, step)
		for i, g := range grad {
			mom[i] = b1*mom[i] + (1-b1)*g
			vel[i] = b2*vel[i] + (1-b2)*g*g
			V[i] -= cfg.LR / bc1 * mom[i] / (math.Sqrt(vel[i])/math.Sqrt(bc2) + eps)
		}
	}
	rep := &AdaRoundLayer{Node: nd.Name, Weights: nw}
	q := make([]int8, nw)
	for i := range q {
		h := RectifiedSigmoid(V[i])
		up := 0.0
		if h >= 0.5 {
			up = 1
		}
		q[i] = int8(math.Min(127, math.Max(-127, floor[i]+up)))
		if q[i] != cq.Weight[i] {
			rep.Flipped++
		}
		if h > 0.01 && h < 0.99 {
			rep.Undecided++
		}
	}
	if rep.ReconNearest, err = recon(cq.Weight); err != nil {
		return nil, err
	}
	if rep.ReconAdaRound, err = recon(q); err != nil {
		return nil, err
	}
	cq.Weight = q
	return rep, nil
}

// adaObjective is AdaRound's per-layer objective as a function of V.
type adaObjective struct {
	floor  []float64
	scales []float32 // per channel
	inner  int       // elements per channel block
	ch     int
	shape  []int
	conv   func(x, w *engine.Var) *engine.Var // the layer with its (fixed) bias
	act    func(*engine.Var) *engine.Var
}

// lossGrad computes, for inputs x and float targets y, the reconstruction loss (squared error
// of act(conv(x, W̃)) against y summed over channels, averaged over batch and pixels) with
// W̃ = s·clip(floor + h(V), -127, 127), the regularizer Σ 1 - |2h(V) - 1|^β, and the gradient
// of recon + lambda·reg with respect to V into grad. The reconstruction gradient comes from the
// engine's autograd (conv backward), the rest is the chain rule written out.
func (o *adaObjective) lossGrad(V []float64, x, y *engine.Tensor, lambda, beta float64, grad []float64) (recon, reg float64) {
	nw := len(V)
	wsoft := make([]float32, nw)
	inRange := make([]bool, nw)
	for i := range wsoft {
		q := o.floor[i] + RectifiedSigmoid(V[i])
		inRange[i] = q >= -127 && q <= 127
		q = math.Min(127, math.Max(-127, q))
		wsoft[i] = float32(q) * o.scales[(i/o.inner)%o.ch]
	}
	wv := engine.Param(engine.FromData(wsoft, o.shape...))
	out := o.act(o.conv(engine.Const(x), wv))
	outC := out.Val.Shape[1]
	loss := engine.MSELoss(out, engine.Const(y))
	loss.Backward()
	// MSELoss averages over channels too; AIMET's loss sums over them.
	recon = float64(loss.Val.Data[0]) * float64(outC)
	gw := wv.Grad.Data
	for i := range grad {
		h := RectifiedSigmoid(V[i])
		var dh float64
		if inRange[i] {
			dh = float64(gw[i]) * float64(outC) * float64(o.scales[(i/o.inner)%o.ch])
		}
		if lambda != 0 {
			reg += RoundingReg(h, beta)
			dh += lambda * RoundingRegGrad(h, beta)
		}
		grad[i] = dh * RectifiedSigmoidGrad(V[i])
	}
	return recon, reg
}
