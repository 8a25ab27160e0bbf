package train

import (
	"math"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/metrics"
)

// TestAgreementPSNR: a prediction off by a constant 0.01 everywhere is 40 dB from its reference
// (10·log10(1/0.01²)); identical predictions get metrics.PSNR's value for MSE 0.
func TestAgreementPSNR(t *testing.T) {
	ds := data.Builtin(data.BuiltinOptions{TrainSize: 8, TestSize: 20, Size: 16})
	ref := Predictor(func(lr *engine.Tensor) (*engine.Tensor, error) { return Bilinear2x(lr), nil })
	off := Predictor(func(lr *engine.Tensor) (*engine.Tensor, error) {
		y := Bilinear2x(lr)
		for i := range y.Data {
			y.Data[i] += 0.01
		}
		return y, nil
	})
	got, err := AgreementPSNR(off, ref, ds.Test, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-40) > 1e-3 {
		t.Errorf("AgreementPSNR = %v, want 40", got)
	}
	if got, _ := AgreementPSNR(ref, ref, ds.Test, 8, 2); got != metrics.MaxPSNR {
		t.Errorf("identical predictions: %v, want 100", got)
	}
}
