package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/report"
	"github.com/vgfq/vgfq/train"
)

type evalFlags struct {
	model   string
	shapes  []string
	data    dataFlags
	batch   int
	batches int
	json    bool
	grid    string
	samples int
	noSSIM  bool
	// ssimIfFits skips SSIM instead of failing when the images are smaller than its window.
	ssimIfFits bool
	metric     string
	fullImage  bool
	cropSet    bool // --crop given (else the crop follows the model's input size)
	// against: score the model's output against this model's output too (agreement PSNR).
	against     string
	againstPSNR float64 // set by runEvalPredictor when against is set
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	c := &cobra.Command{
		Use:   "eval",
		Short: "Score a model on the test split: PSNR, SSIM and the bilinear baseline, plus a PNG grid",
		Example: `  vgfq eval --model runs/fp32 --data builtin
  vgfq eval --model runs/fp32 --json
  vgfq eval --model output/model.vgf --data photos/ --full-image --metric y`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f.metric != "rgb" || f.fullImage {
				if f.against != "" {
					return badInputf("--against scores the test split's crops with the rgb metric; drop --metric y / --full-image")
				}
				f.cropSet = c.Flags().Changed("crop")
				return runEvalSR(&f, os.Stdout)
			}
			if fi, err := os.Stat(f.model); err == nil && !fi.IsDir() && !model.IsONNX(f.model) {
				// An INT8 artifact: score the .tosa / .vgf itself.
				pred, name, inSize, err := int8Predictor(f.model)
				if err != nil {
					return err
				}
				res, err := runEvalPredictor(pred, name, inSize, &f, os.Stderr)
				if err != nil {
					return err
				}
				return printEval(os.Stdout, f.json, name, res, &f)
			}
			l, err := loadModel(f.model, f.shapes, os.Stderr)
			if err != nil {
				return err
			}
			res, err := runEval(l.Graph, &f, os.Stderr)
			if err != nil {
				return err
			}
			return printEval(os.Stdout, f.json, l.Graph.Name, res, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "model or checkpoint directory, .onnx file or zoo name, or an INT8 model.tosa / model.vgf (scored bit-exactly; scales from io.json or quant.json next to it)")
	fl.StringArrayVar(&f.shapes, "input-shape", nil, inputShapeUsage)
	fl.IntVar(&f.batch, "batch", 64, "evaluation batch size")
	fl.IntVar(&f.batches, "batches", 50, "number of test batches to score (0: the whole test split)")
	fl.BoolVar(&f.json, "json", false, "print the results as JSON (psnr, ssim, baseline_psnr, baseline_ssim, batches, images; with --against: against, against_psnr)")
	fl.StringVar(&f.against, "against", "", "also score the output against this model's output (PSNR, e.g. an INT8 model.vgf against its FP32 model: the quantization error alone); any --model form")
	fl.StringVar(&f.grid, "grid", "eval-grid.png", "write a PNG grid (LR, bilinear, model, ground truth) here; empty: none")
	fl.IntVar(&f.samples, "samples", 8, "rows of the PNG grid")
	fl.BoolVar(&f.noSSIM, "no-ssim", false, "skip SSIM")
	fl.StringVar(&f.metric, "metric", "rgb", "rgb: the tutorial's PSNR/SSIM on R, G, B; y: PSNR/SSIM on the BT.601 Y channel with a 2-pixel border shaved, averaged per image (as SR papers report)")
	fl.BoolVar(&f.fullImage, "full-image", false, "score whole images of an image folder (--data DIR, its test split): the model runs at each image's size")
	f.data.register(c)
	return c
}

func (f *evalFlags) validate() error {
	if f.batch < 1 || f.batch > 4096 {
		return badInputf("--batch %d out of range [1, 4096]", f.batch)
	}
	if f.batches < 0 {
		return badInputf("--batches %d must not be negative", f.batches)
	}
	if f.samples < 1 || f.samples > 64 {
		return badInputf("--samples %d out of range [1, 64]", f.samples)
	}
	return nil
}

// runEval scores g and writes the grid.
func runEval(g *graph.Graph, f *evalFlags, log io.Writer) (*train.EvalResult, error) {
	h, w := modelInputSize(g)
	return runEvalPredictor(train.GraphPredictor(g), g.Name, [2]int{h, w}, f, log)
}

// int8Predictor loads a .tosa or .vgf file and returns a predictor that quantizes images with
// the model's IO contract (io.json / quant.json next to the file), runs the integer graph
// bit-exactly and dequantizes the output. inSize is the input's height and width.
func int8Predictor(path string) (pred train.Predictor, name string, inSize [2]int, err error) {
	res, name, inSize, err := int8Result(path)
	if err != nil {
		return nil, "", inSize, err
	}
	p, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, "", inSize, badInputf("%s: %v", path, err)
	}
	return train.Predictor(p), name, inSize, nil
}

// int8Result loads a .tosa or .vgf file with its IO contract as a lowering result (graph,
// input and output shapes, layouts and scales); inSize is the input's height and width.
func int8Result(path string) (res *lower.Result, name string, inSize [2]int, err error) {
	m, err := inspect.Load(path)
	if err != nil {
		return nil, "", inSize, badInput(err)
	}
	if m.Graph == nil {
		return nil, "", inSize, badInputf("%s: no executable graph: %v", path, m.GraphErr)
	}
	ins, err := m.Inputs()
	if err != nil {
		return nil, "", inSize, badInput(err)
	}
	outs, err := m.Outputs()
	if err != nil {
		return nil, "", inSize, badInput(err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, "", inSize, badInputf("%s: %d inputs and %d outputs; eval needs one image in and one out", path, len(ins), len(outs))
	}
	var rf runFlags
	qi, err := rf.qparams(path, m, true, ins[0])
	if err != nil {
		return nil, "", inSize, err
	}
	qo, err := rf.qparams(path, m, false, outs[0])
	if err != nil {
		return nil, "", inSize, err
	}
	layout := func(q qparams, shape []int) (string, error) {
		l := q.layout
		if l == "" {
			l = "NHWC"
		}
		if len(shape) != 4 || shape[0] != 1 {
			return "", badInputf("%s: tensor shape %v is not a batch-1 image", path, shape)
		}
		return l, nil
	}
	li, err := layout(qi, ins[0].Shape)
	if err != nil {
		return nil, "", inSize, err
	}
	lo, err := layout(qo, outs[0].Shape)
	if err != nil {
		return nil, "", inSize, err
	}
	res = &lower.Result{Graph: m.Graph,
		Inputs:  []lower.IO{{Name: m.Graph.Inputs[0], Shape: ins[0].Shape, Layout: li, Scale: qi.scale, ZP: qi.zp}},
		Outputs: []lower.IO{{Name: m.Graph.Outputs[0], Shape: outs[0].Shape, Layout: lo, Scale: qo.scale, ZP: qo.zp}}}
	if sh := ins[0].Shape; li == "NCHW" {
		inSize = [2]int{sh[2], sh[3]}
	} else {
		inSize = [2]int{sh[1], sh[2]}
	}
	return res, filepath.Base(path), inSize, nil
}

// runEvalPredictor scores a predictor and writes the grid. inSize is the model's input height and width (zero: unknown), which a non-square model's
// data follow.
func runEvalPredictor(pred train.Predictor, name string, inSize [2]int, f *evalFlags, log io.Writer) (*train.EvalResult, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	ds, err := f.data.openFor(inSize[0], inSize[1], log)
	if err != nil {
		return nil, err
	}
	var rows [][]report.Image
	visit := func(b *data.Batch, out, base *engine.Tensor) {
		h, w := b.H, b.W
		hr, lr := 3*h*w, 3*h*w/4
		for i := 0; i < b.N && len(rows) < f.samples; i++ {
			rows = append(rows, []report.Image{
				{C: 3, H: h / 2, W: w / 2, Pix: append([]float32(nil), b.LR[i*lr:(i+1)*lr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), base.Data[i*hr:(i+1)*hr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), out.Data[i*hr:(i+1)*hr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), b.HR[i*hr:(i+1)*hr]...)},
			})
		}
	}
	if f.ssimIfFits && !ptq.SSIMFits(ds.Test) {
		f.noSSIM = true
	}
	if h, w := ds.Test.Size(); !f.noSSIM && !ptq.SSIMFits(ds.Test) {
		return nil, badInputf("SSIM needs test images of at least %dx%d, these are %dx%d: use a larger --crop or --no-ssim", metrics.SSIMWinSize, metrics.SSIMWinSize, h, w)
	}
	res, err := train.EvaluatePredictor(pred, ds.Test, f.batch, f.batches, !f.noSSIM, visit)
	if err != nil {
		return nil, err
	}
	if f.against != "" {
		ref, err := referencePredictor(f.against, f.shapes)
		if err != nil {
			return nil, err
		}
		if f.againstPSNR, err = train.AgreementPSNR(pred, ref, ds.Test, f.batch, f.batches); err != nil {
			return nil, badInputf("--against %s: %v", f.against, err)
		}
	}
	if f.grid != "" && len(rows) > 0 {
		if err := report.WriteGrid(f.grid, rows, []string{"LR", "bilinear", name, "ground truth"}, 4); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "wrote %s\n", f.grid)
	}
	return res, nil
}

// referencePredictor loads --against: an INT8 .tosa / .vgf file or a float model.
func referencePredictor(spec string, shapes []string) (train.Predictor, error) {
	if fi, err := os.Stat(spec); err == nil && !fi.IsDir() && !model.IsONNX(spec) {
		pred, _, _, err := int8Predictor(spec)
		return pred, err
	}
	is, err := model.ParseInputShapes(shapes)
	if err != nil {
		return nil, badInput(err)
	}
	l, err := model.Load(spec, model.Options{InputShapes: is})
	if err != nil {
		return nil, badInputf("--against: %v", err)
	}
	return train.GraphPredictor(l.Graph), nil
}

// evalOutput is eval's JSON.
type evalOutput struct {
	*train.EvalResult
	Against     string   `json:"against,omitempty"`
	AgainstPSNR *float64 `json:"against_psnr,omitempty"`
}

// printEval prints the scores; f, if not nil, carries the --against result.
func printEval(w io.Writer, asJSON bool, name string, r *train.EvalResult, f *evalFlags) error {
	out := evalOutput{EvalResult: r}
	if f != nil && f.against != "" {
		out.Against, out.AgainstPSNR = f.against, &f.againstPSNR
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "%d test images (%d batches)\n", r.Images, r.Batches)
	fmt.Fprintf(w, "%-12s %9s %8s\n", "", "PSNR dB", "SSIM")
	fmt.Fprintf(w, "%-12s %9.3f %8.4f\n", name, r.PSNR, r.SSIM)
	fmt.Fprintf(w, "%-12s %9.3f %8.4f\n", "bilinear", r.BaselinePSNR, r.BaselineSSIM)
	fmt.Fprintf(w, "%-12s %+9.3f %+8.4f\n", "gain", r.PSNR-r.BaselinePSNR, r.SSIM-r.BaselineSSIM)
	if out.AgainstPSNR != nil {
		fmt.Fprintf(w, "%-12s %9.3f          (PSNR of %s's output against %s's)\n", "vs reference", *out.AgainstPSNR, name, out.Against)
	}
	return nil
}
