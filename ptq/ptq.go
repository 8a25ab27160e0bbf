// Package ptq is vgfq's post-training quantization as one call, for programs that use vgfq as
// a library ("apply it to your own model"): a float graph and representative images in, an INT8
// TOSA 1.0 graph and its VGF artifacts out.
//
//	res, err := ptq.Quantize(g, images, ptq.Options{})         // fold BN, annotate, calibrate, convert, lower
//	art, err := res.Export("output", sampleImage, false)        // model.tosa, quant.json, model.vgf, io.json, scenario.json, .npy
//
// The steps are the packages' own (graph.FoldBatchNorm, quant.Annotate, quant.Calibrator,
// lower.Lower, tosa.Encode, export.WriteVGF); this package only sequences them. Options.CLE,
// Options.AdaRound and Options.BiasCorrection add the named improvements (quant.EqualizeCrossLayer,
// quant.Model.AdaRound, quant.Model.CorrectBias); Calibrate stops before the lowering.
package ptq

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
)

// Options configures Quantize. The zero value is the ExecuTorch-compatible default: histogram
// observers with the L2 search, eps 2^-16, NHWC graph I/O, batch 1.
type Options struct {
	Quant     quant.Config
	KeepFloat []string // nodes to keep in float (the lowering then refuses the graph)
	Layout    lower.Layout

	// Named improvements over the ExecuTorch-compatible default, all off by default and
	// recorded in quant.json (ptq_options). They run in this order: CLE on the float graph
	// before calibration, AdaRound on the converted weights, bias correction last.
	CLE            bool                  // cross-layer equalization (quant.EqualizeCrossLayer)
	AdaRound       *quant.AdaRoundConfig // adaptive rounding of the weights (quant.Model.AdaRound)
	BiasCorrection bool                  // empirical bias correction (quant.Model.CorrectBias)
	// Mixed precision a16w8 (docs/a16w8.md): the activation groups named (any value of the
	// group, or a conv whose activation is fused) are int16; or A16W8Auto chooses them.
	A16W8     []string
	A16W8Auto *A16W8Auto
	A16W8Log  io.Writer // auto:DB prints its trials here (nil: silent)
}

// Applied records what the named options did (quant.json's ptq_options).
type Applied struct {
	CLE                   bool                   `json:"cle"`
	CLEReport             *quant.CLEReport       `json:"cle_report,omitempty"`
	AdaRound              *quant.AdaRoundConfig  `json:"adaround"`
	AdaRoundLayers        []quant.AdaRoundLayer  `json:"adaround_layers,omitempty"`
	BiasCorrection        bool                   `json:"bias_correction"`
	BiasCorrections       []quant.BiasCorrection `json:"bias_corrections,omitempty"`
	BiasCorrectionSkipped []string               `json:"bias_correction_skipped,omitempty"`
	A16W8                 *A16W8Report           `json:"a16w8,omitempty"`
}

// Result is a quantized and lowered model.
type Result struct {
	Graph   *graph.Graph  // the float graph that was quantized (BatchNorm folded)
	Folded  int           // BatchNorm2d nodes folded into convolutions
	Model   *quant.Model  // qparams, int8 weights, int32 biases; runs as fake-quant
	Lowered *lower.Result // the TOSA 1.0 INT graph with its tensor and RESCALE records
	Applied Applied       // what the named options did
	// Extra holds further top-level sections of quant.json (QAT writes its training-time vs
	// exported qparams under "qat").
	Extra map[string]any
}

// Quantize folds BatchNorm, annotates g for the TOSA INT quantizer, observes every image that
// images yields (each N x C x H x W float, at the graph's input size; the tutorial uses 500
// single images), converts and lowers. progress, if not nil, is called after each image batch
// with the number of images observed so far.
func Quantize(g *graph.Graph, images iter.Seq2[*engine.Tensor, error], opt Options, progress func(n int)) (*Result, error) {
	r, err := Calibrate(g, images, opt, progress)
	if err != nil {
		return nil, err
	}
	if r.Lowered, err = lower.Lower(r.Model, lower.Options{Layout: opt.Layout}); err != nil {
		return nil, err
	}
	return r, nil
}

// Calibrate is Quantize without the lowering: the float graph (BatchNorm folded, equalized with
// --cle) and the converted model with the options applied; Result.Lowered is nil.
func Calibrate(g *graph.Graph, images iter.Seq2[*engine.Tensor, error], opt Options, progress func(n int)) (*Result, error) {
	fg, folded, err := graph.FoldBatchNorm(g)
	if err != nil {
		return nil, err
	}
	var applied Applied
	if opt.AdaRound != nil {
		cfg := opt.AdaRound.WithDefaults()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("adaround: %v", err)
		}
		applied.AdaRound = &cfg
	}
	if opt.CLE {
		eg, rep, err := quant.EqualizeCrossLayer(fg)
		if err != nil {
			return nil, err
		}
		fg, applied.CLE, applied.CLEReport = eg, true, rep
	}
	plan, err := quant.Annotate(fg, quant.Options{KeepFloat: opt.KeepFloat})
	if err != nil {
		return nil, err
	}
	var int16 map[int]bool
	if len(opt.A16W8) > 0 {
		if opt.A16W8Auto != nil {
			return nil, &OptionError{errors.New("--a16w8: give node names or auto:DB, not both")}
		}
		if int16, err = plan.A16W8Groups(opt.A16W8); err != nil {
			return nil, &OptionError{err}
		}
	}
	if opt.A16W8Auto != nil {
		if a := opt.A16W8Auto; !(a.DB >= 0) || a.Source == nil || a.Source.Len() == 0 {
			return nil, &OptionError{fmt.Errorf("--a16w8 auto:%g: need a non-negative DB and selection images", a.DB)}
		}
		if len(plan.A16W8Candidates()) == 0 {
			return nil, &OptionError{fmt.Errorf("--a16w8 auto: graph %q has no activation that can be int16 (graph inputs and outputs stay int8; activations feeding table-lowered ops cannot be int16)", plan.Graph.Name)}
		}
	}
	keep := opt.BiasCorrection || opt.AdaRound != nil
	var kept []*engine.Tensor
	cal := quant.NewCalibrator(plan, opt.Quant)
	for x, err := range images {
		if err != nil {
			return nil, err
		}
		if err := cal.Observe(x); err != nil {
			return nil, err
		}
		if keep {
			kept = append(kept, x)
		}
		if progress != nil {
			progress(cal.Images())
		}
	}
	m, err := cal.Convert()
	if err != nil {
		return nil, err
	}
	switch {
	case int16 != nil:
		if m, err = cal.ConvertA16W8(int16); err != nil {
			return nil, err
		}
		applied.A16W8 = &A16W8Report{Requested: opt.A16W8}
		applied.A16W8.fill(m)
	case opt.A16W8Auto != nil:
		if m, applied.A16W8, err = chooseA16W8(cal, m, opt, opt.A16W8Log); err != nil {
			return nil, err
		}
	}
	if applied.AdaRound != nil {
		if applied.AdaRoundLayers, err = m.AdaRound(kept, *applied.AdaRound); err != nil {
			return nil, err
		}
	}
	if opt.BiasCorrection {
		applied.BiasCorrection = true
		if applied.BiasCorrections, applied.BiasCorrectionSkipped, err = m.CorrectBias(kept); err != nil {
			return nil, err
		}
	}
	return &Result{Graph: fg, Folded: folded, Model: m, Applied: applied}, nil
}

// Files written by Export besides export.WriteVGF's.
const (
	TOSAFile    = "model.tosa"
	SummaryFile = "quant.json"
)

// Export writes into dir: model.tosa, quant.json (every tensor's scale/zero point, every
// RESCALE's multiplier/shift) and, through export.WriteVGF, model.vgf, io.json, scenario.json,
// input.npy (sample, one float N=1 image at the input size, quantized with the input's qparams)
// and expected_output.npy. The .vgf is verified by decoding it and running it on the sample.
// Every file is written atomically.
func (r *Result) Export(dir string, sample *engine.Tensor, debugInfo bool) (*export.Artifacts, error) {
	buf, err := tosa.Encode(r.Lowered.Graph)
	if err != nil {
		return nil, err
	}
	summary, err := r.Summary()
	if err != nil {
		return nil, err
	}
	in := r.Lowered.Inputs[0]
	s := sample.Shape
	if len(s) != 4 || s[0] != 1 {
		return nil, fmt.Errorf("ptq: sample input is %v, want one 1 x C x H x W image", s)
	}
	qin := lower.QuantizeInput(sample.Data, s[1], s[2], s[3], in)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, TOSAFile), buf, 0o644); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, SummaryFile), summary, 0o644); err != nil {
		return nil, err
	}
	return export.WriteVGF(r.Lowered, dir, export.Options{DebugInfo: debugInfo, Inputs: []*tosa.Tensor{qin}, Verify: true})
}

// Summary is quant.json: the calibration settings, the graph I/O, every int8 tensor's scale and
// zero point (with the observed range), every RESCALE's scales, multipliers and shifts and the
// node it came from, and each convolution's weight and bias scales.
func (r *Result) Summary() ([]byte, error) {
	m := r.Model
	type convSummary struct {
		Node         string    `json:"node"`
		WeightScales []float32 `json:"weight_scales"`
		BiasScales   []float32 `json:"bias_scales"`
	}
	var convs []convSummary
	for _, n := range m.Graph.Nodes {
		if cq := m.Convs[n.Name]; cq != nil {
			convs = append(convs, convSummary{Node: n.Name, WeightScales: cq.WeightScales, BiasScales: cq.BiasScales})
		}
	}
	eps := m.Config.Eps
	if eps == 0 {
		eps = quant.Eps16
	}
	doc := map[string]any{
		"format":             "vgfq-quant-summary/1",
		"graph":              m.Graph.Name,
		"calibration_images": m.Images,
		"calibrator":         m.Config.Observer.String(),
		"eps":                eps,
		"inputs":             r.Lowered.Inputs,
		"outputs":            r.Lowered.Outputs,
		"tensors":            r.Lowered.Tensors,
		"rescales":           r.Lowered.Rescales,
		"convolutions":       convs,
		"ptq_options":        r.Applied,
	}
	for k, v := range r.Extra {
		doc[k] = v
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("quant summary: %v", err)
	}
	return append(b, '\n'), nil
}
