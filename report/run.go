package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/diagnose"
	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/train"
)

// Kinds of run directories.
const (
	KindFloat = "float" // a float model or training checkpoint (graph.json + weights)
	KindInt8  = "int8"  // a quantization output (model.tosa / model.vgf + io.json, quant.json, ...)
)

// Files of an INT8 output directory that the report reads.
const (
	TOSAFile   = "model.tosa"
	VGFFile    = "model.vgf"
	QuantFile  = "quant.json"
	LayersFile = "layers.json"
)

// Run is one run directory: a float model or an INT8 export (from `vgfq ptq`, `vgfq qat` or
// any flow that writes the same artifact set).
type Run struct {
	Dir   string
	Kind  string // KindFloat or KindInt8
	Label string // the stage name in the report: "FP32", "PTQ-INT8", "QAT-INT8", ...
	// Method is how the INT8 model was obtained ("ptq", "qat", ...), from quant.json.
	Method string

	Graph *graph.Graph // float runs

	TOSA, VGF *inspect.Model   // INT8 runs (either may be nil when the file is absent)
	Contract  *export.Contract // io.json, if present
	Quant     map[string]any   // quant.json, if present
	IO        [2]lower.IO      // input and output qparams (from io.json, else quant.json)
	Layers    []diagnose.Layer // layers.json, if present
	LayerImgs int              // images layers.json was traced over
	Files     map[string]int64 // file name -> size, for every regular file in Dir
	Ops       map[string]int   // operator counts (float graph ops or TOSA ops without constants)
	Params    int              // float parameters, or int8/int32 constant bytes of the TOSA graph
	ParamUnit string           // "parameters" or "constant bytes"
}

// LoadRun reads a run directory and works out what it holds: a float model (graph.json) or an
// INT8 export (model.tosa and/or model.vgf). The label of an INT8 run comes from its quant.json
// (see Method); nothing is special-cased by directory name unless quant.json says nothing.
func LoadRun(dir string) (*Run, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such run directory", dir)
		}
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory (give a model directory or a ptq/qat output directory)", dir)
	}
	r := &Run{Dir: dir, Files: map[string]int64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			r.Files[e.Name()] = info.Size()
		}
	}
	has := func(n string) bool { _, ok := r.Files[n]; return ok }
	switch {
	case has(TOSAFile) || has(VGFFile):
		return r, r.loadInt8()
	case has(graph.GraphFile):
		ck, err := train.LoadCheckpoint(dir)
		if err != nil {
			return nil, err
		}
		r.Kind, r.Label, r.Graph = KindFloat, "FP32", ck.Graph
		if has("qat.json") {
			// A QAT checkpoint: its float weights run without the fake quantization.
			r.Label = "FP32 (QAT weights)"
		}
		r.Ops = map[string]int{}
		for _, n := range ck.Graph.Nodes {
			if n.Op != graph.OpInput {
				r.Ops[string(n.Op)]++
			}
		}
		r.Params, r.ParamUnit = ck.Graph.NumParams(), "parameters"
		return r, nil
	}
	return nil, fmt.Errorf("%s: neither a float model (%s) nor an INT8 output (%s / %s): give the directory written by train, ptq or qat", dir, graph.GraphFile, TOSAFile, VGFFile)
}

func (r *Run) loadInt8() error {
	r.Kind = KindInt8
	for _, f := range []struct {
		name string
		dst  **inspect.Model
	}{{TOSAFile, &r.TOSA}, {VGFFile, &r.VGF}} {
		if _, ok := r.Files[f.name]; !ok {
			continue
		}
		m, err := inspect.Load(filepath.Join(r.Dir, f.name))
		if err != nil {
			return err
		}
		if m.Graph == nil {
			return fmt.Errorf("%s: no executable graph: %v", m.Path, m.GraphErr)
		}
		*f.dst = m
	}
	if _, ok := r.Files[export.ContractFile]; ok {
		c, err := export.ReadContract(filepath.Join(r.Dir, export.ContractFile))
		if err != nil {
			return err
		}
		r.Contract = c
	}
	if _, ok := r.Files[QuantFile]; ok {
		p := filepath.Join(r.Dir, QuantFile)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &r.Quant); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
	}
	if _, ok := r.Files[LayersFile]; ok {
		p := filepath.Join(r.Dir, LayersFile)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var doc struct {
			Images int              `json:"images"`
			Layers []diagnose.Layer `json:"layers"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		r.Layers, r.LayerImgs = doc.Layers, doc.Images
	}
	if err := r.loadIO(); err != nil {
		return err
	}
	r.Method = methodOf(r.Quant, r.Dir)
	r.Label = strings.ToUpper(r.Method) + "-INT8"
	m := r.TOSA
	if m == nil {
		m = r.VGF
	}
	s := m.Summarize()
	if s.Graph != nil {
		r.Ops = s.Graph.OpCounts
		r.Params, r.ParamUnit = s.Graph.ConstantBytes, "constant bytes"
	}
	return nil
}

// methodOf names how an INT8 run was made. quant.json may state it in a "method" (or "mode",
// "quantization", "scheme") string field, or hold a "qat" section; a quant.json with calibration
// settings and nothing else is post-training quantization. Only when quant.json is absent does
// the directory name decide ("qat" in it), and the default is "ptq".
func methodOf(q map[string]any, dir string) string {
	for _, k := range []string{"method", "mode", "quantization", "scheme"} {
		if s, ok := q[k].(string); ok && s != "" {
			return strings.ToLower(s)
		}
	}
	if f, ok := q["format"].(string); ok && strings.Contains(strings.ToLower(f), "qat") {
		return "qat"
	}
	if _, ok := q["qat"]; ok {
		return "qat"
	}
	if q == nil && strings.Contains(strings.ToLower(filepath.Base(filepath.Clean(dir))), "qat") {
		return "qat"
	}
	return "ptq"
}

// loadIO finds the input and output qparams: io.json first, then quant.json.
func (r *Run) loadIO() error {
	m := r.TOSA
	if m == nil {
		m = r.VGF
	}
	g := m.Graph
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return fmt.Errorf("%s: %d inputs and %d outputs; the report needs one image in and one out", m.Path, len(g.Inputs), len(g.Outputs))
	}
	tm := g.TensorMap()
	for k, name := range []string{g.Inputs[0], g.Outputs[0]} {
		t := tm[name]
		if t == nil {
			return fmt.Errorf("%s: graph I/O tensor %q missing", m.Path, name)
		}
		io := lower.IO{Name: name, Shape: t.Shape}
		found := false
		if c := r.Contract; c != nil {
			ts := c.Inputs
			if k == 1 {
				ts = c.Outputs
			}
			if len(ts) == 1 {
				io.Scale, io.ZP, io.Layout, io.Source, found = ts[0].Scale, ts[0].ZeroPoint, ts[0].Layout, ts[0].Source, true
			}
		}
		if !found && r.Quant != nil {
			key := "inputs"
			if k == 1 {
				key = "outputs"
			}
			var ios []lower.IO
			if b, err := json.Marshal(r.Quant[key]); err == nil && json.Unmarshal(b, &ios) == nil && len(ios) == 1 {
				io.Scale, io.ZP, io.Layout, io.Source, found = ios[0].Scale, ios[0].ZP, ios[0].Layout, ios[0].Source, true
			}
		}
		if !found {
			return fmt.Errorf("%s: the scale and zero point of the graph %s are unknown: io.json or quant.json must be next to it", r.Dir, []string{"input", "output"}[k])
		}
		if !(io.Scale > 0) || io.ZP < -128 || io.ZP > 127 {
			return fmt.Errorf("%s: bad qparams for %q: scale %v, zero point %d", r.Dir, name, io.Scale, io.ZP)
		}
		if io.Layout == "" {
			io.Layout = "NHWC"
		}
		if len(io.Shape) != 4 || io.Shape[0] != 1 {
			return fmt.Errorf("%s: %q has shape %v; the report needs batch-1 images", m.Path, name, io.Shape)
		}
		r.IO[k] = io
	}
	return nil
}

// InputSize returns the model's input image height and width (low resolution).
func (r *Run) InputSize() (h, w int) {
	if r.Kind == KindFloat {
		ins := r.Graph.Inputs()
		if len(ins) == 1 && len(ins[0].Attrs.Shape) == 4 {
			return ins[0].Attrs.Shape[2], ins[0].Attrs.Shape[3]
		}
		return 0, 0
	}
	s := r.IO[0].Shape
	if r.IO[0].Layout == "NCHW" {
		return s[2], s[3]
	}
	return s[1], s[2]
}

// Artifact is one executable form of a run: the float graph, or one of the INT8 files.
type Artifact struct {
	Run  *Run
	Name string // "graph.json", "model.tosa", "model.vgf"
	// Stage is the row label: the run's label plus the artifact for INT8 runs with both files.
	Stage string
	Size  int64 // bytes on disk (float: graph.json + weights)
	// Tiled is set once the artifact ran on an image size its shapes cannot follow: it then runs
	// on overlapping tiles of its own size with a halo of Halo input pixels (see tiledPredictor).
	Tiled bool
	Halo  int
	cache map[[2]int]train.Predictor
}

// Artifacts lists what the report executes for a run.
func (r *Run) Artifacts() []*Artifact {
	if r.Kind == KindFloat {
		return []*Artifact{{Run: r, Name: graph.GraphFile, Stage: r.Label, Size: r.Files[graph.GraphFile] + r.Files[graph.WeightsFile]}}
	}
	var as []*Artifact
	for _, f := range []string{TOSAFile, VGFFile} {
		if _, ok := r.Files[f]; ok {
			as = append(as, &Artifact{Run: r, Name: f, Stage: r.Label + " (" + strings.TrimPrefix(filepath.Ext(f), ".") + ")", Size: r.Files[f]})
		}
	}
	return as
}

// Predictor returns a predictor for low-resolution inputs of h x w. At the model's own size it
// runs the artifact as stored. At another size the float graph is re-inferred at that size
// (graph.WithInputSize) and the INT8 graph's static shapes are re-derived by TOSA shape
// inference (tosa.WithInputShapes); the operators, weights, scales, multipliers and shifts are
// the artifact's own. An INT8 graph whose shapes are pinned by constants (a pixel shuffle's
// RESHAPEs) runs unchanged on overlapping tiles of its own input size instead.
func (a *Artifact) Predictor(h, w int, workers int) (train.Predictor, error) {
	key := [2]int{h, w}
	if p := a.cache[key]; p != nil {
		return p, nil
	}
	if a.cache == nil {
		a.cache = map[[2]int]train.Predictor{}
	}
	r := a.Run
	var p train.Predictor
	if r.Kind == KindFloat {
		g := r.Graph
		if ih, iw := r.InputSize(); ih != h || iw != w {
			var err error
			if g, err = g.WithInputSize(h, w); err != nil {
				return nil, fmt.Errorf("%s: %v", r.Dir, err)
			}
		}
		p = train.GraphPredictor(g)
	} else {
		m := r.TOSA
		if a.Name == VGFFile {
			m = r.VGF
		}
		in, out := r.IO[0], r.IO[1]
		in.Name, out.Name = m.Graph.Inputs[0], m.Graph.Outputs[0]
		tg := m.Graph
		if ih, iw := r.InputSize(); ih != h || iw != w {
			shape := []int{1, h, w, in.Shape[3]}
			if in.Layout == "NCHW" {
				shape = []int{1, in.Shape[1], h, w}
			}
			rg, err := tosa.WithInputShapes(m.Graph, map[string][]int{in.Name: shape})
			if err != nil {
				// Shapes pinned by constants: run the graph as exported on overlapping tiles.
				tp, halo, terr := tiledPredictor(&lower.Result{Graph: m.Graph, Inputs: []lower.IO{in}, Outputs: []lower.IO{out}}, h, w, workers)
				if terr != nil {
					return nil, fmt.Errorf("%s cannot run on %dx%d inputs: %v; nor in %dx%d tiles: %v", m.Path, w, h, err, iw, ih, terr)
				}
				a.Tiled, a.Halo = true, halo
				a.cache[key] = tp
				return tp, nil
			}
			tg = rg
			in.Shape = shape
			out.Shape = tg.TensorMap()[out.Name].Shape
		}
		pred, err := lower.Int8Predictor(&lower.Result{Graph: tg, Inputs: []lower.IO{in}, Outputs: []lower.IO{out}}, workers)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", m.Path, err)
		}
		p = train.Predictor(pred)
	}
	a.cache[key] = p
	return p, nil
}

// sortedOps renders operator counts as "CONV2D 3, RESCALE 4, ..." (largest first, then by name).
func sortedOps(ops map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range ops {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
