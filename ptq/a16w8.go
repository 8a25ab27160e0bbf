package ptq

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/sensitivity"
)

// A16W8Auto configures --a16w8 auto:DB: pick the fewest activation groups (greedy, in the order
// of vgfq sensitivity's ranking of the activations) whose int16 quantization brings the executed
// integer graph's PSNR within DB dB of the FP32 model's, both measured on the first Images
// images of Source (with ground truth; the CLI passes the train split, so the test split the
// final table reports is not used for the choice).
type A16W8Auto struct {
	DB     float64
	Source data.Source
	Images int // 0: 256
}

// A16W8Trial is one selection the automatic choice scored.
type A16W8Trial struct {
	Int16 []string `json:"int16"`
	PSNR  float64  `json:"psnr"`
}

// A16W8Report is quant.json's ptq_options.a16w8: which activation groups are int16 and, for
// auto:DB, what was tried.
type A16W8Report struct {
	Requested []string         `json:"requested,omitempty"` // --a16w8 NODE,... as given
	Int16     []string         `json:"int16"`               // chosen groups (their last value node)
	Nodes     []string         `json:"int16_values"`        // every value stored as int16
	Scheme    string           `json:"scheme"`
	Auto      *A16W8AutoReport `json:"auto,omitempty"`
}

// A16W8AutoReport records the search of auto:DB.
type A16W8AutoReport struct {
	DB       float64      `json:"db"`
	Images   int          `json:"images"`
	FP32PSNR float64      `json:"fp32_psnr"`
	Target   float64      `json:"target_psnr"`
	Ranking  []string     `json:"ranking"` // eligible activations in sensitivity order
	Trials   []A16W8Trial `json:"trials"`  // the INT8 baseline first
	Reached  bool         `json:"reached"`
}

// ErrA16W8Unreached is returned (wrapped) when no selection reaches auto:DB's target.
var ErrA16W8Unreached = errors.New("no selection of int16 activations reaches the target")

// a16w8Scheme documents the activation spec in quant.json.
func a16w8Scheme(eps float32) string {
	e := "2^-12"
	if eps != 0 && eps != quant.Eps12 {
		e = fmt.Sprintf("%g", eps)
	}
	return "int16 [-32767, 32767] per-tensor symmetric (zero point 0), HistogramObserver eps " + e +
		" (ExecuTorch get_symmetric_a16w8_quantization_config); weights int8 per-channel, bias int32 (stored INT48 for a 16x8 CONV2D)"
}

func (r *A16W8Report) fill(m *quant.Model) {
	r.Scheme = a16w8Scheme(m.Config.A16W8Eps)
	r.Int16 = m.A16W8()
	r.Nodes = nil
	for id, q := range m.Act {
		if q.Int16 {
			r.Nodes = append(r.Nodes, m.Plan.Groups[id]...)
		}
	}
	if r.Int16 == nil {
		r.Int16 = []string{}
	}
}

// chooseA16W8 runs the greedy search of auto:DB on the calibrated observers.
func chooseA16W8(cal *quant.Calibrator, base *quant.Model, opt Options, log io.Writer) (*quant.Model, *A16W8Report, error) {
	a := opt.A16W8Auto
	n := a.Images
	if n == 0 {
		n = 256
	}
	rep := &A16W8Report{}
	rep.Auto = &A16W8AutoReport{DB: a.DB}
	// The sensitivity ranking of the activations on the selection images.
	sens, err := sensitivity.Analyze(base, a.Source, sensitivity.Options{Images: n})
	if err != nil {
		return nil, nil, fmt.Errorf("a16w8 auto: sensitivity: %v", err)
	}
	plan := base.Plan
	eligible := map[int]bool{}
	for _, c := range plan.A16W8Candidates() {
		eligible[c.Group] = true
	}
	var order []int
	for _, e := range sens.Entries {
		if e.Kind != sensitivity.Activation {
			continue
		}
		if id, ok := plan.Group[e.Node]; ok && eligible[id] {
			order = append(order, id)
			rep.Auto.Ranking = append(rep.Auto.Ranking, e.Node)
		}
	}
	// Score the executed integer graph on the same images the ranking used.
	batches, err := selectionBatches(a.Source, n)
	if err != nil {
		return nil, nil, err
	}
	rep.Auto.Images = sens.Images
	rep.Auto.FP32PSNR = sens.FP32PSNR
	rep.Auto.Target = sens.FP32PSNR - a.DB
	score := func(m *quant.Model) (float64, error) {
		res, err := lower.Lower(m, lower.Options{Layout: opt.Layout})
		if err != nil {
			return 0, err
		}
		pred, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
		if err != nil {
			return 0, err
		}
		var meter metrics.PSNRMeter
		for _, b := range batches {
			y, err := pred(b[0])
			if err != nil {
				return 0, err
			}
			meter.Add(y.Data, b[1].Data)
		}
		return meter.Mean(), nil
	}
	sel := map[int]bool{}
	m := base
	best, bestSel := -1e300, []string(nil)
	for k := 0; ; k++ {
		psnr, err := score(m)
		if err != nil {
			return nil, nil, fmt.Errorf("a16w8 auto: %v", err)
		}
		names := plan.GroupNames(sel)
		if names == nil {
			names = []string{}
		}
		rep.Auto.Trials = append(rep.Auto.Trials, A16W8Trial{Int16: names, PSNR: psnr})
		if log != nil {
			fmt.Fprintf(log, "a16w8 auto: int16 [%s]: %.3f dB (target %.3f = FP32 %.3f - %g, %d train images)\n",
				strings.Join(names, ","), psnr, rep.Auto.Target, rep.Auto.FP32PSNR, a.DB, rep.Auto.Images)
		}
		if psnr > best {
			best, bestSel = psnr, names
		}
		if psnr >= rep.Auto.Target {
			rep.Auto.Reached = true
			break
		}
		if k == len(order) {
			return nil, nil, &OptionError{fmt.Errorf("--a16w8 auto:%g: %w: FP32 %.3f dB - %g = %.3f dB on %d train images; the best was %.3f dB with int16 [%s]; allow a larger DB or choose layers with --a16w8 NODE,...",
				a.DB, ErrA16W8Unreached, rep.Auto.FP32PSNR, a.DB, rep.Auto.Target, rep.Auto.Images, best, strings.Join(bestSel, ","))}
		}
		sel[order[k]] = true
		if m, err = cal.ConvertA16W8(sel); err != nil {
			return nil, nil, err
		}
	}
	rep.fill(m)
	return m, rep, nil
}

// OptionError is an error caused by an option's value (an unknown --a16w8 node, an
// unreachable auto:DB); the CLI reports it as bad input (exit 2).
type OptionError struct{ Err error }

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// selectionBatches loads the first n images of src (batches of up to 64) as LR input and HR
// target pairs, in the order sensitivity.Analyze reads them.
func selectionBatches(src data.Source, n int) ([][2]*engine.Tensor, error) {
	batch := min(64, n)
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: batch})
	if err != nil {
		return nil, err
	}
	var out [][2]*engine.Tensor
	for len(out) < (n+batch-1)/batch {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		lr := engine.FromData(append([]float32(nil), b.LR...), b.N, data.Channels, b.H/2, b.W/2)
		out = append(out, [2]*engine.Tensor{lr, engine.FromData(append([]float32(nil), b.HR...), len(b.HR))})
	}
	return out, nil
}
