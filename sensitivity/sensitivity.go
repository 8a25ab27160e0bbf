// Package sensitivity measures how much each quantizable layer of a calibrated model costs in
// output quality (AIMET's QuantAnalyzer per-layer analysis): for every convolution's weights and
// every quantized activation, the PSNR when only that one is quantized (everything else float)
// and when everything but that one is quantized. It works on the fake-quantized model (the
// dequantized int8 weights and int32 biases, quantize/dequantize of the activations), which is
// what the integer graph computes up to rounding (diagnose measures that difference); the
// integer graph itself cannot run partly in float.
package sensitivity

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/quant"
)

// Kinds of quantizable unit.
const (
	Weights    = "weights"
	Activation = "activation"
)

// Entry is one quantizable unit: a convolution's weights (and int32 bias), or one activation
// group (values that share qparams).
type Entry struct {
	Node  string   `json:"node"`            // the conv (weights) or the activation's last value node
	Op    string   `json:"op"`              // its op
	Kind  string   `json:"kind"`            // weights | activation
	Layer string   `json:"layer,omitempty"` // for an activation: the conv whose output it is
	Nodes []string `json:"nodes,omitempty"` // for an activation: every value sharing the qparams
	Scale float32  `json:"scale,omitempty"` // for an activation: its scale
	// OnlyPSNR is the PSNR with only this unit quantized; OnlyDrop = FP32 - OnlyPSNR.
	OnlyPSNR float64 `json:"only_psnr"`
	OnlyDrop float64 `json:"only_drop_db"`
	// AllButPSNR is the PSNR with everything but this unit quantized; AllButGain = AllButPSNR -
	// the fully quantized PSNR (what keeping this unit in higher precision would win back).
	AllButPSNR float64 `json:"all_but_psnr"`
	AllButGain float64 `json:"all_but_gain_db"`
	// OnlyVsFP32 and AllButVsFP32 are the same configurations scored against the FP32 model's
	// output instead of the ground truth: the quantization error alone (higher is better).
	OnlyVsFP32   float64 `json:"only_vs_fp32_psnr"`
	AllButVsFP32 float64 `json:"all_but_vs_fp32_psnr"`
}

// Report is the analysis of one model.
type Report struct {
	Model    string  `json:"model"`
	Images   int     `json:"images"`
	FP32PSNR float64 `json:"fp32_psnr"`
	FQPSNR   float64 `json:"fake_quant_psnr"` // everything quantized
	FQVsFP32 float64 `json:"fake_quant_vs_fp32_psnr"`
	// Entries are ranked by OnlyDrop, largest first (ties by AllButGain, then graph order).
	Entries []Entry `json:"entries"`
}

// Options configures Analyze.
type Options struct {
	Images int // test images scored per configuration (batches of 64); 0: 512
}

// Analyze scores m's quantizable units on src (a test split).
func Analyze(m *quant.Model, src data.Source, opt Options) (*Report, error) {
	images := opt.Images
	if images == 0 {
		images = 512
	}
	batch := min(64, images)
	batches := (images + batch - 1) / batch
	// The test batches, their ground truth and the FP32 outputs, computed once.
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: batch})
	if err != nil {
		return nil, fmt.Errorf("test split: %v", err)
	}
	var lrs, hrs, fps []*engine.Tensor
	fp32 := m.PartialPredictor(quant.Selection{})
	n := 0
	for len(lrs) < batches {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		lr := engine.FromData(append([]float32(nil), b.LR...), b.N, data.Channels, b.H/2, b.W/2)
		y, err := fp32(lr)
		if err != nil {
			return nil, err
		}
		if len(y.Data) != len(b.HR) {
			return nil, fmt.Errorf("model output %v does not match the %dx%d ground truth", y.Shape, b.H, b.W)
		}
		lrs, hrs, fps = append(lrs, lr), append(hrs, engine.FromData(append([]float32(nil), b.HR...), len(b.HR))), append(fps, y)
		n += b.N
	}
	if n == 0 {
		return nil, fmt.Errorf("test split is empty")
	}
	// score returns the PSNR against the ground truth and against the FP32 output.
	score := func(sel quant.Selection) (float64, float64, error) {
		pred := m.PartialPredictor(sel)
		var gt, vs metrics.PSNRMeter
		for i, lr := range lrs {
			y, err := pred(lr)
			if err != nil {
				return 0, 0, err
			}
			gt.Add(y.Data, hrs[i].Data)
			vs.Add(y.Data, fps[i].Data)
		}
		return gt.Mean(), vs.Mean(), nil
	}
	rep := &Report{Model: m.Graph.Name, Images: n}
	if rep.FP32PSNR, _, err = score(quant.Selection{}); err != nil {
		return nil, err
	}
	if rep.FQPSNR, rep.FQVsFP32, err = score(m.All()); err != nil {
		return nil, err
	}
	type unit struct {
		e     Entry
		only  quant.Selection
		allBy quant.Selection
		order int
	}
	var units []unit
	order := map[string]int{}
	for i, n := range m.Graph.Nodes {
		order[n.Name] = i
	}
	for _, n := range m.Graph.Nodes {
		if m.Convs[n.Name] == nil {
			continue
		}
		u := unit{e: Entry{Node: n.Name, Op: string(n.Op), Kind: Weights}, order: order[n.Name]}
		u.only = quant.Selection{Weights: map[string]bool{n.Name: true}, Acts: map[int]bool{}}
		u.allBy = m.All()
		delete(u.allBy.Weights, n.Name)
		units = append(units, u)
	}
	for id, vals := range m.Plan.Groups {
		last := vals[len(vals)-1]
		nd := m.Graph.Node(last)
		e := Entry{Node: last, Op: string(nd.Op), Kind: Activation, Nodes: vals, Scale: m.Act[id].Scale}
		for _, v := range vals {
			if c, ok := m.Plan.FusedInto[v]; ok {
				e.Layer = c
			} else if vn := m.Graph.Node(v); vn != nil && (vn.Op == graph.OpConv2d || vn.Op == graph.OpConvTranspose2d) {
				e.Layer = v
			}
		}
		u := unit{e: e, order: order[last]}
		u.only = quant.Selection{Weights: map[string]bool{}, Acts: map[int]bool{id: true}}
		u.allBy = m.All()
		delete(u.allBy.Acts, id)
		units = append(units, u)
	}
	for i := range units {
		u := &units[i]
		if u.e.OnlyPSNR, u.e.OnlyVsFP32, err = score(u.only); err != nil {
			return nil, err
		}
		if u.e.AllButPSNR, u.e.AllButVsFP32, err = score(u.allBy); err != nil {
			return nil, err
		}
		u.e.OnlyDrop = rep.FP32PSNR - u.e.OnlyPSNR
		u.e.AllButGain = u.e.AllButPSNR - rep.FQPSNR
	}
	sort.SliceStable(units, func(i, j int) bool {
		a, b := units[i].e, units[j].e
		if a.OnlyDrop != b.OnlyDrop {
			return a.OnlyDrop > b.OnlyDrop
		}
		if a.AllButGain != b.AllButGain {
			return a.AllButGain > b.AllButGain
		}
		return units[i].order < units[j].order
	})
	for _, u := range units {
		rep.Entries = append(rep.Entries, u.e)
	}
	return rep, nil
}

// Table formats the report for a terminal.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sensitivity of %s over %d test images (fake-quant): FP32 %.3f dB, all quantized %.3f dB (%.2f dB against the FP32 output)\n", r.Model, r.Images, r.FP32PSNR, r.FQPSNR, r.FQVsFP32)
	fmt.Fprintf(&b, "PSNR against the ground truth; vs-FP32: against the FP32 output (the quantization error alone)\n")
	fmt.Fprintf(&b, "%-4s %-14s %-10s %-12s %-8s %9s %9s %9s %11s %9s %11s\n", "rank", "node", "kind", "op", "layer", "only", "drop", "only-vs-FP32", "all-but", "gain", "all-but-vs-FP32")
	for i, e := range r.Entries {
		layer := e.Layer
		if layer == "" {
			layer = "-"
		}
		fmt.Fprintf(&b, "%-4d %-14s %-10s %-12s %-8s %9.3f %9.3f %12.2f %11.3f %9.3f %15.2f\n", i+1, e.Node, e.Kind, e.Op, layer, e.OnlyPSNR, e.OnlyDrop, e.OnlyVsFP32, e.AllButPSNR, e.AllButGain, e.AllButVsFP32)
	}
	return b.String()
}
