package train

import (
	"errors"
	"fmt"
	"io"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/metrics"
)

// AgreementPSNR scores pred against ref instead of the ground truth: PSNR = 10·log10(1/MSE)
// between the two predictions, per batch and averaged, over the first maxBatches batches (0:
// all) of src. For a quantized model against its float model it measures the quantization
// error alone, which PSNR against the ground truth mixes with the model's own error (a
// perturbation can move an imperfect model closer to or further from the truth by chance).
func AgreementPSNR(pred, ref Predictor, src data.Source, batch, maxBatches int) (float64, error) {
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: batch})
	if err != nil {
		return 0, fmt.Errorf("test split: %v", err)
	}
	var m metrics.PSNRMeter
	n := 0
	for maxBatches == 0 || n < maxBatches {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		lr := engine.FromData(b.LR, b.N, data.Channels, b.H/2, b.W/2)
		y, err := pred(lr)
		if err != nil {
			return 0, err
		}
		r, err := ref(lr)
		if err != nil {
			return 0, err
		}
		if !engine.SameShape(y.Shape, r.Shape) {
			return 0, fmt.Errorf("prediction %s and reference %s differ in shape", engine.ShapeString(y.Shape), engine.ShapeString(r.Shape))
		}
		m.Add(y.Data, r.Data)
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("test split is empty")
	}
	return m.Mean(), nil
}
