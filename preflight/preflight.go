// Package preflight answers, before any calibration or training, whether a model lowers to an
// INT8 TOSA graph in a single VGF: one verdict per node with the reason and a fix for each that
// does not (vgfq check).
//
// ONNX models are imported past unsupported nodes (each is reported); a model that imports is
// then put through the real PTQ path — BatchNorm folding, annotation, a one-image min/max
// calibration (or the QDQ model's own scales), conversion and lowering — so that the verdict is
// the lowering's own. Lowering stops at the first node it cannot express; later nodes are then
// reported as not reached.
package preflight

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/quant"
)

// Status of a node.
const (
	OK         = "ok"          // lowers
	Folded     = "folded"      // evaluated at import (constants, shape arithmetic) or an alias
	Unsup      = "unsupported" // cannot be imported
	Fails      = "fails"       // imported, but the lowering refuses it
	NotReached = "not reached" // after a node the lowering refused
)

// Node is one node's verdict.
type Node struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the result of Check.
type Report struct {
	Model string `json:"model"`
	Kind  string `json:"kind"`
	OK    bool   `json:"ok"`
	Nodes []Node `json:"nodes"`
	// TOSAOps is the size of the lowered graph (when everything lowers).
	TOSAOps int `json:"tosa_ops,omitempty"`
}

// Check checks a loaded model (load ONNX models with model.Options.KeepGoing).
func Check(spec string, l *model.Loaded) *Report {
	r := &Report{Model: spec, Kind: string(l.Kind)}
	var fails map[string]error
	var failErr error
	var lowered *lower.Result
	complete := l.ONNX == nil || len(l.ONNX.Issues) == 0
	// A partial import (unsupported nodes) still puts its imported part through the lowering.
	tried := complete || len(l.Graph.Outputs) > 0
	if tried {
		lowered, fails, failErr = dryRun(l)
		if !complete && failErr != nil {
			failErr = nil // the part's own trouble (e.g. no output) is not the model's
		}
	}
	// Graph node -> verdict.
	after := false
	gstat := map[string]Node{}
	if tried {
		for _, n := range l.Graph.Nodes {
			v := Node{Node: n.Name, Op: string(n.Op), Status: OK}
			if err, ok := fails[n.Name]; ok {
				v.Status = Fails
				v.Reason, v.Fix = splitFix(err.Error())
			} else if after {
				v.Status = NotReached
			} else if failErr != nil && len(fails) == 0 {
				// A failure no node owns: report it on the first node, the rest not reached.
				v.Status = Fails
				v.Reason, v.Fix = splitFix(failErr.Error())
				after = true
			}
			gstat[n.Name] = v
		}
	}
	if l.ONNX == nil {
		for _, n := range l.Graph.Nodes {
			r.Nodes = append(r.Nodes, gstat[n.Name])
		}
	} else {
		// ONNX node -> the worst verdict of its graph nodes.
		byONNX := map[string][]string{}
		for g, ref := range l.ONNX.Origin {
			byONNX[ref.Name] = append(byONNX[ref.Name], g)
		}
		rank := map[string]int{OK: 0, NotReached: 1, Fails: 2}
		for _, in := range l.ONNX.Inputs {
			v := Node{Node: in.Name, Op: "input", Status: OK}
			if s, ok := gstat[in.Name]; ok {
				v.Status, v.Reason, v.Fix = s.Status, s.Reason, s.Fix
			}
			r.Nodes = append(r.Nodes, v)
		}
		for _, info := range l.ONNX.List {
			v := Node{Node: info.Name, Op: info.Op, Status: Folded}
			switch {
			case info.Issue != nil && info.Issue.Blocked:
				v.Status, v.Reason = NotReached, info.Issue.Reason
			case info.Issue != nil:
				v.Status, v.Reason, v.Fix = Unsup, info.Issue.Reason, info.Issue.Fix
			case !tried:
				if len(byONNX[info.Name]) > 0 {
					v.Status = "imports"
				}
			default:
				for _, g := range byONNX[info.Name] {
					s, ok := gstat[g]
					if !ok {
						to, fused := l.ONNX.FusedInto[g]
						if s, ok = gstat[to]; !fused || !ok {
							continue
						}
						if s.Status == OK {
							s.Reason = fmt.Sprintf("fused into %s (%s)", to, s.Op)
						}
					}
					if v.Status == Folded || rank[s.Status] > rank[v.Status] {
						v.Status, v.Reason, v.Fix = s.Status, s.Reason, s.Fix
					}
				}
			}
			r.Nodes = append(r.Nodes, v)
		}
	}
	r.OK = complete && failErr == nil && len(fails) == 0
	if lowered != nil {
		r.TOSAOps = len(lowered.Graph.Ops)
	}
	return r
}

// splitFix separates "reason; use X" into reason and fix.
func splitFix(s string) (string, string) {
	for _, sep := range []string{"; use ", "; put ", "; quantize ", "; give ", "; remove "} {
		if i := strings.LastIndex(s, sep); i >= 0 {
			return s[:i], s[i+2:]
		}
	}
	return s, ""
}

// dryRun runs the PTQ path on one seeded random image (or with the QDQ scales) and lowers. When
// the lowering refuses a node, that node is replaced by a constant of its output shape and the
// lowering runs again, so that every refused node is found (not only the first). It returns the
// lowered graph (nil if anything was refused), the refused nodes with their errors, and an error
// that no node owns.
func dryRun(l *model.Loaded) (res *lower.Result, fails map[string]error, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	fails = map[string]error{}
	if l.ONNX != nil && l.ONNX.QDQ != nil {
		res, err = lower.Lower(l.ONNX.QDQ.Model, lower.Options{})
		if err != nil {
			if n := nodeOf(err); n != "" {
				return nil, map[string]error{n: inner(err)}, nil
			}
			return nil, fails, err
		}
		return res, fails, nil
	}
	g, _, err := graph.FoldBatchNorm(l.Graph)
	if err != nil {
		if n := nodeOf(err); n != "" {
			return nil, map[string]error{n: err}, nil
		}
		return nil, fails, err
	}
	ins := g.Inputs()
	if len(ins) != 1 {
		return nil, fails, fmt.Errorf("the model has %d inputs; vgfq's INT8 flow takes one image input", len(ins))
	}
	x := engine.New(ins[0].Attrs.Shape...)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	for range len(g.Nodes) + 1 {
		res, node, err := lowerOnce(g, x)
		if err == nil {
			if len(fails) > 0 {
				return nil, fails, nil
			}
			return res, fails, nil
		}
		n := g.Node(node)
		if n == nil || n.Op == graph.OpInput || fails[node] != nil {
			return nil, fails, err
		}
		fails[node] = inner(err)
		// Stand in a constant with values in [-1, 1] (ordinary qparams downstream).
		c := engine.New(n.Shape...)
		for i := range c.Data {
			c.Data[i] = float32(i%7)/3 - 1
		}
		p := "preflight.standin." + n.Name
		g.Params[p] = c
		n.Op, n.Inputs, n.Params, n.Attrs = graph.OpConst, nil, map[string]string{"value": p}, graph.Attrs{}
		if err := g.InferShapes(); err != nil {
			return nil, fails, err
		}
	}
	return nil, fails, nil
}

func lowerOnce(g *graph.Graph, x *engine.Tensor) (*lower.Result, string, error) {
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		return nil, nodeOf(err), err
	}
	cal := quant.NewCalibrator(plan, quant.Config{Observer: quant.MinMaxRange})
	if err := cal.Observe(x); err != nil {
		return nil, nodeOf(err), err
	}
	m, err := cal.Convert()
	if err != nil {
		return nil, nodeOf(err), err
	}
	res, err := lower.Lower(m, lower.Options{})
	if err != nil {
		return nil, nodeOf(err), err
	}
	return res, "", nil
}

// inner drops the "node X (op): " prefix (the report's line names the node already).
func inner(err error) error {
	var ne *graph.NodeError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

func nodeOf(err error) string {
	var ne *graph.NodeError
	if errors.As(err, &ne) {
		return ne.Node
	}
	return ""
}

// Print writes one line per node and a verdict.
func (r *Report) Print(w io.Writer) {
	width := 4
	for _, n := range r.Nodes {
		width = max(width, min(len(n.Node), 40))
	}
	bad := 0
	for _, n := range r.Nodes {
		line := fmt.Sprintf("%-11s %-*s  %-18s", n.Status, width, n.Node, n.Op)
		if n.Reason != "" {
			line += "  " + n.Reason
		}
		if n.Fix != "" {
			line += " -> fix: " + n.Fix
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		if n.Status == Unsup || n.Status == Fails {
			bad++
		}
	}
	if r.OK {
		fmt.Fprintf(w, "%s: every node lowers to TOSA 1.0 INT (%d operators, one VGF)\n", r.Model, r.TOSAOps)
	} else {
		fmt.Fprintf(w, "%s: %d node(s) do not lower\n", r.Model, bad)
	}
}
