package diagnose

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/zoo"
)

func randImages(seed uint64, n int) *engine.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := engine.New(n, 3, 16, 16)
	for i := range x.Data {
		x.Data[i] = float32(0.5 + 0.3*math.Sin(float64(i%16)*rng.Float64()))
	}
	return x
}

func TestPerLayer(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		g, _ := zoo.Build(name, 16, 16, 2)
		p, err := quant.Annotate(g, quant.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cal := quant.NewCalibrator(p, quant.Config{})
		if err := cal.Observe(randImages(1, 8)); err != nil {
			t.Fatal(err)
		}
		m, err := cal.Convert()
		if err != nil {
			t.Fatal(err)
		}
		r, err := lower.Lower(m, lower.Options{})
		if err != nil {
			t.Fatal(err)
		}
		layers, err := PerLayer(m, r, []*engine.Tensor{randImages(2, 3)})
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != len(r.Tensors) {
			t.Fatalf("%s: %d layers for %d tensors", name, len(layers), len(r.Tensors))
		}
		for _, l := range layers {
			t.Logf("%s %-10s fq %.2f dB int8 %.2f dB, max %v steps", name, l.Node, l.FakeQuantSQNR, l.Int8SQNR, l.Int8VsFakeQuantMax)
			// 8-bit quantization of in-range values is worth ~30-50 dB; the integer graph
			// implements the fake-quant model up to rounding.
			if !(l.FakeQuantSQNR > 15) || !(l.Int8SQNR > 15) || math.Abs(l.FakeQuantSQNR-l.Int8SQNR) > 1.5 || l.Int8VsFakeQuantMax > 4 {
				t.Errorf("%s %s: fq %.2f dB, int8 %.2f dB, %v steps apart", name, l.Node, l.FakeQuantSQNR, l.Int8SQNR, l.Int8VsFakeQuantMax)
			}
		}
		// The input is quantized once, identically by both paths.
		if layers[0].Node != "x" || layers[0].Int8VsFakeQuantMax != 0 {
			t.Errorf("%s: first layer %+v", name, layers[0])
		}
	}
}
