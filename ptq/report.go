package ptq

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/diagnose"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/train"
)

// This file is the export-and-score path that PTQ and QAT share: lower a converted model,
// score FP32 / fake-quant / INT8 on test images, trace the per-layer error.

// FromModel lowers a converted model (from quant.Calibrator.Convert or quant.QAT.Convert) into
// a Result that exports and scores like Quantize's. folded is reported as Result.Folded.
func FromModel(m *quant.Model, folded int, layout lower.Layout) (*Result, error) {
	low, err := lower.Lower(m, lower.Options{Layout: layout})
	if err != nil {
		return nil, err
	}
	return &Result{Graph: m.Graph, Folded: folded, Model: m, Lowered: low}, nil
}

// LayersFile is the per-layer error table Layers writes.
const LayersFile = "layers.json"

// Score is one row of the quality table.
type Score struct {
	Name string            `json:"name"`
	Eval *train.EvalResult `json:"eval"`
}

// ScoreOptions configures Result.Score.
type ScoreOptions struct {
	Images int  // test images scored (rounded up to batches of 64); 0: 3200, the tutorial's 50 batches
	SSIM   bool // also SSIM (needs images of at least 11x11)
	// Float is the float model of the FP32 row (default: the graph that was quantized).
	Float *graph.Graph
	// ExportDir, if set, is where Export wrote the artifacts: the INT8 row then executes the
	// written model.vgf (decoded, bit-exactly) instead of the in-memory TOSA graph.
	ExportDir string
}

// Score evaluates the float model, the fake-quant model (converted qparams and weights) and the
// INT8 graph on the first images of test: rows "FP32", "fake-quant", "INT8 (.vgf)" (or
// "INT8 (.tosa)" without ExportDir).
func (r *Result) Score(test data.Source, opt ScoreOptions) ([]Score, error) {
	images := opt.Images
	if images <= 0 {
		images = 3200
	}
	batches := (images + 63) / 64
	fl := opt.Float
	if fl == nil {
		fl = r.Graph
	}
	int8name := "INT8 (.tosa)"
	int8pred, err := lower.Int8Predictor(r.Lowered, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	if opt.ExportDir != "" {
		int8name = "INT8 (.vgf)"
		if int8pred, err = VGFPredictor(filepath.Join(opt.ExportDir, "model.vgf"), r.Lowered); err != nil {
			return nil, err
		}
	}
	preds := []struct {
		name string
		p    train.Predictor
	}{
		{"FP32", train.GraphPredictor(fl)},
		{"fake-quant", train.Predictor(r.Model.FakeQuantPredictor())},
		{int8name, train.Predictor(int8pred)},
	}
	var out []Score
	for _, p := range preds {
		ev, err := train.EvaluatePredictor(p.p, test, 64, batches, opt.SSIM, nil)
		if err != nil {
			return nil, fmt.Errorf("%s evaluation: %v", p.name, err)
		}
		out = append(out, Score{Name: p.name, Eval: ev})
	}
	return out, nil
}

// VGFPredictor decodes a written .vgf and returns a predictor that quantizes images with the IO
// contract of low (the lowering that produced the file), executes the decoded integer graph
// bit-exactly and dequantizes the output.
func VGFPredictor(path string, low *lower.Result) (func(*engine.Tensor) (*engine.Tensor, error), error) {
	m, err := inspect.Load(path)
	if err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%s: no executable graph: %v", path, m.GraphErr)
	}
	if len(m.Graph.Inputs) != 1 || len(m.Graph.Outputs) != 1 || len(low.Inputs) != 1 || len(low.Outputs) != 1 {
		return nil, fmt.Errorf("%s: scoring needs one input and one output", path)
	}
	res := &lower.Result{Graph: m.Graph, Inputs: append([]lower.IO(nil), low.Inputs...), Outputs: append([]lower.IO(nil), low.Outputs...)}
	res.Inputs[0].Name = m.Graph.Inputs[0]
	res.Outputs[0].Name = m.Graph.Outputs[0]
	return lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
}

// WriteScores prints the quality table (and the bilinear baseline) to w.
func WriteScores(w io.Writer, scores []Score, dataset string, withSSIM bool) {
	if len(scores) == 0 {
		return
	}
	fmt.Fprintf(w, "%-14s %9s %8s   (%s test split, %d images)\n", "", "PSNR dB", "SSIM", dataset, scores[0].Eval.Images)
	row := func(name string, p, s float64) {
		if withSSIM {
			fmt.Fprintf(w, "%-14s %9.3f %8.4f\n", name, p, s)
		} else {
			fmt.Fprintf(w, "%-14s %9.3f %8s\n", name, p, "-")
		}
	}
	for _, s := range scores {
		row(s.Name, s.Eval.PSNR, s.Eval.SSIM)
	}
	last := scores[len(scores)-1].Eval
	row("bilinear", last.BaselinePSNR, last.BaselineSSIM)
}

// Layers traces the first images of test through float, fake-quant and INT8 and returns, per
// quantized tensor, the SQNR against float; with dir set it writes the table as layers.json.
func (r *Result) Layers(test data.Source, images int, dir string) ([]diagnose.Layer, error) {
	loader, err := data.NewLoader(test, data.LoaderOptions{BatchSize: min(images, 64)})
	if err != nil {
		return nil, err
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
	layers, err := diagnose.PerLayer(r.Model, r.Lowered, batches)
	if err != nil {
		return nil, fmt.Errorf("per-layer trace: %v", err)
	}
	if dir != "" {
		js, err := json.MarshalIndent(map[string]any{"format": "vgfq-layers/1", "images": images, "layers": layers}, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, LayersFile), append(js, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	return layers, nil
}

// WriteLayers prints the per-layer table to w.
func WriteLayers(w io.Writer, layers []diagnose.Layer, images int) {
	fmt.Fprintf(w, "per-layer error over %d test images (SQNR against float, dB; higher is better):\n", images)
	fmt.Fprintf(w, "  %-12s %-12s %10s %5s %10s %8s %11s %8s\n", "node", "op", "scale", "zp", "fake-quant", "INT8", "INT8-vs-FQ", "clipped")
	for _, l := range layers {
		mark := ""
		if l.Int16 {
			mark = "  int16 (a16w8)"
		}
		fmt.Fprintf(w, "  %-12s %-12s %10.6f %5d %10.2f %8.2f %8.0f stp %7.3f%%%s\n", l.Node, l.Op, l.Scale, l.ZP, l.FakeQuantSQNR, l.Int8SQNR, l.Int8VsFakeQuantMax, 100*l.Clipped, mark)
	}
}

// SampleImage is the first image of src at the model's input size (the scenario's input.npy).
func SampleImage(src data.Source) (*engine.Tensor, error) {
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

// SSIMFits reports whether src's images are large enough for SSIM's 11x11 window.
func SSIMFits(src data.Source) bool {
	h, w := src.Size()
	return h >= metrics.SSIMWinSize && w >= metrics.SSIMWinSize
}
