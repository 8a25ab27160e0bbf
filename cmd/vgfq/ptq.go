package main

import (
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
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
	a16        a16w8Flags
	shapes     []string
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
			l, err := loadModel(f.model, f.shapes, os.Stdout)
			if err != nil {
				return err
			}
			if l.ONNX != nil && l.ONNX.QDQ != nil {
				return badInputf("--model %s is a QDQ model (it carries its own scales): export it exactly with 'vgfq export --model %s --out DIR'", f.model, f.model)
			}
			_, err = runPTQ(l.Graph, &f, os.Stdout)
			return err
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "float model: checkpoint directory, .onnx file or zoo name")
	fl.StringArrayVar(&f.shapes, "input-shape", nil, inputShapeUsage)
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
	f.a16.register(c)
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
	lh, lw := modelInputSize(g)
	ds, err := f.data.openFor(lh, lw, log)
	if err != nil {
		return nil, err
	}
	if err := checkInputSize(g, ds, false); err != nil {
		return nil, err
	}
	if f.evalImages > 0 || f.layers > 0 {
		if err := checkOutputSize(g, ds, "; quantize without scoring with --eval-images 0 --layer-images 0"); err != nil {
			return nil, err
		}
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
	if err := f.a16.apply(&popt, ds, log); err != nil {
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
	f.a16.report(r, log)
	if r.Folded > 0 {
		fmt.Fprintf(log, "folded %d BatchNorm2d into convolutions\n", r.Folded)
	}
	g, m, res := r.Graph, r.Model, r.Lowered
	fmt.Fprintf(log, "PTQ of %s: %d calibration images, %d TOSA operators (%d RESCALE), %s\n", g.Name, m.Images,
		len(res.Graph.Ops), len(res.Rescales), time.Since(start).Round(time.Millisecond))
	out := &ptqResult{Model: m, Lowered: res, Scores: map[string]*train.EvalResult{}}
	if err := exportAndScore(r, ds, f.out, f.debugInfo, f.evalImages, f.layers, nil, out.Scores, log); err != nil {
		return nil, err
	}
	if f.evalImages > 0 {
		// The quantization error alone: the INT8 graph's output against the FP32 output.
		int8pred, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, err
		}
		agree, err := train.AgreementPSNR(int8pred, train.GraphPredictor(g), ds.Test, 64, (f.evalImages+63)/64)
		if err != nil {
			return nil, fmt.Errorf("INT8 vs FP32: %v", err)
		}
		out.Agreement = agree
		fmt.Fprintf(log, "%-14s %9.3f            (INT8 output against the FP32 output: the quantization error alone)\n", "INT8 vs FP32", agree)
	}
	return out, nil
}

// exportAndScore is the tail PTQ and QAT share: export the artifacts into dir, print the FP32 /
// fake-quant / INT8 table (INT8 = the written model.vgf executed) and the per-layer table.
// float is the FP32 row's model (nil: the quantized graph). scores receives the rows by name.
func exportAndScore(r *ptq.Result, ds *data.Dataset, dir string, debugInfo bool, evalImages, layerImages int, float *graph.Graph, scores map[string]*train.EvalResult, log io.Writer) error {
	// The VGF: a real test image as the sample input of the scenario.
	sample, err := ptq.SampleImage(ds.Test)
	if err != nil {
		return err
	}
	art, err := r.Export(dir, sample, debugInfo)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s: model.tosa, quant.json, model.vgf (%d bytes, %d constants), io.json, scenario.json, input.npy, expected_output.npy\n",
		dir, len(art.VGFBytes), len(art.VGF.Constants))
	if evalImages > 0 {
		withSSIM := ptq.SSIMFits(ds.Test)
		rows, err := r.Score(ds.Test, ptq.ScoreOptions{Images: evalImages, SSIM: withSSIM, Float: float, ExportDir: dir})
		if err != nil {
			return err
		}
		for _, row := range rows {
			if scores != nil {
				scores[row.Name] = row.Eval
			}
		}
		ptq.WriteScores(log, rows, ds.Name, withSSIM)
	}
	if layerImages > 0 {
		layers, err := r.Layers(ds.Test, layerImages, dir)
		if err != nil {
			return err
		}
		ptq.WriteLayers(log, layers, layerImages)
	}
	return nil
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
