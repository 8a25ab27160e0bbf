package lower

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// smooth returns a random smooth image batch in [0,1] (n x 3 x h x w).
func smooth(rng *rand.Rand, n, h, w int) *engine.Tensor {
	t := engine.New(n, 3, h, w)
	for i := 0; i < n*3; i++ {
		a, b, c := rng.Float64(), rng.Float64()*0.3, rng.Float64()*6
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := a + b*math.Sin(c*float64(x)/float64(w)+float64(y)*0.4)
				t.Data[(i*h+y)*w+x] = float32(min(max(v, 0), 1))
			}
		}
	}
	return t
}

func quantize(t testing.TB, g *graph.Graph, images int) *quant.Model {
	t.Helper()
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cal := quant.NewCalibrator(plan, quant.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	s := g.Inputs()[0].Attrs.Shape
	for i := 0; i < images; i++ {
		if err := cal.Observe(smooth(rng, 1, s[2], s[3])); err != nil {
			t.Fatal(err)
		}
	}
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func opList(g *tosa.Graph) []string {
	var ops []string
	for _, op := range g.Ops {
		if op.Op != tosa.OpConst && op.Op != tosa.OpConstShape {
			ops = append(ops, op.Op.String())
		}
	}
	return ops
}

// TestUpscalerGraphMatchesExecuTorch checks the lowered tutorial model against the graph
// ExecuTorch's Arm backend produces (quant-numerics.md §4.3).
func TestUpscalerGraphMatchesExecuTorch(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	m := quantize(t, g, 8)
	r, err := Lower(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "RESIZE RESCALE CONV2D RESCALE CONV2D RESCALE CONV2D RESCALE"
	if got := strings.Join(opList(r.Graph), " "); got != want {
		t.Fatalf("ops %s\nwant %s", got, want)
	}
	tm := r.Graph.TensorMap()
	if in := tm[r.Graph.Inputs[0]]; in.Type != tosa.Int8 || !slices.Equal(in.Shape, []int{1, 16, 16, 3}) {
		t.Errorf("input %v %v", in.Type, in.Shape)
	}
	if out := tm[r.Graph.Outputs[0]]; out.Type != tosa.Int8 || !slices.Equal(out.Shape, []int{1, 32, 32, 3}) {
		t.Errorf("output %v %v", out.Type, out.Shape)
	}
	// Input is >= 0, so its zero point is -128; ReLU outputs too.
	if r.Inputs[0].ZP != -128 {
		t.Errorf("input zp %d", r.Inputs[0].ZP)
	}
	for _, op := range r.Graph.Ops {
		if op.Op == tosa.OpResize {
			s, _ := tm[op.Inputs[1]].Int64s()
			o, _ := tm[op.Inputs[2]].Int64s()
			b, _ := tm[op.Inputs[3]].Int64s()
			if !slices.Equal(s, []int64{4, 2, 4, 2}) || !slices.Equal(o, []int64{-1, -1}) || !slices.Equal(b, []int64{1, 1}) || op.Attr.Mode != tosa.ResizeBilinear {
				t.Errorf("RESIZE scale %v offset %v border %v", s, o, b)
			}
		}
	}
	// The resize RESCALE is 1/16 = (1073741824, 34); conv rescales per channel, out zp -128 for
	// the ReLU outputs.
	rs := r.Rescales
	if len(rs) != 4 || rs[0].Multipliers[0] != 1073741824 || rs[0].Shifts[0] != 34 || rs[0].PerChannel {
		t.Fatalf("resize rescale %+v", rs[0])
	}
	for i, wantN := range []int{32, 32, 3} {
		if len(rs[i+1].Multipliers) != wantN || !rs[i+1].PerChannel {
			t.Errorf("conv%d rescale has %d channels", i+1, len(rs[i+1].Multipliers))
		}
	}
	if rs[1].OutputZP != -128 || rs[2].OutputZP != -128 {
		t.Errorf("ReLU outputs zp %d %d, want -128 (ReLU by saturation)", rs[1].OutputZP, rs[2].OutputZP)
	}
	for _, op := range r.Graph.Ops {
		if op.Op == tosa.OpTranspose || op.Op == tosa.OpClamp {
			t.Errorf("unexpected %v", op.Op)
		}
	}
	// Round trip through the .tosa codec.
	buf, err := tosa.Encode(r.Graph)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tosa.Decode(buf); err != nil {
		t.Fatal(err)
	}
}

func TestNCHWLayoutAddsTwoTransposes(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	m := quantize(t, g, 4)
	r, err := Lower(m, Options{Layout: NCHW})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, op := range r.Graph.Ops {
		if op.Op == tosa.OpTranspose {
			n++
		}
	}
	if n != 2 || r.Inputs[0].Layout != "NCHW" || !slices.Equal(r.Inputs[0].Shape, []int{1, 3, 16, 16}) {
		t.Errorf("%d transposes, input %+v", n, r.Inputs[0])
	}
}

// TestInt8MatchesFakeQuant runs the integer graph and the fake-quantized float graph on the same
// images: they implement the same quantized model, so they agree to within rounding (bilinear
// ties round half-up in TOSA, half-even in float; requantization rounding differs by at most one
// step per layer).
func TestInt8MatchesFakeQuant(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		g, _ := zoo.Build(name, 16, 16, 3)
		m := quantize(t, g, 16)
		r, err := Lower(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		x := smooth(rng, 4, 16, 16)
		fq, err := m.FakeQuantPredictor()(x)
		if err != nil {
			t.Fatal(err)
		}
		pred, err := Int8Predictor(r, 2)
		if err != nil {
			t.Fatal(err)
		}
		iq, err := pred(x)
		if err != nil {
			t.Fatal(err)
		}
		// The fast executor and the reference interpreter agree bit for bit.
		iref, err := Int8PredictorRef(r, 2)(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range iq.Data {
			if iq.Data[i] != iref.Data[i] {
				t.Fatalf("%s: fast and reference executors differ at %d: %v vs %v", name, i, iq.Data[i], iref.Data[i])
			}
		}
		out := r.Outputs[0]
		var maxSteps float64
		var mse float64
		for i := range fq.Data {
			d := math.Abs(float64(fq.Data[i]-iq.Data[i])) / float64(out.Scale)
			maxSteps = math.Max(maxSteps, d)
			mse += d * d
		}
		mse /= float64(len(fq.Data))
		t.Logf("%s: int8 vs fake-quant: max %.2f steps, rms %.3f steps", name, maxSteps, math.Sqrt(mse))
		if maxSteps > 4 || math.Sqrt(mse) > 0.5 {
			t.Errorf("%s: int8 and fake-quant disagree: max %.2f steps, rms %.3f", name, maxSteps, math.Sqrt(mse))
		}
	}
}

func TestUnsupportedOpNamesNode(t *testing.T) {
	b := graph.NewBuilder("odd", 1)
	x := b.Input("x", 1, 3, 8, 8)
	c := b.Conv2d("conv", x, graph.ConvSpec{In: 3, Out: 4, Kernel: 3, Padding: 1, Groups: 1})
	r := b.Unary(graph.OpMaxPool2d, "pool", c, graph.Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true})
	g, err := b.Build(r)
	if err != nil {
		t.Fatal(err)
	}
	m := quantize(t, g, 2)
	_, err = Lower(m, Options{})
	if err == nil || !strings.Contains(err.Error(), `node "pool" (MaxPool2d)`) || !strings.Contains(err.Error(), "ceil_mode") {
		t.Fatalf("error %v", err)
	}
}

func TestKeepFloatRefusesToLower(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	plan, err := quant.Annotate(g, quant.Options{KeepFloat: []string{"conv3"}})
	if err != nil {
		t.Fatal(err)
	}
	cal := quant.NewCalibrator(plan, quant.Config{})
	cal.Observe(smooth(rand.New(rand.NewPCG(1, 1)), 1, 16, 16))
	m, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lower(m, Options{}); err == nil || !strings.Contains(err.Error(), "conv3") {
		t.Fatalf("error %v", err)
	}
	if _, err := quant.Annotate(g, quant.Options{KeepFloat: []string{"nope"}}); err == nil {
		t.Fatal("unknown node accepted")
	}
}
