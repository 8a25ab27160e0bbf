// Package onnx imports ONNX models (as PyTorch's torch.onnx.export writes them) into vgfq's
// float IR (package graph), and writes float graphs back to ONNX.
//
// The ModelProto is decoded with google.golang.org/protobuf and the generated types of package
// onnxpb (onnx-ml.proto of ONNX 1.12, see tools/onnxpb/gen.py). Supported: the default domain
// at opsets 11 and 13-18, initializers (also external data next to the file), Constant nodes,
// constant folding of shape arithmetic, static shapes from the declared input shapes (dynamic
// dimensions fixed with Options.InputShapes; a dynamic batch dimension defaults to 1), and
// QuantizeLinear/DequantizeLinear pairs (QDQ models), whose scales and zero points become the
// quantization instead of calibration (see QDQ).
//
// Every error names the ONNX node (or initializer, input, field) and what to do.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

// Opset range of the default domain this importer reads (opset 12 is accepted too: no op this
// importer maps changed in it).
const (
	MinOpset = 11
	MaxOpset = 18
)

// Options configures the import.
type Options struct {
	// InputShapes fixes the shape of graph inputs by name (e.g. "input": 1x3x64x64): required for
	// dynamic dimensions other than the batch.
	InputShapes map[string][]int
	// KeepGoing records an unsupported node in Model.Issues and continues (for vgfq check)
	// instead of failing on the first.
	KeepGoing bool
}

// Issue is a node the importer could not map.
type Issue struct {
	// Blocked: the node itself may be fine but reads the output of an unsupported node.
	Blocked bool   `json:"blocked,omitempty"`
	Node    string `json:"node"`
	Op      string `json:"op"`
	Reason  string `json:"reason"`
	Fix     string `json:"fix,omitempty"`
}

// IOInfo describes a graph input or output.
type IOInfo struct {
	Name     string   `json:"name"`
	Shape    []int    `json:"shape"`
	Declared []string `json:"declared"` // dimensions as the file declares them (numbers or names)
}

// Model is an imported ONNX model.
type Model struct {
	Graph     *graph.Graph
	Path      string
	IRVersion int64
	Opset     int64
	Producer  string
	Inputs    []IOInfo
	Outputs   []IOInfo
	Ops       map[string]int // ONNX op histogram
	Nodes     int
	Folded    int // nodes evaluated at import (constants, shape arithmetic)
	// FusedInto maps graph nodes removed by a pattern fusion (GELU, HardSwish, pixel shuffle)
	// to the node that computes them now.
	FusedInto map[string]string
	// Origin maps each graph node to the ONNX node it came from.
	Origin map[string]NodeRef
	// List is every ONNX node in execution order with the graph nodes it became (none: it was
	// evaluated at import, or it is an alias such as Identity).
	List []NodeInfo
	// Partial: some nodes were not imported (Options.KeepGoing); Graph is the imported part,
	// its outputs the nodes nothing reads.
	Partial bool
	// Issues lists unsupported nodes (only with Options.KeepGoing).
	Issues []Issue
	// QDQ is set when the model holds QuantizeLinear/DequantizeLinear: the quantization it
	// prescribes (see QDQ).
	QDQ *QDQ
	// Notes are facts the summary prints (a dynamic batch fixed to 1, ...).
	Notes []string
}

// NodeInfo is one ONNX node and what it was imported as.
type NodeInfo struct {
	NodeRef
	Graph []string `json:"graph_nodes,omitempty"`
	Issue *Issue   `json:"issue,omitempty"`
}

// NodeRef names an ONNX node.
type NodeRef struct {
	Name string `json:"name"`
	Op   string `json:"op"`
}

// Error is an import error: the file and, when it concerns one, the node.
type Error struct {
	File string
	Node string // ONNX node name (or output name) or ""
	Op   string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Node != "" {
		op := e.Op
		if q := strconv.Quote(op); q[1:len(q)-1] != op {
			op = q // an op type with control or non-UTF-8 bytes (malformed file)
		}
		fmt.Fprintf(&b, "node %q (%s): ", e.Node, op)
	}
	b.WriteString(e.Err.Error())
	// One line whatever the file holds: names from the model appear in the messages.
	return oneLine.Replace(b.String())
}

var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)

func (e *Error) Unwrap() error { return e.Err }

// Load reads and imports an .onnx file.
func Load(path string, opt Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(data, filepath.Dir(path), opt)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File = path
			return nil, e
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if m.Graph.Name == "" || m.Graph.Name == "torch_jit" || m.Graph.Name == "main_graph" {
		m.Graph.Name = name
	}
	m.Graph.Meta["source"] = filepath.Base(path)
	return m, nil
}

// Decode imports an ONNX model from its bytes; dir is where external data lives ("" for none).
func Decode(data []byte, dir string, opt Options) (m *Model, err error) {
	defer func() {
		// Every check above should turn bad input into an error; a panic here is a vgfq bug
		// on a malformed model, reported as an error rather than a crash.
		if r := recover(); r != nil {
			m, err = nil, &Error{Err: fmt.Errorf("malformed model (vgfq bug, please report): %v", r)}
		}
	}()
	var mp pb.ModelProto
	if err := (proto.UnmarshalOptions{RecursionLimit: 100}).Unmarshal(data, &mp); err != nil {
		return nil, &Error{Err: fmt.Errorf("not a valid ONNX protobuf (truncated or not an .onnx file): %v", err)}
	}
	return importModel(&mp, dir, opt)
}

// value is an ONNX value during import: a constant, or the output of a graph node.
type value struct {
	c     *tensor
	node  string // graph node name
	shape []int
	// qact: this value is QuantizeLinear(node) of an activation (only DequantizeLinear may read it).
	qact *actQuant
}

type importer struct {
	mp     *pb.ModelProto
	dir    string
	opt    Options
	m      *Model
	g      *graph.Graph
	vals   map[string]*value
	shapes map[string][]int
	opset  int64
	used   map[string]bool // graph node and param names taken
	cur    *pb.NodeProto
	qdq    *QDQ
	// consumers of each ONNX value (number of node inputs and graph outputs reading it)
	readers map[string]int
	// poisoned: values produced by unsupported nodes (KeepGoing) -> that node
	poisoned map[string]string
	// foldBudget is how many more values constant folding may compute (see foldBudgetFor).
	foldBudget, foldBudgetTotal int
}

func (im *importer) blocked(n *pb.NodeProto) string {
	for _, in := range n.GetInput() {
		if b, ok := im.poisoned[in]; ok {
			return b
		}
	}
	return ""
}

func nodeName(n *pb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return "?"
}

func (im *importer) errf(format string, args ...any) error {
	if im.cur == nil {
		return &Error{Err: fmt.Errorf(format, args...)}
	}
	return &Error{Node: nodeName(im.cur), Op: im.cur.GetOpType(), Err: fmt.Errorf(format, args...)}
}

func importModel(mp *pb.ModelProto, dir string, opt Options) (*Model, error) {
	gp := mp.GetGraph()
	if gp == nil {
		return nil, &Error{Err: errors.New("the model has no graph (is this an ONNX model?)")}
	}
	im := &importer{mp: mp, dir: dir, opt: opt, vals: map[string]*value{}, shapes: map[string][]int{}, used: map[string]bool{}, readers: map[string]int{}, poisoned: map[string]string{}}
	im.m = &Model{IRVersion: mp.GetIrVersion(), Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion()),
		Ops: map[string]int{}, Origin: map[string]NodeRef{}, FusedInto: map[string]string{}}
	im.g = &graph.Graph{Name: gp.GetName(), Params: map[string]*engine.Tensor{}, Meta: map[string]string{"format": "onnx"}}
	im.m.Graph = im.g
	// Opsets.
	domains := map[string]int64{}
	for _, os := range mp.GetOpsetImport() {
		domains[os.GetDomain()] = os.GetVersion()
	}
	if v, ok := domains["ai.onnx"]; ok {
		domains[""] = v
	}
	v, ok := domains[""]
	if !ok {
		return nil, &Error{Err: errors.New("opset_import has no entry for the default ONNX domain")}
	}
	if v < MinOpset || v > MaxOpset {
		return nil, &Error{Err: fmt.Errorf("opset %d of the default domain is not supported (want %d..%d); re-export with torch.onnx.export(..., opset_version=17)", v, MinOpset, MaxOpset)}
	}
	im.opset = v
	im.m.Opset = v
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, &Error{Err: errors.New("sparse initializers are not supported")}
	}
	// Initializers.
	inits := map[string]bool{}
	initElems := 0
	for _, tp := range gp.GetInitializer() {
		t, err := readTensor(tp, dir)
		if err != nil {
			return nil, &Error{Err: fmt.Errorf("initializer %q: %v", tp.GetName(), err)}
		}
		initElems += t.len()
		if tp.GetName() == "" {
			return nil, &Error{Err: errors.New("an initializer has no name")}
		}
		im.vals[tp.GetName()] = &value{c: t, shape: t.shape}
		inits[tp.GetName()] = true
	}
	im.foldBudget = foldBudgetFor(proto.Size(mp), initElems)
	im.foldBudgetTotal = im.foldBudget
	// Inputs.
	for _, vi := range gp.GetInput() {
		if inits[vi.GetName()] {
			continue // an initializer listed as input (IR < 4 style): a constant
		}
		if err := im.input(vi); err != nil {
			return nil, err
		}
	}
	if len(im.m.Inputs) == 0 {
		return nil, &Error{Err: errors.New("the graph has no inputs")}
	}
	for name := range opt.InputShapes {
		found := false
		for _, in := range im.m.Inputs {
			found = found || in.Name == name
		}
		if !found {
			return nil, &Error{Err: fmt.Errorf("--input-shape %s: the model has no input %q (inputs: %s)", name, name, ioNames(im.m.Inputs))}
		}
	}
	nodes, err := topoSort(gp)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			im.readers[in]++
		}
	}
	for _, o := range gp.GetOutput() {
		im.readers[o.GetName()]++
	}
	for _, n := range nodes {
		im.cur = n
		im.m.Nodes++
		im.m.Ops[n.GetOpType()]++
		nGraph := len(im.g.Nodes)
		nIssues := len(im.m.Issues)
		im.m.List = append(im.m.List, NodeInfo{NodeRef: NodeRef{Name: nodeName(n), Op: n.GetOpType()}})
		info := &im.m.List[len(im.m.List)-1]
		if blockedBy := im.blocked(n); blockedBy != "" {
			for _, o := range n.GetOutput() {
				im.poisoned[o] = blockedBy
			}
			im.m.Issues = append(im.m.Issues, Issue{Blocked: true, Node: nodeName(n), Op: n.GetOpType(), Reason: fmt.Sprintf("reads the output of unsupported node %q", blockedBy)})
			info.Issue = &im.m.Issues[len(im.m.Issues)-1]
			continue
		}
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			err := im.errf("domain %q is not supported: vgfq reads only the default ONNX domain (ai.onnx)", d)
			if e := im.issue(err, "export without custom or contrib ops (plain torch.onnx.export)"); e != nil {
				return nil, e
			}
			info.Issue = &im.m.Issues[len(im.m.Issues)-1]
			continue
		}
		err := im.node(n)
		if len(im.m.Issues) > nIssues {
			info.Issue = &im.m.Issues[len(im.m.Issues)-1]
		}
		if err != nil && im.opt.KeepGoing {
			for _, o := range n.GetOutput() {
				im.poisoned[o] = nodeName(n)
			}
		}
		if err != nil {
			var ue *unsupported
			if errors.As(err, &ue) {
				if e := im.issue(im.errf("%s", ue.reason), ue.fix); e != nil {
					return nil, e
				}
				info.Issue = &im.m.Issues[len(im.m.Issues)-1]
				continue
			}
			var ie *Error
			if !errors.As(err, &ie) {
				err = im.errf("%v", err)
			}
			if e := im.issue(err, ""); e != nil {
				return nil, e
			}
			info.Issue = &im.m.Issues[len(im.m.Issues)-1]
			continue
		}
		if len(im.g.Nodes) == nGraph {
			im.m.Folded++
		}
		for _, gn := range im.g.Nodes[nGraph:] {
			im.m.Origin[gn.Name] = NodeRef{Name: nodeName(n), Op: n.GetOpType()}
			info.Graph = append(info.Graph, gn.Name)
		}
	}
	im.cur = nil
	// Outputs.
	for _, o := range gp.GetOutput() {
		v := im.vals[o.GetName()]
		if v == nil {
			if len(im.m.Issues) > 0 {
				continue
			}
			return nil, &Error{Err: fmt.Errorf("graph output %q is not produced by any node", o.GetName())}
		}
		if v.c != nil {
			return nil, &Error{Err: fmt.Errorf("graph output %q is a constant; vgfq models compute their outputs from their inputs", o.GetName())}
		}
		if v.qact != nil {
			return nil, &Error{Err: fmt.Errorf("graph output %q is a QuantizeLinear output (int8); end the model with DequantizeLinear", o.GetName())}
		}
		name := im.outputNode(o.GetName(), v.node)
		im.g.Outputs = append(im.g.Outputs, name)
		im.m.Outputs = append(im.m.Outputs, IOInfo{Name: o.GetName(), Shape: append([]int(nil), im.shapes[name]...), Declared: declared(o)})
	}
	if len(im.m.Issues) > 0 {
		// vgfq check: the imported part ends at the nodes nothing reads; make them outputs so
		// that the part can still be put through the lowering.
		cons := im.g.Consumers()
		im.g.Outputs = nil
		for _, n := range im.g.Nodes {
			if len(cons[n.Name]) == 0 && n.Op != graph.OpInput && n.Op != graph.OpConst {
				im.g.Outputs = append(im.g.Outputs, n.Name)
			}
		}
		im.m.Partial = true
		return im.m, nil
	}
	if len(im.g.Outputs) == 0 {
		return nil, &Error{Err: errors.New("the graph has no outputs")}
	}
	pruneUnused(im.g)
	im.cancelReshapes()
	im.fuse()
	if err := im.foldAffine(); err != nil {
		return nil, err
	}
	if err := im.g.InferShapes(); err != nil {
		return nil, &Error{Err: fmt.Errorf("imported graph: %v", err)}
	}
	if im.qdq != nil {
		if err := im.qdq.finish(im); err != nil {
			var e *Error
			if !im.opt.KeepGoing || !errors.As(err, &e) {
				return nil, err
			}
			// vgfq check: report it on its node.
			im.m.Issues = append(im.m.Issues, Issue{Node: e.Node, Op: e.Op, Reason: e.Err.Error(), Fix: "quantize the model as TOSA INT needs (see the reason)"})
			for i := range im.m.List {
				if im.m.List[i].Name == e.Node || (e.Node == "" && i == len(im.m.List)-1) {
					im.m.List[i].Issue = &im.m.Issues[len(im.m.Issues)-1]
					break
				}
			}
			return im.m, nil
		}
		im.m.QDQ = im.qdq
	}
	return im.m, nil
}

// unsupported is a node the importer has no mapping for, with a fix for the user.
type unsupported struct{ reason, fix string }

func (u *unsupported) Error() string { return u.reason + "; " + u.fix }

func unsup(fix, format string, args ...any) error {
	return &unsupported{reason: fmt.Sprintf(format, args...), fix: fix}
}

// issue records err (KeepGoing) or returns it.
func (im *importer) issue(err error, fix string) error {
	if !im.opt.KeepGoing {
		if fix != "" {
			var e *Error
			if errors.As(err, &e) {
				e.Err = fmt.Errorf("%v; %s", e.Err, fix)
				return e
			}
		}
		return err
	}
	is := Issue{Node: nodeName(im.cur), Op: im.cur.GetOpType(), Reason: err.Error(), Fix: fix}
	var e *Error
	if errors.As(err, &e) {
		is.Reason = e.Err.Error()
	}
	im.m.Issues = append(im.m.Issues, is)
	return nil
}

func ioNames(ios []IOInfo) string {
	var s []string
	for _, io := range ios {
		s = append(s, io.Name)
	}
	return strings.Join(s, ", ")
}

func declared(vi *pb.ValueInfoProto) []string {
	var d []string
	tt := vi.GetType().GetTensorType()
	for _, dim := range tt.GetShape().GetDim() {
		switch {
		case dim.GetDimParam() != "":
			d = append(d, dim.GetDimParam())
		case dim.GetDimValue() > 0:
			d = append(d, fmt.Sprint(dim.GetDimValue()))
		default:
			d = append(d, "?")
		}
	}
	return d
}

func (im *importer) input(vi *pb.ValueInfoProto) error {
	name := vi.GetName()
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return &Error{Err: fmt.Errorf("input %q is not a tensor", name)}
	}
	if et := pb.TensorProto_DataType(tt.GetElemType()); et != pb.TensorProto_FLOAT {
		return &Error{Err: fmt.Errorf("input %q has element type %s; vgfq models take float32 images", name, dtName(et))}
	}
	dims := tt.GetShape().GetDim()
	decl := declared(vi)
	shape := make([]int, len(dims))
	var dynamic []int
	for i, d := range dims {
		if d.GetDimValue() > 0 && d.GetDimParam() == "" {
			shape[i] = int(d.GetDimValue())
		} else {
			dynamic = append(dynamic, i)
		}
	}
	if fixed, ok := im.opt.InputShapes[name]; ok {
		if tt.GetShape() != nil && len(fixed) != len(dims) {
			return &Error{Err: fmt.Errorf("--input-shape %s=%s: the model declares rank %d (%s)", name, engine.ShapeString(fixed), len(dims), strings.Join(decl, "x"))}
		}
		for i, d := range dims {
			if d.GetDimValue() > 0 && d.GetDimParam() == "" && int(d.GetDimValue()) != fixed[i] {
				return &Error{Err: fmt.Errorf("--input-shape %s=%s: dimension %d is fixed to %d in the model", name, engine.ShapeString(fixed), i, d.GetDimValue())}
			}
		}
		shape = append([]int(nil), fixed...)
		dynamic = nil
	}
	if tt.GetShape() == nil && shape == nil {
		return &Error{Err: fmt.Errorf("input %q declares no shape; give it with --input-shape %s=1x3xHxW", name, name)}
	}
	if len(dynamic) > 0 {
		if len(dynamic) == 1 && dynamic[0] == 0 && len(shape) == 4 {
			shape[0] = 1
			im.m.Notes = append(im.m.Notes, fmt.Sprintf("input %q: dynamic batch dimension %q set to 1", name, decl[0]))
		} else {
			return &Error{Err: fmt.Errorf("input %q has dynamic dimensions (%s); fix them with --input-shape %s=%s", name, strings.Join(decl, "x"), name, suggestShape(decl))}
		}
	}
	if len(shape) != 4 {
		return &Error{Err: fmt.Errorf("input %q is %s; vgfq models take N x C x H x W images", name, engine.ShapeString(shape))}
	}
	for _, d := range shape {
		if d <= 0 || d > 1<<16 {
			return &Error{Err: fmt.Errorf("input %q shape %s: dimensions must be in [1, 65536]", name, engine.ShapeString(shape))}
		}
	}
	gn := &graph.Node{Name: im.unique(name), Op: graph.OpInput, Attrs: graph.Attrs{Shape: shape}, Shape: append([]int(nil), shape...)}
	im.g.Nodes = append(im.g.Nodes, gn)
	im.shapes[gn.Name] = shape
	im.vals[name] = &value{node: gn.Name, shape: shape}
	im.m.Inputs = append(im.m.Inputs, IOInfo{Name: name, Shape: shape, Declared: decl})
	im.m.Origin[gn.Name] = NodeRef{Name: name, Op: "input"}
	return nil
}

func suggestShape(decl []string) string {
	s := make([]string, len(decl))
	for i, d := range decl {
		switch {
		case d != "?" && d[0] >= '0' && d[0] <= '9':
			s[i] = d
		case i == 0:
			s[i] = "1"
		case i == 1:
			s[i] = "3"
		default:
			s[i] = "64"
		}
	}
	return strings.Join(s, "x")
}

// topoSort orders the nodes so that every input is produced before use, and reports a cycle or
// an input nobody produces.
func topoSort(gp *pb.GraphProto) ([]*pb.NodeProto, error) {
	nodes := gp.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, o := range n.GetOutput() {
			if o == "" {
				continue
			}
			if j, ok := producer[o]; ok {
				return nil, &Error{Node: nodeName(n), Op: n.GetOpType(), Err: fmt.Errorf("output %q is also produced by node %q", o, nodeName(nodes[j]))}
			}
			producer[o] = i
		}
	}
	known := map[string]bool{}
	for _, t := range gp.GetInitializer() {
		known[t.GetName()] = true
	}
	for _, vi := range gp.GetInput() {
		known[vi.GetName()] = true
	}
	for name := range known {
		if i, ok := producer[name]; ok {
			return nil, &Error{Node: nodeName(nodes[i]), Op: nodes[i].GetOpType(), Err: fmt.Errorf("output %q redefines a graph input or initializer", name)}
		}
	}
	state := make([]int, len(nodes)) // 0 new, 1 on stack, 2 done
	var order []*pb.NodeProto
	type frame struct{ i, next int }
	for start := range nodes {
		if state[start] != 0 {
			continue
		}
		stack := []frame{{start, 0}}
		state[start] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			n := nodes[f.i]
			if f.next < len(n.GetInput()) {
				in := n.GetInput()[f.next]
				f.next++
				if in == "" || known[in] {
					continue
				}
				j, ok := producer[in]
				if !ok {
					return nil, &Error{Node: nodeName(n), Op: n.GetOpType(), Err: fmt.Errorf("input %q is not a graph input, an initializer or any node's output (missing initializer?)", in)}
				}
				switch state[j] {
				case 1:
					return nil, &Error{Node: nodeName(n), Op: n.GetOpType(), Err: fmt.Errorf("input %q closes a cycle through node %q: ONNX graphs must be acyclic", in, nodeName(nodes[j]))}
				case 0:
					state[j] = 1
					stack = append(stack, frame{j, 0})
				}
				continue
			}
			state[f.i] = 2
			order = append(order, n)
			stack = stack[:len(stack)-1]
		}
	}
	return order, nil
}

// unique returns name, or name with a suffix if a node or parameter already uses it.
func (im *importer) unique(name string) string {
	if name == "" {
		name = "node"
	}
	n := name
	for k := 2; im.used[n]; k++ {
		n = fmt.Sprintf("%s_%d", name, k)
	}
	im.used[n] = true
	return n
}

// addNode appends a graph node, infers its shape and returns its name.
func (im *importer) addNode(n *graph.Node) (string, error) {
	n.Name = im.unique(n.Name)
	var in [][]int
	for _, i := range n.Inputs {
		in = append(in, im.shapes[i])
	}
	s, err := im.g.NodeShape(n, in)
	if err != nil {
		var ne *graph.NodeError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return "", im.errf("%v", err)
	}
	n.Shape = s
	im.shapes[n.Name] = s
	im.g.Nodes = append(im.g.Nodes, n)
	return n.Name, nil
}

// param stores a float tensor as a graph parameter and returns its name.
func (im *importer) param(name string, shape []int, data []float32) string {
	p := im.unique(name)
	im.g.Params[p] = engine.FromData(append([]float32(nil), data...), append([]int(nil), shape...)...)
	return p
}

// outputNode makes the graph output carry the ONNX output's name when possible.
func (im *importer) outputNode(onnxName, node string) string {
	if node == onnxName {
		return node
	}
	n := im.g.Node(node)
	if n == nil || n.Op == graph.OpInput || im.used[onnxName] {
		return node
	}
	// Rename node -> onnxName everywhere.
	im.used[onnxName] = true
	n.Name = onnxName
	for _, m := range im.g.Nodes {
		for i, in := range m.Inputs {
			if in == node {
				m.Inputs[i] = onnxName
			}
		}
	}
	for i, o := range im.g.Outputs {
		if o == node {
			im.g.Outputs[i] = onnxName
		}
	}
	for _, v := range im.vals {
		if v.node == node {
			v.node = onnxName
		}
	}
	im.shapes[onnxName] = im.shapes[node]
	if r, ok := im.m.Origin[node]; ok {
		im.m.Origin[onnxName] = r
		delete(im.m.Origin, node)
	}
	if im.qdq != nil {
		im.qdq.rename(node, onnxName)
	}
	return onnxName
}

// pruneUnused drops nodes no output depends on (and their parameters).
func pruneUnused(g *graph.Graph) {
	live := map[string]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		if live[n.Name] || n.Op == graph.OpInput {
			for _, in := range n.Inputs {
				live[in] = true
			}
		}
	}
	var keep []*graph.Node
	used := map[string]bool{}
	for _, n := range g.Nodes {
		if live[n.Name] || n.Op == graph.OpInput {
			keep = append(keep, n)
			for _, p := range n.Params {
				used[p] = true
			}
		}
	}
	g.Nodes = keep
	for p := range g.Params {
		if !used[p] {
			delete(g.Params, p)
		}
	}
}

// Summary is the one-screen report of what was read.
func (m *Model) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ONNX model %s: IR version %d, opset %d", m.Graph.Name, m.IRVersion, m.Opset)
	if m.Producer != "" {
		fmt.Fprintf(&b, ", produced by %s", m.Producer)
	}
	b.WriteString("\n")
	for _, in := range m.Inputs {
		fmt.Fprintf(&b, "  input  %-16s %s (declared %s)\n", in.Name, engine.ShapeString(in.Shape), strings.Join(in.Declared, "x"))
	}
	for _, o := range m.Outputs {
		fmt.Fprintf(&b, "  output %-16s %s (declared %s)\n", o.Name, engine.ShapeString(o.Shape), strings.Join(o.Declared, "x"))
	}
	var ops []string
	for op := range m.Ops {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if m.Ops[ops[i]] != m.Ops[ops[j]] {
			return m.Ops[ops[i]] > m.Ops[ops[j]]
		}
		return ops[i] < ops[j]
	})
	var hist []string
	for _, op := range ops {
		hist = append(hist, fmt.Sprintf("%s %d", op, m.Ops[op]))
	}
	fmt.Fprintf(&b, "  %d nodes: %s\n", m.Nodes, strings.Join(hist, ", "))
	fmt.Fprintf(&b, "  imported as %d graph nodes (%d ONNX nodes evaluated at import), %d parameters (%d trainable scalars)\n",
		len(m.Graph.Nodes), m.Folded, len(m.Graph.Params), m.Graph.NumParams())
	if m.QDQ != nil {
		fmt.Fprintf(&b, "  QDQ: %d quantized activations, %d quantized convolutions (scales from the model, no calibration)\n", len(m.QDQ.Act), len(m.QDQ.Convs))
	}
	for _, n := range m.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}
