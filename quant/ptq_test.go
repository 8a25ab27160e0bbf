package quant_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/zoo"
)

func randImage(rng *rand.Rand) *engine.Tensor {
	x := engine.New(1, 3, 16, 16)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	return x
}

// TestUpscalerPlan checks the observer groups of the tutorial model (quant-numerics.md §2):
// G_in = {x, upsample}, relu1, relu2, conv3; conv1/conv2 fused with their ReLUs.
func TestUpscalerPlan(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	p, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "group 0: x, upsample\ngroup 1: relu1\ngroup 2: relu2\ngroup 3: conv3\nfused: conv1+relu1, conv2+relu2\n"
	if p.String() != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", p, want)
	}
}

// TestSharedInputObserverSeesBoth checks that G_in's histogram observes x and then up(x), as
// the PT2E observer shared by the input edge and the upsample output does.
func TestSharedInputObserverSeesBoth(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	p, _ := quant.Annotate(g, quant.Options{})
	cal := quant.NewCalibrator(p, quant.Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	x := randImage(rng)
	if err := cal.Observe(x); err != nil {
		t.Fatal(err)
	}
	h := quant.NewHistogram(quant.ActInt8)
	h.Observe(x.Data, x.Shape)
	up := engine.Resize(engine.Const(x), engine.ResizeOpts{Mode: engine.ResizeBilinear, OutH: 32, OutW: 32, ScaleH: 2, ScaleW: 2}).Val
	h.Observe(up.Data, up.Shape)
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	s, zp := h.QParams()
	if m.Act[0].Scale != s[0] || m.Act[0].ZP != zp[0] {
		t.Fatalf("G_in qparams %+v, want %v %v", m.Act[0], s[0], zp[0])
	}
	if m.Act[0].ZP != -128 {
		t.Errorf("non-negative input zp %d, want -128", m.Act[0].ZP)
	}
}

func TestCalibrationErrors(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	p, _ := quant.Annotate(g, quant.Options{})
	cal := quant.NewCalibrator(p, quant.Config{})
	if _, err := cal.Convert(); err == nil || !strings.Contains(err.Error(), "no calibration images") {
		t.Errorf("empty calibration: %v", err)
	}
	x := randImage(rand.New(rand.NewPCG(1, 1)))
	x.Data[5] = float32(math.NaN())
	if err := cal.Observe(x); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN input: %v", err)
	}
	// Huge weights overflow conv2 to +Inf.
	g2, _ := zoo.Upscaler(16, 16, 1)
	for i := range g2.Params["conv2.weight"].Data {
		g2.Params["conv2.weight"].Data[i] = 3e37
	}
	p2, _ := quant.Annotate(g2, quant.Options{})
	cal2 := quant.NewCalibrator(p2, quant.Config{})
	err := cal2.Observe(randImage(rand.New(rand.NewPCG(2, 2))))
	if err == nil || !strings.Contains(err.Error(), `node "relu2"`) {
		t.Errorf("overflow: %v", err)
	}
}
