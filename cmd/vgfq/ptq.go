package main

import (
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/diagnose"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/train"
)

type ptqFlags struct {
	model      string
	data       dataFlags
	calib      int
	out        string
	eps12      bool
	observer   string
	percentile float64
	layout     string
	keepFloat  []string
	evalImages int
	quiet      bool
	seed       uint64
	debugInfo  bool
	layers     int
	imp        improveFlags
}

func newPTQCmd() *cobra.Command {
	var f ptqFlags
	c := &cobra.Command{
		Use:   "ptq",
		Short: "Post-training quantization to an INT8 TOSA 1.0 graph (model.tosa) with a PSNR report",
		Long: `ptq calibrates the float model on representative images (histogram observers, as
TorchAO/ExecuTorch), converts it to INT8 (per-channel symmetric weights, int32 bias, per-tensor
affine activations), lowers it to a TOSA 1.0 INT graph and writes into --out:
  model.tosa          the TOSA 1.0 flatbuffer
  quant.json          every tensor's scale/zero point and every RESCALE's multiplier/shift
  model.vgf           SPIR-V graph module + constants for the ML SDK for Vulkan
  io.json             the integration contract: bindings, shapes, VkFormat, scale/zero point,
                      the exact quantize/dequantize formulas
  scenario.json       for Arm's Scenario Runner, with input.npy (a real test image) and
  expected_output.npy what model.vgf must produce for it
It then prints PSNR on the test split for FP32, fake-quant and INT8 (model.tosa executed
bit-exactly by vgfq's TOSA interpreter).
--cle, --bias-correction and --adaround are improvements over the ExecuTorch-compatible
default (off by default; what ran is recorded in quant.json's ptq_options).`,
		Example: `  vgfq ptq --model runs/fp32 --data builtin --calib 500 --out output/
  vgfq ptq --model runs/fp32 --cle --adaround --bias-correction --out output-improved/`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ck, err := train.LoadCheckpoint(f.model)
			if err != nil {
				return badInputf("--model: %v", err)
			}
			_, err = runPTQ(ck.Graph, &f, os.Stdout)
			return err
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "float model or checkpoint directory")
	fl.IntVar(&f.calib, "calib", 500, "calibration images (batch 1, from the train split)")
	fl.StringVar(&f.out, "out", "output", "output directory")
	fl.BoolVar(&f.eps12, "eps-2-12", false, "observer eps 2^-12 as ExecuTorch <= 1.1 (default 2^-16, ExecuTorch >= 1.2)")
	fl.StringVar(&f.observer, "calibrator", "histogram", "activation calibrator: histogram (ExecuTorch default, L2 search), minmax, mse, percentile (vgfq options)")
	fl.Float64Var(&f.percentile, "percentile", 99.99, "percentile for --calibrator percentile")
	fl.StringVar(&f.layout, "layout", "nhwc", "graph I/O layout: nhwc (no TRANSPOSE, as the tutorial) or nchw (TRANSPOSE at the boundaries)")
	fl.StringSliceVar(&f.keepFloat, "keep-float", nil, "nodes to keep in float (partial quantization; such a graph cannot lower to INT-only TOSA)")
	fl.IntVar(&f.evalImages, "eval-images", 3200, "test images scored for the PSNR table (the tutorial's 50 batches of 64; 0: skip the table)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for choosing calibration images")
	fl.IntVar(&f.layers, "layer-images", 16, "test images traced for the per-layer error table and layers.json (0: skip)")
	fl.BoolVar(&f.debugInfo, "debug-info", false, "keep tensor names in the SPIR-V graph module (like model-converter --emit-debug-info)")
	f.imp.register(c)
	f.data.register(c)
	return c
}

// ptqResult is what runPTQ produced.
type ptqResult struct {
	Model   *quant.Model
	Lowered *lower.Result
	Scores  map[string]*train.EvalResult
	// Agreement is the PSNR of the INT8 output against the FP32 output.
	Agreement float64
}

func (f *ptqFlags) validate() error {
	if f.calib < 1 || f.calib > 1_000_000 {
		return badInputf("--calib %d out of range [1, 1000000]", f.calib)
	}
	if f.evalImages < 0 {
		return badInputf("--eval-images %d must not be negative", f.evalImages)
	}
	if !(f.percentile > 50 && f.percentile <= 100) {
		return badInputf("--percentile %g out of range (50, 100]", f.percentile)
	}
	return nil
}

func runPTQ(g *graph.Graph, f *ptqFlags, log io.Writer) (*ptqResult, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	obs, err := quant.ParseActObserver(f.observer)
	if err != nil {
		return nil, badInputf("--calibrator: %v", err)
	}
	layout, err := lower.ParseLayout(f.layout)
	if err != nil {
		return nil, badInputf("--layout: %v", err)
	}
	ds, err := f.data.open(log)
	if err != nil {
		return nil, err
	}
	if err := checkInputSize(g, ds); err != nil {
		return nil, err
	}
	if ds.Train.Len() < f.calib {
		return nil, badInputf("--calib %d: the %s train split has only %d images", f.calib, ds.Name, ds.Train.Len())
	}
	start := time.Now()
	cfg := quant.Config{Observer: obs, Percentile: f.percentile}
	if f.eps12 {
		cfg.Eps = quant.Eps12
	}
	images, err := calibImages(ds, f.calib, f.seed)
	if err != nil {
		return nil, err
	}
	var bar *progressbar.ProgressBar
	if !f.quiet && showBars() {
		bar = progressbar.NewOptions(f.calib, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("calibrating"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(24))
	}
	popt := ptq.Options{Quant: cfg, KeepFloat: f.keepFloat, Layout: layout}
	if err := f.imp.apply(&popt); err != nil {
		return nil, err
	}
	r, err := ptq.Quantize(g, images, popt, func(n int) {
		if bar != nil {
			bar.Set(n)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return nil, f.imp.explain(err)
	}
	f.imp.report(r, log)
	if r.Folded > 0 {
		fmt.Fprintf(log, "folded %d BatchNorm2d into convolutions\n", r.Folded)
	}
	g, m, res := r.Graph, r.Model, r.Lowered
	fmt.Fprintf(log, "PTQ of %s: %d calibration images, %d TOSA operators (%d RESCALE), %s\n", g.Name, m.Images,
		len(res.Graph.Ops), len(res.Rescales), time.Since(start).Round(time.Millisecond))
	// The VGF: a real test image as the sample input of the scenario.
	sample, err := sampleImage(ds.Test)
	if err != nil {
		return nil, err
	}
	art, err := r.Export(f.out, sample, f.debugInfo)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "wrote %s: model.tosa, quant.json, model.vgf (%d bytes, %d constants), io.json, scenario.json, input.npy, expected_output.npy\n",
		f.out, len(art.VGFBytes), len(art.VGF.Constants))
	out := &ptqResult{Model: m, Lowered: res, Scores: map[string]*train.EvalResult{}}
	if f.evalImages > 0 {
		batches := (f.evalImages + 63) / 64
		int8pred, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, err
		}
		preds := []struct {
			name string
			p    train.Predictor
		}{
			{"FP32", train.GraphPredictor(g)},
			{"fake-quant", train.Predictor(m.FakeQuantPredictor())},
			{"INT8 (.tosa)", train.Predictor(int8pred)},
		}
		fmt.Fprintf(log, "%-14s %9s %8s   (%s test split, %d images)\n", "", "PSNR dB", "SSIM", ds.Name, min(batches*64, ds.Test.Len()))
		var base *train.EvalResult
		for _, p := range preds {
			r, err := train.EvaluatePredictor(p.p, ds.Test, 64, batches, ssimFits(ds.Test), nil)
			if err != nil {
				return nil, fmt.Errorf("%s evaluation: %v", p.name, err)
			}
			out.Scores[p.name] = r
			base = r
			fmt.Fprintf(log, "%-14s %9.3f %8.4f\n", p.name, r.PSNR, r.SSIM)
		}
		fmt.Fprintf(log, "%-14s %9.3f %8.4f\n", "bilinear", base.BaselinePSNR, base.BaselineSSIM)
		agree, err := train.AgreementPSNR(preds[2].p, preds[0].p, ds.Test, 64, batches)
		if err != nil {
			return nil, fmt.Errorf("INT8 vs FP32: %v", err)
		}
		out.Agreement = agree
		fmt.Fprintf(log, "%-14s %9.3f            (INT8 output against the FP32 output: the quantization error alone)\n", "INT8 vs FP32", agree)
	}
	if f.layers > 0 {
		if err := layerReport(m, res, ds.Test, f.layers, f.out, log); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// layerReport traces test images through float, fake-quant and INT8 and prints, per quantized
// tensor, the SQNR against float; it writes the table as layers.json.
func layerReport(m *quant.Model, res *lower.Result, src data.Source, images int, out string, log io.Writer) error {
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: min(images, 64)})
	if err != nil {
		return err
	}
	var batches []*engine.Tensor
	for got := 0; got < images; {
		b, err := loader.Next()
		if err != nil {
			break
		}
		n := min(b.N, images-got)
		batches = append(batches, engine.FromData(append([]float32(nil), b.LR[:n*3*b.H*b.W/4]...), n, data.Channels, b.H/2, b.W/2))
		got += n
	}
	layers, err := diagnose.PerLayer(m, res, batches)
	if err != nil {
		return fmt.Errorf("per-layer trace: %v", err)
	}
	fmt.Fprintf(log, "per-layer error over %d test images (SQNR against float, dB; higher is better):\n", images)
	fmt.Fprintf(log, "  %-12s %-12s %10s %5s %10s %8s %11s %8s\n", "node", "op", "scale", "zp", "fake-quant", "INT8", "INT8-vs-FQ", "clipped")
	for _, l := range layers {
		fmt.Fprintf(log, "  %-12s %-12s %10.6f %5d %10.2f %8.2f %8.0f stp %7.3f%%\n", l.Node, l.Op, l.Scale, l.ZP, l.FakeQuantSQNR, l.Int8SQNR, l.Int8VsFakeQuantMax, 100*l.Clipped)
	}
	js, err := json.MarshalIndent(map[string]any{"format": "vgfq-layers/1", "images": images, "layers": layers}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(out, "layers.json"), append(js, '\n'), 0o644)
}

// sampleImage is the first test image at the model's input size (the scenario's input.npy).
func sampleImage(src data.Source) (*engine.Tensor, error) {
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: 1})
	if err != nil {
		return nil, err
	}
	b, err := loader.Next()
	if err != nil {
		return nil, err
	}
	return engine.FromData(append([]float32(nil), b.LR...), 1, data.Channels, b.H/2, b.W/2), nil
}

// ssimFits reports whether the source's images are large enough for SSIM's 11x11 window.
func ssimFits(src data.Source) bool {
	h, w := src.Size()
	return h >= metrics.SSIMWinSize && w >= metrics.SSIMWinSize
}

// calibImages yields the first n images of a seeded shuffle of the train split, batch 1 (the
// tutorial's calibration set).
func calibImages(ds *data.Dataset, n int, seed uint64) (iter.Seq2[*engine.Tensor, error], error) {
	loader, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: 1, Shuffle: true, Seed: seed, Random: true})
	if err != nil {
		return nil, badInput(err)
	}
	return func(yield func(*engine.Tensor, error) bool) {
		for i := 0; i < n; i++ {
			b, err := loader.Next()
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(engine.FromData(b.LR, 1, data.Channels, b.H/2, b.W/2), nil) {
				return
			}
		}
	}, nil
}
