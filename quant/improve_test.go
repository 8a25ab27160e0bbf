package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// improve.npz comes from tools/golden/improve_gen.py (NumPy / PyTorch 1.13, float64).
type goldenFile struct {
	t *testing.T
	f *npz.Reader
}

func openGolden(t *testing.T) *goldenFile {
	f, err := npz.Open("testdata/improve.npz")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &goldenFile{t, f}
}

func (g *goldenFile) f32(name string) []float32 {
	var v []float32
	if err := g.f.Read(name+".npy", &v); err != nil {
		g.t.Fatalf("%s: %v", name, err)
	}
	return v
}

func (g *goldenFile) f64(name string) []float64 {
	var v []float64
	if err := g.f.Read(name+".npy", &v); err != nil {
		g.t.Fatalf("%s: %v", name, err)
	}
	return v
}

func (g *goldenFile) scalar(name string) float64 {
	var v float64
	if err := g.f.Read(name+".npy", &v); err != nil {
		g.t.Fatalf("%s: %v", name, err)
	}
	return v
}

func closeRel(a, b, rel, abs float64) bool { return math.Abs(a-b) <= abs+rel*math.Abs(b) }

// cleChain is the golden chain conv1 -> ReLU -> conv2 -> ReLU -> conv3 (1x1) as a graph.
func cleChain(t *testing.T, gf *goldenFile) *graph.Graph {
	b := graph.NewBuilder("chain", 1)
	x := b.Input("x", 1, 3, 7, 7)
	c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1})
	r1 := b.ReLU("relu1", c1)
	c2 := b.Conv2d("conv2", r1, graph.ConvSpec{In: 8, Out: 6, Kernel: 3, Padding: 1})
	r2 := b.ReLU("relu2", c2)
	c3 := b.Conv2d("conv3", r2, graph.ConvSpec{In: 6, Out: 4, Kernel: 1})
	g, err := b.Build(c3)
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range []string{"conv1", "conv2", "conv3"} {
		copy(g.Params[name+".weight"].Data, gf.f32("cle_w"+string(rune('1'+k))))
		copy(g.Params[name+".bias"].Data, gf.f32("cle_b"+string(rune('1'+k))))
	}
	return g
}

// TestCLEGolden compares cross-layer equalization with the NumPy implementation of Nagel et al.
// 2019 §4.1: the first pass's factors, the converged factors and weights, and the unchanged
// float function.
func TestCLEGolden(t *testing.T) {
	gf := openGolden(t)
	g := cleChain(t, gf)
	w1, w2 := g.Params["conv1.weight"], g.Params["conv2.weight"]
	s, err := CLEScales(w1.Data, w1.Shape, w2.Data, w2.Shape)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range gf.f64("cle_s12_first") {
		if !closeRel(s[i], want, 1e-12, 0) {
			t.Errorf("first-pass s[%d] = %v, numpy %v", i, s[i], want)
		}
	}
	eg, rep, err := EqualizeCrossLayer(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pairs) != 2 || rep.Pairs[0].First != "conv1" || rep.Pairs[0].Act != "relu1" || rep.Pairs[1].Second != "conv3" {
		t.Fatalf("pairs %+v", rep.Pairs)
	}
	for k, key := range []string{"cle_s12", "cle_s23"} {
		for i, want := range gf.f64(key) {
			if got := float64(rep.Pairs[k].Scales[i]); !closeRel(got, want, 1e-5, 0) {
				t.Errorf("%s[%d] = %v, numpy %v", key, i, got, want)
			}
		}
	}
	for k, name := range []string{"conv1", "conv2", "conv3"} {
		for _, role := range []string{"weight", "bias"} {
			key := "cle_e_" + role[:1] + string(rune('1'+k))
			got := eg.Params[name+"."+role].Data
			for i, want := range gf.f32(key) {
				if !closeRel(float64(got[i]), float64(want), 1e-5, 1e-7) {
					t.Fatalf("%s[%d] = %v, numpy %v", key, i, got[i], want)
				}
			}
		}
	}
	// The input graph is untouched and the equalized graph computes the same function.
	if g.Params["conv1.weight"].Data[0] != gf.f32("cle_w1")[0] {
		t.Error("EqualizeCrossLayer modified its input graph")
	}
	x := engine.FromData(gf.f32("cle_x"), 2, 3, 7, 7)
	y, err := graph.NewExec(eg, false).Forward(engine.Const(x))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range gf.f32("cle_y") {
		if !closeRel(float64(y.Val.Data[i]), float64(want), 1e-4, 1e-5) {
			t.Fatalf("equalized output[%d] = %v, torch (original weights) %v", i, y.Val.Data[i], want)
		}
	}
}

// TestCLENoPairs: a graph without consecutive convolutions is refused with ErrNoCLEPairs, and
// ReLU6 (not positively homogeneous) breaks a chain.
func TestCLENoPairs(t *testing.T) {
	b := graph.NewBuilder("single", 1)
	x := b.Input("x", 1, 3, 8, 8)
	c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 4, Kernel: 3, Padding: 1})
	lo, hi := float32(0), float32(6)
	r := b.Unary(graph.OpHardtanh, "relu6", c1, graph.Attrs{Min: &lo, Max: &hi})
	c2 := b.Conv2d("conv2", r, graph.ConvSpec{In: 4, Out: 3, Kernel: 3, Padding: 1})
	g, err := b.Build(c2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := EqualizeCrossLayer(g); !errors.Is(err, ErrNoCLEPairs) {
		t.Fatalf("err = %v, want ErrNoCLEPairs", err)
	}
}

// TestAdaRoundFunctionsGolden compares the rectified sigmoid, its inverse, the regularizer and
// their gradients with torch autograd.
func TestAdaRoundFunctionsGolden(t *testing.T) {
	gf := openGolden(t)
	v, h, dh := gf.f64("ada_v"), gf.f64("ada_h"), gf.f64("ada_dh")
	for i := range v {
		if got := RectifiedSigmoid(v[i]); !closeRel(got, h[i], 1e-12, 1e-15) {
			t.Errorf("h(%v) = %v, torch %v", v[i], got, h[i])
		}
		if got := RectifiedSigmoidGrad(v[i]); !closeRel(got, dh[i], 1e-12, 1e-15) {
			t.Errorf("h'(%v) = %v, torch %v", v[i], got, dh[i])
		}
	}
	betas, regs, dregs := gf.f64("ada_beta"), gf.f64("ada_reg"), gf.f64("ada_dreg")
	for b, beta := range betas {
		sum := 0.0
		for i := range v {
			hv := RectifiedSigmoid(v[i])
			sum += RoundingReg(hv, beta)
			got := RoundingRegGrad(hv, beta) * RectifiedSigmoidGrad(v[i])
			if want := dregs[b*len(v)+i]; !closeRel(got, want, 1e-9, 1e-12) {
				t.Errorf("beta %v: d reg/dV at V=%v = %v, torch %v", beta, v[i], got, want)
			}
		}
		if !closeRel(sum, regs[b], 1e-12, 1e-12) {
			t.Errorf("beta %v: reg = %v, torch %v", beta, sum, regs[b])
		}
	}
	r, iv := gf.f64("ada_inv_r"), gf.f64("ada_inv_v")
	for i := range r {
		if got := RectifiedSigmoidInverse(r[i]); !closeRel(got, iv[i], 1e-12, 1e-12) {
			t.Errorf("h^-1(%v) = %v, numpy %v", r[i], got, iv[i])
		}
	}
}

// TestAdaRoundObjectiveGolden compares the per-layer objective (reconstruction through conv +
// ReLU with clipping at ±127, plus λ·regularizer) and its gradient with respect to V with torch
// autograd in float64. The engine computes the conv in float32, hence the tolerances.
func TestAdaRoundObjectiveGolden(t *testing.T) {
	gf := openGolden(t)
	w, s, bias := gf.f32("obj_w"), gf.f32("obj_s"), gf.f32("obj_b")
	floor := make([]float64, len(w))
	clipped := 0
	for i, x := range w {
		floor[i] = math.Floor(float64(x * (1 / s[i/27])))
		if floor[i] >= 127 || floor[i] < -127 {
			clipped++
		}
	}
	if clipped == 0 {
		t.Fatal("golden case does not exercise the clip")
	}
	bv := engine.Const(engine.FromData(bias, 4))
	o := &adaObjective{floor: floor, scales: s, inner: 27, ch: 4, shape: []int{4, 3, 3, 3},
		conv: func(x, wv *engine.Var) *engine.Var {
			return engine.Conv2d(x, wv, bv, engine.ConvOpts{Padding: [2]int{1, 1}})
		}, act: engine.ReLU}
	x := engine.FromData(gf.f32("obj_x"), 2, 3, 6, 6)
	y := engine.FromData(gf.f32("obj_y"), 2, 4, 6, 6)
	grad := make([]float64, len(w))
	recon, reg := o.lossGrad(gf.f64("obj_v"), x, y, gf.scalar("obj_lambda"), gf.scalar("obj_beta"), grad)
	if want := gf.scalar("obj_recon"); !closeRel(recon, want, 1e-4, 0) {
		t.Errorf("recon = %v, torch %v", recon, want)
	}
	if want := gf.scalar("obj_reg"); !closeRel(reg, want, 1e-12, 0) {
		t.Errorf("reg = %v, torch %v", reg, want)
	}
	want := gf.f64("obj_grad")
	maxAbs := 0.0
	for _, v := range want {
		maxAbs = math.Max(maxAbs, math.Abs(v))
	}
	for i := range want {
		if !closeRel(grad[i], want[i], 1e-3, 1e-5*maxAbs) {
			t.Errorf("dL/dV[%d] = %v, torch %v", i, grad[i], want[i])
		}
	}
}

// TestAdaRoundBeta checks the schedule: regularizer off during the warm start, then β from
// BetaStart down to BetaEnd linearly.
func TestAdaRoundBeta(t *testing.T) {
	c := AdaRoundConfig{Iters: 100}.WithDefaults()
	if _, on := c.Beta(19); on {
		t.Error("regularizer on during the warm start")
	}
	if b, on := c.Beta(20); !on || b != 20 {
		t.Errorf("Beta(20) = %v %v, want 20 true", b, on)
	}
	if b, _ := c.Beta(60); math.Abs(b-11) > 1e-12 {
		t.Errorf("Beta(60) = %v, want 11", b)
	}
	if b, _ := c.Beta(99); !(b > 2 && b < 2.3) {
		t.Errorf("Beta(99) = %v, want just above 2", b)
	}
}

// TestBiasCorrectionKnownCase: a 1x1 conv y = 1.0·a + 0.3·b + 0.05 with inputs on the int8 grid.
// Per-channel weight scale 1/127 rounds 0.3 to 38/127, so the quantized conv's output mean is off
// by (38/127 - 0.3)·E[b]; bias correction adds exactly that to the bias, which then quantizes to
// round((0.05 - (38/127 - 0.3)·E[b]) / (s_in·s_w)).
func TestBiasCorrectionKnownCase(t *testing.T) {
	bld := graph.NewBuilder("known", 1)
	x := bld.Input("x", 1, 2, 2, 2)
	c := bld.Conv2d("conv", x, graph.ConvSpec{In: 2, Out: 1, Kernel: 1})
	g, err := bld.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	copy(g.Params["conv.weight"].Data, []float32{1, 0.3})
	g.Params["conv.bias"].Data[0] = 0.05
	plan, err := Annotate(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cal := NewCalibrator(plan, Config{Observer: MinMaxRange})
	// Channel a in {0, 1}; channel b in {0, 1} with mean 0.75. min 0, max 1: scale 1/255, zp
	// -128, so 0 and 1 are exact.
	rng := rand.New(rand.NewPCG(1, 2))
	var images []*engine.Tensor
	sumB, nB := 0.0, 0
	for i := 0; i < 16; i++ {
		d := make([]float32, 8)
		for j := range d {
			if j < 4 {
				d[j] = float32(rng.IntN(2))
			} else {
				d[j] = 1
				if (i*4+j)%4 == 0 {
					d[j] = 0
				}
				sumB += float64(d[j])
				nB++
			}
		}
		d[0], d[1] = 0, 1 // both extremes appear
		images = append(images, engine.FromData(d, 1, 2, 2, 2))
	}
	for _, im := range images {
		if err := cal.Observe(im); err != nil {
			t.Fatal(err)
		}
	}
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	cq := m.Convs["conv"]
	if cq.Weight[0] != 127 || cq.Weight[1] != 38 {
		t.Fatalf("int8 weights %v, want [127 38]", cq.Weight)
	}
	inQ, _ := m.QParamOf("x")
	sIn, sW := float64(inQ.Scale), float64(cq.WeightScales[0])
	meanB := sumB / float64(nB)
	wq1 := 38 * float64(cq.WeightScales[0])
	// The measured shift also holds the rounding error of the int32 bias itself.
	shift := (0.3-wq1)*meanB + 0.05 - float64(cq.Bias[0])*float64(cq.BiasScales[0])
	done, skipped, err := m.CorrectBias(images)
	if err != nil || len(skipped) != 0 || len(done) != 1 {
		t.Fatalf("CorrectBias: %v %v %v", done, skipped, err)
	}
	if !closeRel(float64(done[0].Shift[0]), shift, 1e-4, 1e-9) {
		t.Errorf("measured shift %v, want %v", done[0].Shift[0], shift)
	}
	bscale := float64(cq.BiasScales[0])
	if !closeRel(bscale, float64(float32(sIn)*float32(sW)), 1e-7, 0) {
		t.Fatalf("bias scale %v", bscale)
	}
	// Before: round(0.05/bscale); after: round((0.05 + shift)/bscale) (the float bias is first
	// dequantized, so allow one step for that double rounding).
	want := math.RoundToEven((0.05 + shift) / bscale)
	if math.Abs(float64(cq.Bias[0])-want) > 1 {
		t.Errorf("corrected int32 bias %d, want %v (uncorrected %v)", cq.Bias[0], want, math.RoundToEven(0.05/bscale))
	}
	if math.RoundToEven(0.05/bscale) == want {
		t.Fatal("known case too weak: correction does not change the bias")
	}
}

// TestAdaRoundReducesReconstruction: on the upscaler with random calibration images, the learned
// rounding reconstructs every layer's output at least as well as round-to-nearest, and two runs
// give the same weights.
func TestAdaRoundReducesReconstruction(t *testing.T) {
	run := func() ([]AdaRoundLayer, map[string][]int8) {
		g := upscalerForTest(t)
		plan, err := Annotate(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cal := NewCalibrator(plan, Config{Observer: MinMaxRange})
		rng := rand.New(rand.NewPCG(5, 6))
		var images []*engine.Tensor
		for i := 0; i < 16; i++ {
			x := engine.New(1, 3, 8, 8)
			for j := range x.Data {
				x.Data[j] = rng.Float32()
			}
			images = append(images, x)
			if err := cal.Observe(x); err != nil {
				t.Fatal(err)
			}
		}
		m, err := cal.Convert()
		if err != nil {
			t.Fatal(err)
		}
		reps, err := m.AdaRound(images, AdaRoundConfig{Iters: 200, Batch: 4, LR: 1e-2})
		if err != nil {
			t.Fatal(err)
		}
		w := map[string][]int8{}
		for k, cq := range m.Convs {
			w[k] = cq.Weight
		}
		return reps, w
	}
	reps, w1 := run()
	flipped := 0
	for _, r := range reps {
		if r.ReconAdaRound > r.ReconNearest*1.0001 {
			t.Errorf("%s: reconstruction %v with AdaRound, %v with nearest", r.Node, r.ReconAdaRound, r.ReconNearest)
		}
		flipped += r.Flipped
	}
	if flipped == 0 {
		t.Error("AdaRound changed no rounding")
	}
	_, w2 := run()
	for k := range w1 {
		for i := range w1[k] {
			if w1[k][i] != w2[k][i] {
				t.Fatalf("%s: AdaRound is not deterministic", k)
			}
		}
	}
}

func upscalerForTest(t *testing.T) *graph.Graph {
	b := graph.NewBuilder("upscaler", 1)
	x := b.Input("x", 1, 3, 8, 8)
	up := b.Upsample("upsample", x, 2, "bilinear")
	c1 := b.Conv2d("conv1", up, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1})
	r1 := b.ReLU("relu1", c1)
	c2 := b.Conv2d("conv2", r1, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1})
	g, err := b.Build(c2)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestPartialPredictor: with everything selected it computes exactly what FakeQuantPredictor
// computes, with nothing selected exactly the float model.
func TestPartialPredictor(t *testing.T) {
	g := upscalerForTest(t)
	plan, err := Annotate(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cal := NewCalibrator(plan, Config{Observer: MinMaxRange})
	rng := rand.New(rand.NewPCG(7, 8))
	x := engine.New(2, 3, 8, 8)
	for j := range x.Data {
		x.Data[j] = rng.Float32()
	}
	if err := cal.Observe(x); err != nil {
		t.Fatal(err)
	}
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, a, b *engine.Tensor) {
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("%s: element %d: %v vs %v", name, i, a.Data[i], b.Data[i])
			}
		}
	}
	fq, _ := m.FakeQuantPredictor()(x)
	all, _ := m.PartialPredictor(m.All())(x)
	same("all", fq, all)
	fl, _ := graph.NewExec(g, false).Forward(engine.Const(x))
	none, _ := m.PartialPredictor(Selection{})(x)
	same("none", fl.Val, none)
	one, _ := m.PartialPredictor(Selection{Weights: map[string]bool{"conv2": true}})(x)
	differs := false
	for i := range one.Data {
		differs = differs || one.Data[i] != fl.Val.Data[i]
	}
	if !differs {
		t.Error("quantizing conv2's weights changed nothing")
	}
}

// TestImprovementsTransposedAndNoBias: AdaRound handles ConvTranspose2d (channel axis 1) and
// convs without bias; bias correction skips (and reports) the bias-less conv.
func TestImprovementsTransposedAndNoBias(t *testing.T) {
	b := graph.NewBuilder("tconv", 1)
	x := b.Input("x", 1, 3, 6, 6)
	c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 6, Kernel: 3, Padding: 1, NoBias: true})
	r1 := b.ReLU("relu1", c1)
	ct := b.ConvTranspose2d("up", r1, graph.ConvSpec{In: 6, Out: 3, Kernel: 2, Stride: 2})
	g, err := b.Build(ct)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Annotate(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cal := NewCalibrator(plan, Config{Observer: MinMaxRange})
	rng := rand.New(rand.NewPCG(9, 10))
	var images []*engine.Tensor
	for i := 0; i < 8; i++ {
		im := engine.New(1, 3, 6, 6)
		for j := range im.Data {
			im.Data[j] = rng.Float32()
		}
		images = append(images, im)
		if err := cal.Observe(im); err != nil {
			t.Fatal(err)
		}
	}
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	reps, err := m.AdaRound(images, AdaRoundConfig{Iters: 100, Batch: 4, LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || reps[1].Node != "up" {
		t.Fatalf("reports %+v", reps)
	}
	for _, r := range reps {
		if r.ReconAdaRound > r.ReconNearest*1.0001 {
			t.Errorf("%s: reconstruction %v with AdaRound, %v with nearest", r.Node, r.ReconAdaRound, r.ReconNearest)
		}
	}
	done, skipped, err := m.CorrectBias(images)
	if err != nil || len(done) != 1 || done[0].Node != "up" || len(skipped) != 1 || skipped[0] != "conv1" {
		t.Errorf("CorrectBias: %+v %v %v", done, skipped, err)
	}
}
