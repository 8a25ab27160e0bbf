package inspect

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/tosa"
)

// Model Explorer's JSON graph format, as Google's Model Explorer (github.com/google-ai-edge/
// model-explorer) defines it for graphs an adapter returns or a .json file holds: its
// TypeScript types (src/ui/src/components/visualizer/common/input_graph.ts, types.ts) and the
// Python dataclasses of the adapter API (model_explorer/graph_builder.py). A file holds one
// GraphCollection {label, graphs}; each Graph {id, nodes}; each GraphNode {id, label, namespace,
// attrs, incomingEdges, inputsMetadata, outputsMetadata, style}. Edges are stored on their target
// node as incoming edges naming the source node and output and the target input (ids are
// strings, "0", "1", ...).

// MECollection is a Model Explorer graph collection.
type MECollection struct {
	Label  string    `json:"label"`
	Graphs []MEGraph `json:"graphs"`
}

// MEGraph is one graph of a collection.
type MEGraph struct {
	ID    string   `json:"id"`
	Nodes []MENode `json:"nodes"`
}

// MENode is one node.
type MENode struct {
	ID              string           `json:"id"`
	Label           string           `json:"label"`
	Namespace       string           `json:"namespace"`
	Attrs           []MEKeyValue     `json:"attrs,omitempty"`
	IncomingEdges   []MEIncomingEdge `json:"incomingEdges,omitempty"`
	InputsMetadata  []MEMetadata     `json:"inputsMetadata,omitempty"`
	OutputsMetadata []MEMetadata     `json:"outputsMetadata,omitempty"`
	Style           *MEStyle         `json:"style,omitempty"`
}

// MEKeyValue is an attribute; Model Explorer shows the value as text.
type MEKeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// MEIncomingEdge is an edge into a node.
type MEIncomingEdge struct {
	SourceNodeID       string `json:"sourceNodeId"`
	SourceNodeOutputID string `json:"sourceNodeOutputId"`
	TargetNodeInputID  string `json:"targetNodeInputId"`
}

// MEMetadata describes one input or output of a node.
type MEMetadata struct {
	ID    string       `json:"id"`
	Attrs []MEKeyValue `json:"attrs"`
}

// MEStyle is a node's colours.
type MEStyle struct {
	BackgroundColor string `json:"backgroundColor,omitempty"`
	BorderColor     string `json:"borderColor,omitempty"`
}

// QuantInfo holds the quantization records vgfq writes next to an export (quant.json): the
// scale and zero point of every int8 tensor and the purpose and parameters of every RESCALE.
type QuantInfo struct {
	Tensors  []lower.TensorInfo  `json:"tensors"`
	Rescales []lower.RescaleInfo `json:"rescales"`
	aliases  map[string]string   // model tensor name -> name in quant.json
}

func (q *QuantInfo) name(n string) string {
	if q == nil {
		return n
	}
	if a, ok := q.aliases[n]; ok {
		return a
	}
	return n
}

// QuantInfo reads the quant.json next to the model file, if there is one (nil, nil if not). For a
// VGF, whose tensors are renamed in the SPIR-V module unless it was exported with debug info,
// the model.tosa next to it supplies the names: when its operators are the VGF's, one for one,
// the VGF's tensors are matched to the TOSA tensors by position.
func (m *Model) QuantInfo() (*QuantInfo, error) {
	p := filepath.Join(filepath.Dir(m.Path), "quant.json")
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var q QuantInfo
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	if m.Format == FormatVGF && m.Graph != nil {
		if t, err := Load(filepath.Join(filepath.Dir(m.Path), "model.tosa")); err == nil && t.Graph != nil {
			q.aliases = alignNames(m.Graph, t.Graph)
		}
	}
	return &q, nil
}

// alignNames maps the tensor names of g to those of ref when both have the same operators with
// the same numbers of inputs and outputs in the same order (nil otherwise).
func alignNames(g, ref *tosa.Graph) map[string]string {
	if len(g.Ops) != len(ref.Ops) || len(g.Inputs) != len(ref.Inputs) || len(g.Outputs) != len(ref.Outputs) {
		return nil
	}
	a := map[string]string{}
	for i, n := range g.Inputs {
		a[n] = ref.Inputs[i]
	}
	for i, op := range g.Ops {
		r := ref.Ops[i]
		if op.Op != r.Op || len(op.Inputs) != len(r.Inputs) || len(op.Outputs) != len(r.Outputs) {
			return nil
		}
		for k, o := range op.Outputs {
			a[o] = r.Outputs[k]
		}
	}
	return a
}

// ModelExplorer returns the TOSA graph in Model Explorer's JSON graph format: one node per graph
// input, operator (constants included, as "const" nodes) and graph output, edges from producer to
// consumer operand, every tensor's type and shape as output metadata (with its scale and zero
// point when q knows them), operator attributes, RESCALE multipliers, shifts and zero points and
// the float node each operator came from as node attributes. Operators are grouped (namespace)
// by the float node they came from, when known.
func (m *Model) ModelExplorer(q *QuantInfo) ([]byte, error) {
	c, err := m.ModelExplorerGraph(q)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ModelExplorerGraph is ModelExplorer before encoding.
func (m *Model) ModelExplorerGraph(q *QuantInfo) (*MECollection, error) {
	g := m.Graph
	if g == nil {
		return nil, m.graphErr()
	}
	tm := g.TensorMap()
	qp := map[string]lower.TensorInfo{}
	rs := map[string]lower.RescaleInfo{}
	if q != nil {
		for _, t := range q.Tensors {
			qp[t.Name] = t
		}
		for _, r := range q.Rescales {
			rs[r.Output] = r
		}
	}
	sum := summarizeGraph(g, m.Origin, m.OriginFrom)
	opSum := map[int]OpSummary{}
	for _, os := range sum.Ops {
		opSum[os.Index] = os
	}
	type port struct {
		node string
		out  int
	}
	producer := map[string]port{}
	tensorMeta := func(name string, k int) MEMetadata {
		md := MEMetadata{ID: strconv.Itoa(k), Attrs: []MEKeyValue{{"__tensor_tag", name}, {"tensor_name", name}}}
		if t := tm[name]; t != nil {
			md.Attrs = append(md.Attrs, MEKeyValue{"tensor_shape", t.Type.String() + shape(t.Shape)}, MEKeyValue{"dtype", t.Type.String()}, MEKeyValue{"shape", shape(t.Shape)})
		}
		if t, ok := qp[q.name(name)]; ok {
			md.Attrs = append(md.Attrs, MEKeyValue{"quantization", fmt.Sprintf("scale %g, zero point %d", t.Scale, t.ZP)},
				MEKeyValue{"scale", strconv.FormatFloat(float64(t.Scale), 'g', -1, 32)}, MEKeyValue{"zero_point", strconv.Itoa(int(t.ZP))})
			if t.Source != "" {
				md.Attrs = append(md.Attrs, MEKeyValue{"float_node", t.Source})
			}
		}
		return md
	}
	// The float node each operator came from: known for .tosa files (and .vgf with debug info);
	// for a .vgf aligned with its model.tosa, from the TOSA tensor names.
	origin := func(i int) string {
		if i < len(m.Origin) && m.Origin[i] != "" {
			return m.Origin[i]
		}
		if op := g.Ops[i]; q != nil && q.aliases != nil && op != nil && len(op.Outputs) > 0 && op.Op != tosa.OpConst && op.Op != tosa.OpConstShape {
			if a, ok := q.aliases[op.Outputs[0]]; ok {
				return nameOrigin(a)
			}
		}
		return ""
	}
	firstUse := map[string]int{}
	for i, op := range g.Ops {
		for _, in := range op.Inputs {
			if _, ok := firstUse[in]; !ok {
				firstUse[in] = i
			}
		}
	}
	var nodes []MENode
	for i, name := range g.Inputs {
		id := "input_" + strconv.Itoa(i)
		producer[name] = port{id, 0}
		nodes = append(nodes, MENode{ID: id, Label: "Input", Namespace: "", Attrs: []MEKeyValue{{"name", name}},
			OutputsMetadata: []MEMetadata{tensorMeta(name, 0)}, Style: &MEStyle{BackgroundColor: "#e8f0fe"}})
	}
	for i, op := range g.Ops {
		if op == nil {
			continue
		}
		id := "op_" + strconv.Itoa(i)
		nd := MENode{ID: id, Label: op.Op.String()}
		src := origin(i)
		isConst := op.Op == tosa.OpConst || op.Op == tosa.OpConstShape
		if isConst {
			nd.Label = "pseudo_const"
			// A constant belongs with its (first) consumer's group.
			src = ""
			if len(op.Outputs) > 0 {
				if c, ok := firstUse[op.Outputs[0]]; ok {
					src = origin(c)
				}
			}
		}
		if src != "" && !strings.ContainsAny(src, "/") {
			nd.Namespace = src
		}
		nd.Attrs = append(nd.Attrs, MEKeyValue{"op", op.Op.String()}, MEKeyValue{"index", strconv.Itoa(i)})
		if src != "" && !isConst {
			nd.Attrs = append(nd.Attrs, MEKeyValue{"source", src})
		}
		os := opSum[i]
		for _, k := range sortedKeys(os.Attrs) {
			nd.Attrs = append(nd.Attrs, MEKeyValue{k, fmt.Sprint(os.Attrs[k])})
		}
		for k, in := range op.Inputs {
			if p, ok := producer[in]; ok {
				nd.IncomingEdges = append(nd.IncomingEdges, MEIncomingEdge{SourceNodeID: p.node, SourceNodeOutputID: strconv.Itoa(p.out), TargetNodeInputID: strconv.Itoa(k)})
			}
			md := MEMetadata{ID: strconv.Itoa(k), Attrs: []MEKeyValue{{"__tensor_tag", in}}}
			if k < len(os.Inputs) {
				od := os.Inputs[k]
				md.Attrs = append(md.Attrs, MEKeyValue{"role", od.Role})
				if od.Values != nil {
					// RESCALE multiplier/shift/zero points, CLAMP bounds, shapes: small constants.
					nd.Attrs = append(nd.Attrs, MEKeyValue{od.Role, values(od.Values, 16)})
				}
			}
			nd.InputsMetadata = append(nd.InputsMetadata, md)
		}
		if op.Op == tosa.OpRescale && len(op.Outputs) > 0 {
			if r, ok := rs[q.name(op.Outputs[0])]; ok {
				nd.Attrs = append(nd.Attrs, MEKeyValue{"rescale_purpose", r.Purpose}, MEKeyValue{"rescale_source", r.Source},
					MEKeyValue{"rescale_scales", floats(r.Scales, 8)})
			} else if src != "" {
				nd.Attrs = append(nd.Attrs, MEKeyValue{"rescale_source", src})
			}
			nd.Style = &MEStyle{BackgroundColor: "#fff4d6"}
		}
		if op.Op == tosa.OpTranspose {
			nd.Style = &MEStyle{BackgroundColor: "#fde2e2"}
		}
		for k, o := range op.Outputs {
			producer[o] = port{id, k}
			nd.OutputsMetadata = append(nd.OutputsMetadata, tensorMeta(o, k))
		}
		nodes = append(nodes, nd)
	}
	for i, name := range g.Outputs {
		nd := MENode{ID: "output_" + strconv.Itoa(i), Label: "Output", Namespace: "", Attrs: []MEKeyValue{{"name", name}},
			InputsMetadata: []MEMetadata{tensorMeta(name, 0)}, Style: &MEStyle{BackgroundColor: "#e8f0fe"}}
		if p, ok := producer[name]; ok {
			nd.IncomingEdges = []MEIncomingEdge{{SourceNodeID: p.node, SourceNodeOutputID: strconv.Itoa(p.out), TargetNodeInputID: "0"}}
		}
		nodes = append(nodes, nd)
	}
	label := filepath.Base(m.Path)
	return &MECollection{Label: label, Graphs: []MEGraph{{ID: strings.TrimSuffix(label, filepath.Ext(label)), Nodes: nodes}}}, nil
}

func sortedKeys(m map[string]any) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && k[j] < k[j-1]; j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
	return k
}

func floats(v []float64, limit int) string {
	var parts []string
	for i, x := range v {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (%d)", len(v)))
			break
		}
		parts = append(parts, strconv.FormatFloat(x, 'g', 8, 64))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
