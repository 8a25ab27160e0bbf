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
	var failNode string
	var failErr error
	var lowered *lower.Result
	complete := l.ONNX == nil || len(l.ONNX.Issues) == 0
	if complete {
		lowered, failNode, failErr = dryRun(l)
	}
	// Graph node -> verdict.
	after := false
	gstat := map[string]Node{}
	if complete {
		for _, n := range l.Graph.Nodes {
			v := Node{Node: n.Name, Op: string(n.Op), Status: OK}
			switch {
			case after:
				v.Status = NotReached
			case failErr != nil && (n.Name == failNode || failNode == ""):
				v.Status, v.Reason = Fails, failErr.Error()
				v.Reason, v.Fix = splitFix(v.Reason)
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
			case !complete:
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
	r.OK = complete && failErr == nil
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

// dryRun runs the PTQ path on one seeded random image (or with the QDQ scales) and lowers.
func dryRun(l *model.Loaded) (res *lower.Result, node string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	var m *quant.Model
	if l.ONNX != nil && l.ONNX.QDQ != nil {
		m = l.ONNX.QDQ.Model
	} else {
		g, _, err := graph.FoldBatchNorm(l.Graph)
		if err != nil {
			return nil, nodeOf(err), err
		}
		plan, err := quant.Annotate(g, quant.Options{})
		if err != nil {
			return nil, "", err
		}
		cal := quant.NewCalibrator(plan, quant.Config{Observer: quant.MinMaxRange})
		ins := g.Inputs()
		if len(ins) != 1 {
			return nil, "", fmt.Errorf("the model has %d inputs; vgfq's INT8 flow takes one image input", len(ins))
		}
		x := engine.New(ins[0].Attrs.Shape...)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range x.Data {
			x.Data[i] = rng.Float32()
		}
		if err := cal.Observe(x); err != nil {
			return nil, nodeOf(err), err
		}
		if m, err = cal.Convert(); err != nil {
			return nil, nodeOf(err), err
		}
	}
	res, err = lower.Lower(m, lower.Options{})
	if err != nil {
		return nil, nodeOf(err), err
	}
	return res, "", nil
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
