package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type goldenCase struct {
	Name     string    `json:"name"`
	Shape    []int     `json:"shape"`
	Pred     []float64 `json:"pred"`
	Target   []float64 `json:"target"`
	PredU8   []uint8   `json:"pred_u8"`
	TargetU8 []uint8   `json:"target_u8"`
	SSIM     float64   `json:"ssim"`
	MSE      float64   `json:"mse"`
	PSNR     float64   `json:"psnr"`
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/ssim_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	return g.Cases
}

func (gc *goldenCase) data() (pred, target []float32) {
	conv := func(f []float64, u []uint8) []float32 {
		if f != nil {
			out := make([]float32, len(f))
			for i, v := range f {
				out[i] = float32(v)
			}
			return out
		}
		out := make([]float32, len(u))
		for i, v := range u {
			out[i] = float32(v) / 255
		}
		return out
	}
	return conv(gc.Pred, gc.PredU8), conv(gc.Target, gc.TargetU8)
}

// TestSSIMGolden compares against tools/golden/ssim_ref.py (plain numpy
// reimplementation of skimage's Gaussian SSIM with explicit reflect padding).
func TestSSIMGolden(t *testing.T) {
	for _, gc := range loadGolden(t) {
		t.Run(gc.Name, func(t *testing.T) {
			pred, target := gc.data()
			n, c, h, w := gc.Shape[0], gc.Shape[1], gc.Shape[2], gc.Shape[3]
			got := SSIM(pred, target, n, c, h, w)
			if d := math.Abs(got - gc.SSIM); d > 1e-6 {
				t.Errorf("SSIM = %.12f, reference %.12f (|diff| %.3g)", got, gc.SSIM, d)
			} else {
				t.Logf("SSIM = %.12f, reference %.12f (|diff| %.3g)", got, gc.SSIM, d)
			}
			if sym := SSIM(target, pred, n, c, h, w); math.Abs(sym-got) > 1e-12 {
				t.Errorf("SSIM not symmetric: %v vs %v", got, sym)
			}
			if m := MSE(pred, target); m != gc.MSE {
				t.Errorf("MSE = %.10g, reference %.10g", m, gc.MSE)
			}
			if p := PSNR(pred, target); math.Abs(p-gc.PSNR) > 1e-9 {
				t.Errorf("PSNR = %.10f, reference %.10f", p, gc.PSNR)
			}
		})
	}
}

func TestSSIMIdenticalAndShapes(t *testing.T) {
	const n, c, h, w = 2, 3, 16, 12
	x := randBatch(rand.New(rand.NewPCG(1, 2)), n*c*h*w)
	if got := SSIM(x, x, n, c, h, w); math.Abs(got-1) > 1e-12 {
		t.Errorf("SSIM(x, x) = %v, want 1", got)
	}
	for _, tc := range []struct {
		name       string
		lp, lt     int
		n, c, h, w int
	}{
		{"small", 10 * 10, 10 * 10, 1, 1, 10, 10},
		{"zero", 0, 0, 0, 1, 11, 11},
		{"mismatch", 121, 120, 1, 1, 11, 11},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: expected panic", tc.name)
				}
			}()
			SSIM(make([]float32, tc.lp), make([]float32, tc.lt), tc.n, tc.c, tc.h, tc.w)
		}()
	}
}

// A per-image check: the batch SSIM is the mean of the per-image values.
func TestSSIMBatchIsMeanOfImages(t *testing.T) {
	const n, c, h, w = 3, 2, 13, 14
	r := rand.New(rand.NewPCG(3, 4))
	p, q := randBatch(r, n*c*h*w), randBatch(r, n*c*h*w)
	var sum float64
	per := c * h * w
	for i := 0; i < n; i++ {
		sum += SSIM(p[i*per:(i+1)*per], q[i*per:(i+1)*per], 1, c, h, w)
	}
	if got, want := SSIM(p, q, n, c, h, w), sum/n; math.Abs(got-want) > 1e-12 {
		t.Errorf("batch SSIM %v, mean of images %v", got, want)
	}
}

func TestMSEAndPSNR(t *testing.T) {
	pred := []float32{0, 0.5, 1, 0.25}
	target := []float32{0, 0.25, 0.5, 0.25}
	// (0 + 0.0625 + 0.25 + 0) / 4 = 0.078125, exactly representable.
	if got := MSE(pred, target); got != 0.078125 {
		t.Errorf("MSE = %v, want 0.078125", got)
	}
	want := 10 * math.Log10(1/0.078125)
	if got := PSNR(pred, target); math.Abs(got-want) > 1e-12 {
		t.Errorf("PSNR = %v, want %v", got, want)
	}
	if got := PSNR(pred, pred); got != MaxPSNR {
		t.Errorf("PSNR of identical = %v, want %v", got, MaxPSNR)
	}
	if got := PSNRFromMSE(1e-20); got != MaxPSNR {
		t.Errorf("PSNRFromMSE(1e-20) = %v, want cap %v", got, MaxPSNR)
	}
	if got := PSNRFromMSE(0.01); math.Abs(got-20) > 1e-12 {
		t.Errorf("PSNRFromMSE(0.01) = %v, want 20", got)
	}
	if got := PSNRFromMSE(math.NaN()); !math.IsNaN(got) {
		t.Errorf("PSNRFromMSE(NaN) = %v, want NaN", got)
	}
	for _, f := range []func(){
		func() { MSE(nil, nil) },
		func() { MSE([]float32{1}, []float32{1, 2}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("expected panic")
				}
			}()
			f()
		}()
	}
}

func TestPSNRMeter(t *testing.T) {
	var m PSNRMeter
	if !math.IsNaN(m.Mean()) {
		t.Errorf("empty meter mean = %v, want NaN", m.Mean())
	}
	// Batch MSEs 0.01 (20 dB) and 0.0001 (40 dB): mean of PSNRs is 30 dB,
	// not the PSNR of the mean MSE.
	a := []float32{0.1, 0.1}
	z := []float32{0, 0}
	b := []float32{0.01, 0.01}
	if got := m.Add(a, z); math.Abs(got-20) > 1e-5 {
		t.Errorf("Add returned %v, want ~20", got)
	}
	m.Add(b, z)
	if m.Count() != 2 {
		t.Errorf("Count = %d, want 2", m.Count())
	}
	if got := m.Mean(); math.Abs(got-30) > 1e-5 {
		t.Errorf("Mean = %v, want ~30", got)
	}
	m.AddValue(60)
	if got := m.Mean(); math.Abs(got-40) > 1e-5 {
		t.Errorf("Mean = %v, want ~40", got)
	}
	m.Reset()
	if m.Count() != 0 || !math.IsNaN(m.Mean()) {
		t.Errorf("after Reset: count %d mean %v", m.Count(), m.Mean())
	}
}

func randBatch(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

func benchBatch() (pred, target []float32) {
	const size = 64 * 3 * 32 * 32
	r := rand.New(rand.NewPCG(5, 6))
	target = randBatch(r, size)
	pred = make([]float32, size)
	for i, v := range target {
		pred[i] = min(max(v+0.1*(r.Float32()-0.5), 0), 1)
	}
	return pred, target
}

func BenchmarkPSNR64x3x32x32(b *testing.B) {
	pred, target := benchBatch()
	b.SetBytes(int64(2 * 4 * len(pred)))
	for b.Loop() {
		PSNR(pred, target)
	}
}

func BenchmarkSSIM64x3x32x32(b *testing.B) {
	pred, target := benchBatch()
	b.SetBytes(int64(2 * 4 * len(pred)))
	for b.Loop() {
		SSIM(pred, target, 64, 3, 32, 32)
	}
}
