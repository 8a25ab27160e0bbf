package onnx

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// calibImages yields n smooth random images of the model's input shape (seeded): low-frequency
// sums of gradients so that the activations look like images', plus the corpus input itself.
func calibImages(shape []int, first *engine.Tensor, n int) func(yield func(*engine.Tensor, error) bool) {
	return func(yield func(*engine.Tensor, error) bool) {
		if !yield(first, nil) {
			return
		}
		rng := rand.New(rand.NewPCG(1, 2))
		c, h, w := shape[1], shape[2], shape[3]
		for k := 1; k < n; k++ {
			x := engine.New(1, c, h, w)
			for ch := 0; ch < c; ch++ {
				a, b, off := rng.Float64()*2-1, rng.Float64()*2-1, rng.Float64()
				fy, fx := rng.Float64()*0.8, rng.Float64()*0.8
				for y := 0; y < h; y++ {
					for xx := 0; xx < w; xx++ {
						v := off + 0.3*a*float64(y)/float64(h) + 0.3*b*float64(xx)/float64(w) + 0.2*math.Sin(fy*float64(y)+fx*float64(xx)) + 0.05*rng.NormFloat64()
						x.Data[(ch*h+y)*w+xx] = float32(min(max(v, 0), 1))
					}
				}
			}
			if !yield(x, nil) {
				return
			}
		}
	}
}

func psnr(a, b []float32) float64 {
	var mse float64
	var peak float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		mse += d * d
		peak = math.Max(peak, math.Abs(float64(b[i])))
	}
	mse /= float64(len(a))
	return 10 * math.Log10(peak*peak/mse)
}

// TestCorpusPTQ quantizes every corpus model, writes the full artifact set (the .vgf is
// verified by decoding and running it), and checks that the INT8 graph run by the fast
// executor equals the TOSA reference interpreter bit for bit and tracks the float output.
func TestCorpusPTQ(t *testing.T) {
	for _, name := range corpusModels {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata/corpus", name+"_op17.onnx"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			x := readNPY(t, filepath.Join("testdata/corpus", name+".in.npy"))
			res, err := ptq.Quantize(m.Graph, calibImages(x.Shape, x, 16), ptq.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if out := os.Getenv("VGFQ_CORPUS_OUT"); out != "" { // keep the artifacts (for /work/ext-style external checks)
				dir = filepath.Join(out, name)
			}
			if _, err := res.Export(dir, x, false); err != nil {
				t.Fatal(err)
			}
			fast, err := lower.Int8Predictor(res.Lowered, 1)
			if err != nil {
				t.Fatal(err)
			}
			yq, err := fast(x)
			if err != nil {
				t.Fatal(err)
			}
			yr, err := lower.Int8PredictorRef(res.Lowered, 1)(x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range yq.Data {
				if yq.Data[i] != yr.Data[i] {
					t.Fatalf("fast executor and reference interpreter differ at %d: %v vs %v", i, yq.Data[i], yr.Data[i])
				}
			}
			// Against the fake-quantized model (what the INT8 graph implements): in output steps.
			fq, err := res.Model.FakeQuantPredictor()(x)
			if err != nil {
				t.Fatal(err)
			}
			oq, _ := res.Model.QParamOf(res.Graph.Outputs[0])
			maxSteps, off := 0.0, 0
			for i := range fq.Data {
				d := math.Abs(float64(fq.Data[i]-yq.Data[i])) / float64(oq.Scale)
				maxSteps = math.Max(maxSteps, d)
				if d > 0.5 {
					off++
				}
			}
			t.Logf("%s: INT8 vs fake-quant: %d of %d outputs differ, by at most %.0f steps", name, off, len(fq.Data), maxSteps)
			if maxSteps > 3 {
				t.Errorf("the INT8 graph is %.0f output steps from the fake-quant model (rounding explains 1-2)", maxSteps)
			}
			yf := runFloat(t, m.Graph, x)
			p := psnr(yq.Data, yf.Data)
			t.Logf("%s: %d TOSA ops, INT8 vs FP32 PSNR %.1f dB (peak = max|FP32|)", name, len(res.Lowered.Graph.Ops), p)
			if p < 25 {
				t.Errorf("INT8 output PSNR %.1f dB against float is too low", p)
			}
		})
	}
}

// TestZooRoundTripPTQ: a zoo model written to ONNX and read back quantizes to a byte-identical
// TOSA graph (names, weights and ops survive the round trip exactly).
func TestZooRoundTripPTQ(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		g, err := zoo.Build(name, 12, 10, 3)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Encode(g)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(b, "", Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := engine.New(1, 3, 12, 10)
		for i := range x.Data {
			x.Data[i] = float32(i%17) / 17
		}
		var enc [2][]byte
		for k, gg := range []*graph.Graph{g, m.Graph} {
			res, err := ptq.Quantize(gg, calibImages(x.Shape, x, 4), ptq.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if enc[k], err = tosa.Encode(res.Lowered.Graph); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(enc[0], enc[1]) {
			t.Errorf("%s: the TOSA graph of the ONNX round trip differs from the original's", name)
		}
	}
}
