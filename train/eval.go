package train

import (
	"errors"
	"fmt"
	"io"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/metrics"
)

// EvalResult holds the quality of a model on a test split, next to plain bilinear upscaling of
// the same low-resolution inputs (the baseline a learned upscaler must beat).
type EvalResult struct {
	PSNR         float64 `json:"psnr"`
	SSIM         float64 `json:"ssim"`
	BaselinePSNR float64 `json:"baseline_psnr"`
	BaselineSSIM float64 `json:"baseline_ssim"`
	Batches      int     `json:"batches"`
	Images       int     `json:"images"`
}

// Bilinear2x is the baseline: F.interpolate(x, scale_factor=2, mode='bilinear',
// align_corners=False).
func Bilinear2x(x *engine.Tensor) *engine.Tensor {
	return engine.Resize(engine.Const(x), engine.ResizeOpts{Mode: engine.ResizeBilinear,
		OutH: 2 * x.Shape[2], OutW: 2 * x.Shape[3], ScaleH: 2, ScaleW: 2}).Val
}

// Predictor maps a batch of low-resolution images (N x 3 x h x w) to high-resolution ones.
type Predictor func(lr *engine.Tensor) (*engine.Tensor, error)

// GraphPredictor runs a float graph for inference.
func GraphPredictor(g *graph.Graph) Predictor {
	ex := graph.NewExec(g, false)
	return func(lr *engine.Tensor) (*engine.Tensor, error) {
		y, err := ex.Forward(engine.Const(lr))
		if err != nil {
			return nil, err
		}
		return y.Val, nil
	}
}

// Evaluate scores g on the first maxBatches batches (0: all) of src, in order, with the
// tutorial's metric: PSNR = 10*log10(1/MSE) per batch, averaged over batches. SSIM is averaged
// per image when withSSIM is set (it costs more than the forward pass for small models).
func Evaluate(g *graph.Graph, src data.Source, batch, maxBatches int, withSSIM bool) (*EvalResult, error) {
	return EvaluatePredictor(GraphPredictor(g), src, batch, maxBatches, withSSIM, nil)
}

// EvaluatePredictor is Evaluate for any predictor. visit, if non-nil, sees every batch with the
// prediction and the bilinear baseline (for example to collect images for a grid).
func EvaluatePredictor(pred Predictor, src data.Source, batch, maxBatches int, withSSIM bool, visit func(b *data.Batch, out, base *engine.Tensor)) (*EvalResult, error) {
	if h, w := src.Size(); withSSIM && (h < metrics.SSIMWinSize || w < metrics.SSIMWinSize) {
		return nil, fmt.Errorf("SSIM needs images of at least %dx%d, the test images are %dx%d: use a larger crop or skip SSIM", metrics.SSIMWinSize, metrics.SSIMWinSize, h, w)
	}
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: batch})
	if err != nil {
		return nil, fmt.Errorf("test split: %v", err)
	}
	var psnr, bpsnr metrics.PSNRMeter
	var ssim, bssim float64
	res := &EvalResult{}
	for maxBatches == 0 || res.Batches < maxBatches {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		lr := engine.FromData(b.LR, b.N, data.Channels, b.H/2, b.W/2)
		out, err := pred(lr)
		if err != nil {
			return nil, err
		}
		if !engine.SameShape(out.Shape, []int{b.N, data.Channels, b.H, b.W}) {
			return nil, fmt.Errorf("model output %s does not match the %dx%d ground truth", engine.ShapeString(out.Shape), b.H, b.W)
		}
		base := Bilinear2x(lr)
		psnr.Add(out.Data, b.HR)
		bpsnr.Add(base.Data, b.HR)
		if withSSIM {
			ssim += metrics.SSIM(out.Data, b.HR, b.N, data.Channels, b.H, b.W) * float64(b.N)
			bssim += metrics.SSIM(base.Data, b.HR, b.N, data.Channels, b.H, b.W) * float64(b.N)
		}
		if visit != nil {
			visit(b, out, base)
		}
		res.Batches++
		res.Images += b.N
	}
	if res.Batches == 0 {
		return nil, fmt.Errorf("test split is empty")
	}
	res.PSNR, res.BaselinePSNR = psnr.Mean(), bpsnr.Mean()
	if withSSIM {
		res.SSIM, res.BaselineSSIM = ssim/float64(res.Images), bssim/float64(res.Images)
	}
	return res, nil
}
