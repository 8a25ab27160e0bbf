package inspect_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// validateModelExplorer checks a document against Model Explorer's graph input format as its
// sources define it (src/ui/src/components/visualizer/common/input_graph.ts and types.ts, the
// dataclasses of model_explorer/graph_builder.py): a GraphCollection {label: string, graphs:
// Graph[]}; Graph {id: string, nodes: GraphNode[], collectionLabel?, groupNodeAttributes?};
// GraphNode {id, label, namespace: string; subgraphIds?: string[]; attrs?: KeyValue[];
// incomingEdges?: IncomingEdge[]; inputsMetadata?, outputsMetadata?: MetadataItem[]; style?:
// {backgroundColor?, borderColor?, hoveredBorderColor?: string}; config?: {pinToGroupTop?:
// boolean}}; KeyValue {key: string, value: string | {type: "node_ids", nodeIds: string[]}};
// IncomingEdge {sourceNodeId: string, sourceNodeOutputId?: string, targetNodeInputId?: string};
// MetadataItem {id: string, attrs: KeyValue[]}. Unknown fields and wrong types are errors, and
// so are references the visualizer cannot resolve: duplicate node ids, edges from unknown nodes
// or from outputs the source node does not declare. It returns the node and edge counts.
func validateModelExplorer(doc []byte) (nodes, edges int, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return 0, 0, err
	}
	if err := fields("collection", top, []string{"label", "graphs"}, nil); err != nil {
		return 0, 0, err
	}
	if err := isString(top["label"]); err != nil {
		return 0, 0, fmt.Errorf("label: %v", err)
	}
	var graphs []map[string]json.RawMessage
	if err := json.Unmarshal(top["graphs"], &graphs); err != nil || len(graphs) == 0 {
		return 0, 0, fmt.Errorf("graphs: want a non-empty array (%v)", err)
	}
	for gi, g := range graphs {
		if err := fields("graph", g, []string{"id", "nodes"}, []string{"collectionLabel", "groupNodeAttributes"}); err != nil {
			return 0, 0, err
		}
		if err := isString(g["id"]); err != nil {
			return 0, 0, fmt.Errorf("graph %d id: %v", gi, err)
		}
		var ns []map[string]json.RawMessage
		if err := json.Unmarshal(g["nodes"], &ns); err != nil {
			return 0, 0, fmt.Errorf("graph %d nodes: %v", gi, err)
		}
		outputs := map[string]map[string]bool{}
		type ref struct{ node, src, out string }
		var refs []ref
		for _, n := range ns {
			if err := fields("node", n, []string{"id", "label", "namespace"},
				[]string{"subgraphIds", "attrs", "incomingEdges", "inputsMetadata", "outputsMetadata", "style", "config"}); err != nil {
				return 0, 0, err
			}
			var id string
			for _, k := range []string{"id", "label", "namespace"} {
				if err := isString(n[k]); err != nil {
					return 0, 0, fmt.Errorf("node %s: %s: %v", n["id"], k, err)
				}
			}
			json.Unmarshal(n["id"], &id)
			if _, dup := outputs[id]; dup {
				return 0, 0, fmt.Errorf("node id %q used twice", id)
			}
			outputs[id] = map[string]bool{}
			if raw, ok := n["attrs"]; ok {
				if err := keyValues(raw); err != nil {
					return 0, 0, fmt.Errorf("node %s attrs: %v", id, err)
				}
			}
			for _, k := range []string{"inputsMetadata", "outputsMetadata"} {
				raw, ok := n[k]
				if !ok {
					continue
				}
				var items []map[string]json.RawMessage
				if err := json.Unmarshal(raw, &items); err != nil {
					return 0, 0, fmt.Errorf("node %s %s: %v", id, k, err)
				}
				for _, it := range items {
					if err := fields(k, it, []string{"id"}, []string{"attrs"}); err != nil {
						return 0, 0, err
					}
					var mid string
					if err := json.Unmarshal(it["id"], &mid); err != nil {
						return 0, 0, fmt.Errorf("node %s %s id: %v", id, k, err)
					}
					if err := keyValues(it["attrs"]); err != nil {
						return 0, 0, fmt.Errorf("node %s %s %s: %v", id, k, mid, err)
					}
					if k == "outputsMetadata" {
						outputs[id][mid] = true
					}
				}
			}
			if raw, ok := n["style"]; ok {
				var st map[string]json.RawMessage
				if err := json.Unmarshal(raw, &st); err != nil {
					return 0, 0, err
				}
				if err := fields("style", st, nil, []string{"backgroundColor", "borderColor", "hoveredBorderColor"}); err != nil {
					return 0, 0, err
				}
				for k, v := range st {
					if err := isString(v); err != nil {
						return 0, 0, fmt.Errorf("style %s: %v", k, err)
					}
				}
			}
			if raw, ok := n["incomingEdges"]; ok {
				var es []map[string]json.RawMessage
				if err := json.Unmarshal(raw, &es); err != nil {
					return 0, 0, fmt.Errorf("node %s incomingEdges: %v", id, err)
				}
				for _, e := range es {
					if err := fields("edge", e, []string{"sourceNodeId"}, []string{"sourceNodeOutputId", "targetNodeInputId"}); err != nil {
						return 0, 0, err
					}
					r := ref{node: id, out: "0"}
					for k, dst := range map[string]*string{"sourceNodeId": &r.src, "sourceNodeOutputId": &r.out} {
						if raw, ok := e[k]; ok {
							if err := json.Unmarshal(raw, dst); err != nil {
								return 0, 0, fmt.Errorf("node %s edge %s: %v", id, k, err)
							}
						}
					}
					if raw, ok := e["targetNodeInputId"]; ok {
						if err := isString(raw); err != nil {
							return 0, 0, fmt.Errorf("node %s edge targetNodeInputId: %v", id, err)
						}
					}
					refs = append(refs, r)
				}
			}
		}
		for _, r := range refs {
			outs, ok := outputs[r.src]
			if !ok {
				return 0, 0, fmt.Errorf("node %s: edge from unknown node %q", r.node, r.src)
			}
			if len(outs) > 0 && !outs[r.out] {
				return 0, 0, fmt.Errorf("node %s: edge from output %s of %s, which declares no such output", r.node, r.out, r.src)
			}
		}
		nodes += len(ns)
		edges += len(refs)
	}
	return nodes, edges, nil
}

func fields(what string, m map[string]json.RawMessage, required, optional []string) error {
	known := map[string]bool{}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s: missing %q", what, k)
		}
		known[k] = true
	}
	for _, k := range optional {
		known[k] = true
	}
	for k := range m {
		if !known[k] {
			return fmt.Errorf("%s: unknown field %q", what, k)
		}
	}
	return nil
}

func isString(raw json.RawMessage) error {
	var s string
	return json.Unmarshal(raw, &s)
}

func keyValues(raw json.RawMessage) error {
	var kvs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &kvs); err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := fields("attr", kv, []string{"key", "value"}, []string{"editable", "display_type"}); err != nil {
			return err
		}
		if err := isString(kv["key"]); err != nil {
			return err
		}
		if isString(kv["value"]) != nil {
			var special struct {
				Type    string   `json:"type"`
				NodeIDs []string `json:"nodeIds"`
			}
			if err := json.Unmarshal(kv["value"], &special); err != nil || special.Type != "node_ids" {
				return fmt.Errorf("attr %s: value is neither a string nor a node_ids value", kv["key"])
			}
		}
	}
	return nil
}

// exportUpscaler quantizes the zoo upscaler (untrained, two images) and exports it into a
// temporary directory.
func exportUpscaler(t *testing.T) string {
	t.Helper()
	g, err := zoo.Upscaler(8, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := engine.New(1, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(i%23) / 23
	}
	res, err := ptq.Quantize(g, func(yield func(*engine.Tensor, error) bool) { yield(x, nil) }, ptq.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := res.Export(dir, x, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The Model Explorer JSON of vgfq's own export (.tosa and .vgf) and of Arm's VGF fixtures is in
// the format, and its node and edge counts are the graph's.
func TestModelExplorerJSON(t *testing.T) {
	dir := exportUpscaler(t)
	paths := []string{filepath.Join(dir, "model.tosa"), filepath.Join(dir, "model.vgf")}
	vgfs, _ := filepath.Glob(filepath.Join("..", "internal", "testdata", "fixtures", "vgf", "*v0_4_3.vgf"))
	paths = append(paths, vgfs...)
	shapes := map[string]string{} // file -> node labels, groups and edges
	for _, p := range paths {
		m, err := inspect.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Graph == nil {
			t.Logf("%s: no graph to draw (%v)", filepath.Base(p), m.GraphErr)
			continue
		}
		q, err := m.QuantInfo()
		if err != nil {
			t.Fatal(err)
		}
		if q != nil {
			// The drawing shows the same qparams.
			svg, err := m.SVGWithQuant(q)
			if err != nil || !strings.Contains(svg, "mult ") || !strings.Contains(svg, ", zp -128") {
				t.Errorf("%s: SVG without qparams (%v)", p, err)
			}
		}
		doc, err := m.ModelExplorer(q)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		nodes, edges, err := validateModelExplorer(doc)
		if err != nil {
			t.Fatalf("%s: not Model Explorer's format: %v", p, err)
		}
		// Round trip: one node per graph input, operator and output; one edge per operand that
		// some node produces, plus one per graph output.
		g := m.Graph
		produced := map[string]bool{}
		for _, in := range g.Inputs {
			produced[in] = true
		}
		wantEdges := 0
		for _, op := range g.Ops {
			for _, in := range op.Inputs {
				if produced[in] {
					wantEdges++
				}
			}
			for _, o := range op.Outputs {
				produced[o] = true
			}
		}
		wantEdges += len(g.Outputs)
		if wantNodes := len(g.Inputs) + len(g.Ops) + len(g.Outputs); nodes != wantNodes || edges != wantEdges {
			t.Errorf("%s: %d nodes / %d edges, the graph has %d / %d", p, nodes, edges, wantNodes, wantEdges)
		}
		var c inspect.MECollection
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		// Every RESCALE carries its multiplier, shift and source; our own export also its qparams.
		rescales := 0
		for _, n := range c.Graphs[0].Nodes {
			if n.Label != tosa.OpRescale.String() {
				continue
			}
			rescales++
			attrs := map[string]string{}
			for _, a := range n.Attrs {
				attrs[a.Key] = a.Value
			}
			for _, k := range []string{"multiplier", "shift", "input_zp", "output_zp", "scale32"} {
				if attrs[k] == "" {
					t.Errorf("%s: RESCALE %s has no %s attribute: %v", p, n.ID, k, attrs)
				}
			}
			if q != nil && (attrs["rescale_source"] == "" || attrs["rescale_purpose"] == "") {
				t.Errorf("%s: RESCALE %s has no source/purpose: %v", p, n.ID, attrs)
			}
			if q != nil && !strings.Contains(fmt.Sprint(n.OutputsMetadata), "zero_point") {
				t.Errorf("%s: RESCALE %s output has no qparams: %v", p, n.ID, n.OutputsMetadata)
			}
		}
		if rescales == 0 {
			t.Errorf("%s: no RESCALE node", p)
		}
		var sig []string
		labelOf := map[string]string{}
		for _, n := range c.Graphs[0].Nodes {
			labelOf[n.ID] = n.Label
		}
		for _, n := range c.Graphs[0].Nodes {
			var from []string
			for _, e := range n.IncomingEdges {
				from = append(from, labelOf[e.SourceNodeID]+":"+e.TargetNodeInputID)
			}
			sig = append(sig, fmt.Sprintf("%s/%s<%v", n.Namespace, n.Label, from))
		}
		shapes[filepath.Base(p)] = strings.Join(sig, " ")
		t.Logf("%s: %d nodes, %d edges, %d RESCALE", filepath.Base(p), nodes, edges, rescales)
	}
	// The .vgf (tensor names stripped) shows the same graph, grouped by the same float nodes.
	if shapes["model.vgf"] != shapes["model.tosa"] || !strings.Contains(shapes["model.tosa"], "conv1/CONV2D") {
		t.Errorf("model.vgf and model.tosa differ:\n%s\n%s", shapes["model.vgf"], shapes["model.tosa"])
	}
}

// The validator rejects what Model Explorer would not read.
func TestModelExplorerValidator(t *testing.T) {
	good := `{"label":"c","graphs":[{"id":"g","nodes":[{"id":"a","label":"A","namespace":"","outputsMetadata":[{"id":"0","attrs":[]}]},` +
		`{"id":"b","label":"B","namespace":"x/y","attrs":[{"key":"k","value":"v"}],"incomingEdges":[{"sourceNodeId":"a","sourceNodeOutputId":"0","targetNodeInputId":"0"}]}]}]}`
	if n, e, err := validateModelExplorer([]byte(good)); err != nil || n != 2 || e != 1 {
		t.Fatalf("good document: %d nodes %d edges %v", n, e, err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"namespace":"",`, ``, 1),                      // missing namespace
		strings.Replace(good, `"sourceNodeId":"a"`, `"sourceNodeId":"z"`, 1), // dangling edge
		strings.Replace(good, `"sourceNodeOutputId":"0"`, `"sourceNodeOutputId":"1"`, 1),
		strings.Replace(good, `"value":"v"`, `"value":3`, 1),
		strings.Replace(good, `"label":"B"`, `"label":"B","shape":[1]`, 1),
		strings.Replace(good, `"id":"b"`, `"id":"a"`, 1),
		`{"graphs":[]}`,
	} {
		if _, _, err := validateModelExplorer([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
