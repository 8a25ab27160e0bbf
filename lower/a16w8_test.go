package lower

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/fast"
	"github.com/vgfq/vgfq/tosa/ref"
	"github.com/vgfq/vgfq/zoo"
)

// calibrate returns a calibrator that has observed images smooth images.
func calibrate(t testing.TB, g *graph.Graph, images int) *quant.Calibrator {
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
	return cal
}

func a16w8Model(t testing.TB, g *graph.Graph, names ...string) (*quant.Model, *quant.Model) {
	t.Helper()
	cal := calibrate(t, g, 8)
	m8, err := cal.Convert()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := cal.Plan.A16W8Groups(names)
	if err != nil {
		t.Fatal(err)
	}
	m16, err := cal.ConvertA16W8(groups)
	if err != nil {
		t.Fatal(err)
	}
	return m8, m16
}

// TestA16W8UpscalerGraph checks the EXT-INT16 lowering of the upscaler with both hidden
// activations int16: conv1 (int8 in) RESCALEs its int32 accumulator to int16, conv2 and conv3
// read int16 (16x8 CONV2D, INT48 accumulator and bias, 16-bit RESCALE multipliers), ReLU on
// int16 is a CLAMP at the zero point 0.
func TestA16W8UpscalerGraph(t *testing.T) {
	g, _ := zoo.Upscaler(12, 12, 1)
	_, m := a16w8Model(t, g, "conv1", "relu2")
	r, err := Lower(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "RESIZE RESCALE CONV2D RESCALE CLAMP CONV2D RESCALE CLAMP CONV2D RESCALE"
	if got := strings.Join(opList(r.Graph), " "); got != want {
		t.Fatalf("ops %s\nwant %s", got, want)
	}
	tm := r.Graph.TensorMap()
	type sig struct{ in, w, b, out tosa.DType }
	var convs []sig
	var rescales []string
	for _, op := range r.Graph.Ops {
		switch op.Op {
		case tosa.OpConv2D:
			convs = append(convs, sig{tm[op.Inputs[0]].Type, tm[op.Inputs[1]].Type, tm[op.Inputs[2]].Type, tm[op.Outputs[0]].Type})
			if op.Attr.AccType != tm[op.Outputs[0]].Type {
				t.Errorf("%s: acc_type %v, output %v", op.Outputs[0], op.Attr.AccType, tm[op.Outputs[0]].Type)
			}
			if zp := tm[op.Inputs[3]]; zp.Type != tm[op.Inputs[0]].Type {
				t.Errorf("%s: input_zp type %v", op.Outputs[0], zp.Type)
			}
		case tosa.OpRescale:
			in, out, mult := tm[op.Inputs[0]].Type, tm[op.Outputs[0]].Type, tm[op.Inputs[1]].Type
			rescales = append(rescales, in.String()+">"+out.String())
			if op.Attr.Scale32 != (in != tosa.Int48) || (mult == tosa.Int16) != (in == tosa.Int48) {
				t.Errorf("RESCALE %s: scale32 %v with multiplier %v", op.Outputs[0], op.Attr.Scale32, mult)
			}
		case tosa.OpClamp:
			if tt := tm[op.Outputs[0]].Type; tt != tosa.Int16 || len(op.Attr.ClampMin) != 2 {
				t.Errorf("CLAMP %v with min bytes %v", tt, op.Attr.ClampMin)
			}
			lo, _ := (&tosa.Tensor{Type: tosa.Int16, Data: op.Attr.ClampMin}).Ints()
			hi, _ := (&tosa.Tensor{Type: tosa.Int16, Data: op.Attr.ClampMax}).Ints()
			if lo[0] != 0 || hi[0] != 32767 {
				t.Errorf("CLAMP bounds %d..%d, want ReLU at zero point 0: 0..32767", lo[0], hi[0])
			}
		}
	}
	wantConvs := []sig{{tosa.Int8, tosa.Int8, tosa.Int32, tosa.Int32}, {tosa.Int16, tosa.Int8, tosa.Int48, tosa.Int48}, {tosa.Int16, tosa.Int8, tosa.Int48, tosa.Int48}}
	if !slices.Equal(convs, wantConvs) {
		t.Errorf("convs %v, want %v", convs, wantConvs)
	}
	wantRescales := []string{"INT32>INT8", "INT32>INT16", "INT48>INT16", "INT48>INT8"}
	if !slices.Equal(rescales, wantRescales) {
		t.Errorf("rescales %v, want %v", rescales, wantRescales)
	}
	// The INT48 bias holds the int32 bias quantized at s_in16 * s_w.
	for _, ti := range r.Tensors {
		if ti.Source == "relu1" && (!ti.Int16 || ti.ZP != 0) {
			t.Errorf("relu1 tensor info %+v", ti)
		}
	}
	if in, out := tm[r.Graph.Inputs[0]], tm[r.Graph.Outputs[0]]; in.Type != tosa.Int8 || out.Type != tosa.Int8 {
		t.Errorf("graph I/O %v / %v, want int8", in.Type, out.Type)
	}
}

// runBoth executes r on n random smooth images with tosa/ref and tosa/fast and requires equal
// outputs; it returns the dequantized outputs of ref.
func runBoth(t *testing.T, r *Result, n int) []*engine.Tensor {
	t.Helper()
	prog, err := fast.Compile(r.Graph)
	if err != nil {
		t.Fatal(err)
	}
	// Every operator of the zoo models' int16 graphs has a fast kernel (tosa/fast/int16.go).
	if ro := prog.RefOps(); len(ro) != 0 {
		t.Errorf("operators through tosa/ref: %v", ro)
	}
	in := r.Inputs[0]
	rng := rand.New(rand.NewPCG(7, 8))
	var outs []*engine.Tensor
	for i := 0; i < n; i++ {
		x := smooth(rng, 1, in.Shape[1], in.Shape[2])
		qt := QuantizeInput(x.Data, 3, in.Shape[1], in.Shape[2], in)
		want, err := ref.Run(r.Graph, map[string]*tosa.Tensor{in.Name: qt})
		if err != nil {
			t.Fatal(err)
		}
		got, err := prog.Run(map[string]*tosa.Tensor{in.Name: qt})
		if err != nil {
			t.Fatal(err)
		}
		o := r.Outputs[0]
		if !slices.Equal(want[o.Name].Data, got[o.Name].Data) {
			t.Fatalf("image %d: tosa/fast differs from tosa/ref", i)
		}
		y := engine.New(1, o.Shape[3], o.Shape[1], o.Shape[2])
		if err := DequantizeOutput(want[o.Name], o, y.Data); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, y)
	}
	return outs
}

// TestA16W8MatchesFakeQuant runs the int16 graphs of both zoo models and compares them with the
// fake-quantized float model (int16 groups quantized to [-32767, 32767]) and with the int8
// graph: the integer graph follows the fake-quant model to within an output step, and the
// int16 activations bring the output closer to the float model.
func TestA16W8MatchesFakeQuant(t *testing.T) {
	for _, tc := range []struct {
		model string
		int16 []string
		ops   string
	}{
		{"upscaler", []string{"relu1", "conv2"}, ""},
		// espcn: conv3's int16 output goes through the pixel shuffle (int16 RESHAPE/TRANSPOSE)
		// into the residual ADD (int16 and int8 operands at shift 12).
		{"espcn", []string{"relu1", "relu2", "conv3"}, "CONV2D RESCALE CLAMP CONV2D RESCALE CLAMP CONV2D RESCALE RESHAPE TRANSPOSE RESHAPE RESIZE RESCALE RESCALE RESCALE ADD RESCALE"},
		// a depthwise convolution reading int16 (DEPTHWISE_CONV2D i16 x i8 -> INT48)
		{"dwnet", []string{"relu1"}, "CONV2D RESCALE CLAMP DEPTHWISE_CONV2D RESCALE CONV2D RESCALE"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			var g *graph.Graph
			var err error
			if tc.model == "dwnet" {
				g, err = dwNet()
			} else {
				g, err = zoo.Build(tc.model, 10, 10, 3)
			}
			if err != nil {
				t.Fatal(err)
			}
			m8, m16 := a16w8Model(t, g, tc.int16...)
			r16, err := Lower(m16, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.ops != "" {
				if got := strings.Join(opList(r16.Graph), " "); got != tc.ops {
					t.Fatalf("ops %s\nwant %s", got, tc.ops)
				}
			}
			r8, err := Lower(m8, Options{})
			if err != nil {
				t.Fatal(err)
			}
			y16 := runBoth(t, r16, 6)
			y8 := runBoth(t, r8, 6)
			fq := m16.FakeQuantPredictor()
			fp := m16.PartialPredictor(quant.Selection{})
			rng := rand.New(rand.NewPCG(7, 8))
			in := r16.Inputs[0]
			var e16, e8 float64
			step := float64(r16.Outputs[0].Scale)
			for i := range y16 {
				x := smooth(rng, 1, in.Shape[1], in.Shape[2])
				want, err := fq(x)
				if err != nil {
					t.Fatal(err)
				}
				ref32, err := fp(x)
				if err != nil {
					t.Fatal(err)
				}
				for j, v := range want.Data {
					if d := math.Abs(float64(y16[i].Data[j]) - float64(v)); d > 1.01*step {
						t.Fatalf("image %d element %d: int graph %v, fake-quant %v (step %v)", i, j, y16[i].Data[j], v, step)
					}
					e16 += math.Pow(float64(y16[i].Data[j]-ref32.Data[j]), 2)
					e8 += math.Pow(float64(y8[i].Data[j]-ref32.Data[j]), 2)
				}
			}
			if !(e16 < e8) {
				t.Errorf("int16 activations did not reduce the error against FP32: %g vs int8 %g", e16, e8)
			}
			t.Logf("squared error vs FP32: int8 %.4g, a16w8 %.4g", e8, e16)
		})
	}
}

// TestA16W8Refused checks which activations cannot be int16 and that the errors name them.
func TestA16W8Refused(t *testing.T) {
	g, _ := zoo.Upscaler(8, 8, 1)
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"nosuch", `--a16w8 "nosuch": no such node in graph`},
		{"x", "graph input"},
		{"upsample", "graph input"},
		{"conv3", "graph output"},
	} {
		_, err := plan.A16W8Groups([]string{tc.name})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "valid: relu1|conv1, relu2|conv2") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	c := plan.A16W8Candidates()
	if len(c) != 2 || c[0].Name != "relu1" || c[1].Name != "relu2" {
		t.Errorf("candidates %+v", c)
	}
	// A conv selects the group of its fused activation.
	got, err := plan.A16W8Groups([]string{"conv2"})
	if err != nil || len(got) != 1 || !got[plan.Group["relu2"]] {
		t.Errorf("conv2 -> %v, %v", got, err)
	}
	// A tanh (TABLE, int8 only) refuses its input's group.
	b := graph.NewBuilder("t", 1)
	c1 := b.Conv2d("c1", b.Input("x", 1, 3, 8, 8), graph.ConvSpec{In: 3, Out: 4, Kernel: 3, Padding: 1})
	th := b.Unary(graph.OpTanh, "th", c1, graph.Attrs{})
	c2 := b.Conv2d("c2", th, graph.ConvSpec{In: 4, Out: 3, Kernel: 3, Padding: 1})
	tg, err := b.Build(c2)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := quant.Annotate(tg, quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.A16W8Groups([]string{"c1"}); err == nil || !strings.Contains(err.Error(), "Tanh") {
		t.Errorf("c1 feeding tanh: %v", err)
	}
}

// BenchmarkA16W8Predictor is BenchmarkInt8Predictor for the zoo models (16x16 input, batches
// of 8) with int8 activations and with every hidden activation int16 (a16w8): the executed
// graph's speed in tosa/fast (tosa/fast/int16.go).
func BenchmarkA16W8Predictor(b *testing.B) {
	for _, mc := range []struct {
		model string
		int16 []string
	}{{"upscaler", []string{"relu1", "relu2"}}, {"espcn", []string{"relu1", "relu2", "conv3"}}} {
		g, _ := zoo.Build(mc.model, 16, 16, 1)
		m8, m16 := a16w8Model(b, g, mc.int16...)
		for _, c := range []struct {
			name string
			m    *quant.Model
		}{{"int8", m8}, {"a16w8", m16}} {
			b.Run(mc.model+"/"+c.name, func(b *testing.B) {
				r, err := Lower(c.m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				pred, err := Int8Predictor(r, runtime.GOMAXPROCS(0))
				if err != nil {
					b.Fatal(err)
				}
				x := smooth(rand.New(rand.NewPCG(1, 1)), 8, 16, 16)
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := pred(x); err != nil {
						b.Fatal(err)
					}
				}
				imgs := float64(8 * b.N)
				b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/imgs, "cpu-µs/image")
			})
		}
	}
}

// dwNet: conv 3->8, ReLU, depthwise 3x3 (groups 8), ReLU, conv 8->3 on a 10x10 input.
func dwNet() (*graph.Graph, error) {
	b := graph.NewBuilder("dwnet", 3)
	x := b.Input("x", 1, 3, 10, 10)
	r1 := b.ReLU("relu1", b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1}))
	r2 := b.ReLU("relu2", b.Conv2d("dw", r1, graph.ConvSpec{In: 8, Out: 8, Kernel: 3, Padding: 1, Groups: 8}))
	return b.Build(b.Conv2d("conv3", r2, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1}))
}
