package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/vgf"
)

// MaxValues is the largest constant operand whose values the summary lists (zero points,
// multipliers, shifts, shapes; not weights).
const MaxValues = 256

// Summary is the JSON form of a model (inspect --json).
type Summary struct {
	File       string        `json:"file"`
	Format     string        `json:"format"`
	Size       int64         `json:"size"`
	VGF        *VGFSummary   `json:"vgf,omitempty"`
	Graph      *GraphSummary `json:"graph,omitempty"`
	GraphError string        `json:"graph_error,omitempty"`
}

// VGFSummary describes the VGF container.
type VGFSummary struct {
	Version         string            `json:"version"`
	VKHeaderVersion uint16            `json:"vk_header_version"`
	Modules         []ModuleSummary   `json:"modules"`
	Segments        []SegmentSummary  `json:"segments"`
	Resources       []ResourceSummary `json:"resources"`
	Inputs          []SlotSummary     `json:"inputs"`
	Outputs         []SlotSummary     `json:"outputs"`
	Constants       []ConstSummary    `json:"constants"`
	ConstantBytes   int64             `json:"constant_bytes"`
}

// ModuleSummary describes one module.
type ModuleSummary struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	EntryPoint string `json:"entry_point"`
	ShaderType string `json:"shader_type"`
	Words      int    `json:"spirv_words,omitempty"`
	SourceLen  int    `json:"source_bytes,omitempty"`
}

// SegmentSummary describes one segment.
type SegmentSummary struct {
	Index          int               `json:"index"`
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	Module         uint32            `json:"module_index"`
	DescriptorSets []SetSummary      `json:"descriptor_sets"`
	Inputs         []vgf.BindingSlot `json:"inputs"`
	Outputs        []vgf.BindingSlot `json:"outputs"`
	Constants      []uint32          `json:"constants"`
	DispatchShape  []uint32          `json:"dispatch_shape"`
}

// SetSummary is one descriptor set.
type SetSummary struct {
	Set      uint32            `json:"set"`
	Bindings []vgf.BindingSlot `json:"bindings"`
}

// ResourceSummary is one model resource table entry.
type ResourceSummary struct {
	Index          int     `json:"index"`
	Category       string  `json:"category"`
	DescriptorType string  `json:"vk_descriptor_type"`
	Format         string  `json:"vk_format"`
	Shape          []int64 `json:"shape"`
	Strides        []int64 `json:"strides,omitempty"`
}

// SlotSummary is a model input or output.
type SlotSummary struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Binding uint32 `json:"binding"`
	MRT     uint32 `json:"mrt_index"`
}

// ConstSummary is one constant record.
type ConstSummary struct {
	Index    int     `json:"index"`
	MRT      uint32  `json:"mrt_index"`
	Format   string  `json:"vk_format"`
	Shape    []int64 `json:"shape"`
	Bytes    int     `json:"bytes"`
	Sparsity int64   `json:"sparsity_dimension"`
}

// GraphSummary describes the TOSA graph.
type GraphSummary struct {
	Inputs        []TensorSummary `json:"inputs"`
	Outputs       []TensorSummary `json:"outputs"`
	Operators     int             `json:"operators"` // without CONST / CONST_SHAPE
	Constants     int             `json:"constants"`
	ConstantBytes int             `json:"constant_bytes"`
	OpCounts      map[string]int  `json:"op_counts"`
	// TOSAExtensions: the extensions beyond PRO-INT the graph needs (EXT-INT16 for a16w8).
	TOSAExtensions []string    `json:"tosa_extensions,omitempty"`
	Ops            []OpSummary `json:"ops"`
	// Transposes and Rescales list the TRANSPOSE and RESCALE operators and where they came from.
	Transposes []Special `json:"transposes"`
	Rescales   []Special `json:"rescales"`
	OriginFrom string    `json:"origin_from,omitempty"`
}

// TensorSummary is a tensor's name, type and shape.
type TensorSummary struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Shape []int  `json:"shape"`
}

// Operand is one operator input.
type Operand struct {
	Role  string `json:"role"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Shape []int  `json:"shape"`
	Const bool   `json:"const,omitempty"`
	// Values are a small constant's values; Bytes a constant's data size.
	Values []int64 `json:"values,omitempty"`
	Bytes  int     `json:"bytes,omitempty"`
}

// OpSummary is one (non-constant) operator.
type OpSummary struct {
	Index   int             `json:"index"`
	Op      string          `json:"op"`
	Inputs  []Operand       `json:"inputs"`
	Outputs []TensorSummary `json:"outputs"`
	Attrs   map[string]any  `json:"attrs,omitempty"`
	Source  string          `json:"source,omitempty"`
}

// Special is a TRANSPOSE or RESCALE operator.
type Special struct {
	Index  int    `json:"index"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Source string `json:"source,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Summarize returns the model's summary.
func (m *Model) Summarize() *Summary {
	s := &Summary{File: m.Path, Format: m.Format, Size: m.Size}
	if m.VGF != nil {
		s.VGF = summarizeVGF(m.VGF)
	}
	if m.GraphErr != nil {
		s.GraphError = m.GraphErr.Error()
	}
	if m.Graph != nil {
		s.Graph = summarizeGraph(m.Graph, m.Origin, m.OriginFrom)
	}
	return s
}

func summarizeVGF(f *vgf.File) *VGFSummary {
	v := &VGFSummary{Version: fmt.Sprintf("%d.%d.%d", f.Version.Major, f.Version.Minor, f.Version.Patch),
		VKHeaderVersion: f.VKHeaderVersion, Modules: []ModuleSummary{}, Segments: []SegmentSummary{},
		Resources: []ResourceSummary{}, Inputs: []SlotSummary{}, Outputs: []SlotSummary{}, Constants: []ConstSummary{}}
	for i := range f.Modules {
		md := &f.Modules[i]
		v.Modules = append(v.Modules, ModuleSummary{Index: i, Name: md.Name, Type: md.Type.String(), EntryPoint: md.EntryPoint,
			ShaderType: md.CodeType.String(), Words: len(md.Code), SourceLen: len(md.Source)})
	}
	for i := range f.Sequence.Segments {
		sg := &f.Sequence.Segments[i]
		ss := SegmentSummary{Index: i, Name: sg.Name, Type: sg.Type.String(), Module: sg.ModuleIndex,
			DescriptorSets: []SetSummary{}, Inputs: orEmpty(sg.Inputs), Outputs: orEmpty(sg.Outputs),
			Constants: orEmpty(sg.Constants), DispatchShape: orEmpty(sg.DispatchShape)}
		for k := range sg.SetInfos {
			ss.DescriptorSets = append(ss.DescriptorSets, SetSummary{Set: sg.SetInfos[k].ResolvedSetIndex(k), Bindings: orEmpty(sg.SetInfos[k].Bindings)})
		}
		v.Segments = append(v.Segments, ss)
	}
	for i := range f.Resources {
		r := &f.Resources[i]
		v.Resources = append(v.Resources, ResourceSummary{Index: i, Category: r.Category.String(),
			DescriptorType: vgf.DescriptorTypeName(r.VkDescriptorType), Format: vgf.FormatName(r.VkFormat),
			Shape: orEmpty(r.Shape), Strides: r.Strides})
	}
	slots := func(bs []vgf.BindingSlot, names []string) []SlotSummary {
		r := []SlotSummary{}
		for i, b := range bs {
			n := ""
			if len(names) == len(bs) {
				n = names[i]
			}
			r = append(r, SlotSummary{Index: i, Name: n, Binding: b.Binding, MRT: b.MRTIndex})
		}
		return r
	}
	v.Inputs = slots(f.Sequence.Inputs, f.Sequence.InputNames)
	v.Outputs = slots(f.Sequence.Outputs, f.Sequence.OutputNames)
	for i, c := range f.Constants {
		cs := ConstSummary{Index: i, MRT: c.ResourceIndex, Bytes: len(c.Data), Sparsity: c.SparsityDimension, Shape: []int64{}}
		if int(c.ResourceIndex) < len(f.Resources) {
			r := &f.Resources[c.ResourceIndex]
			cs.Format, cs.Shape = vgf.FormatName(r.VkFormat), orEmpty(r.Shape)
		}
		v.Constants = append(v.Constants, cs)
		v.ConstantBytes += int64(len(c.Data))
	}
	return v
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// roles names the operands of the common operators (TOSA 1.0 operand order).
var roles = map[tosa.Op][]string{
	tosa.OpConv2D:          {"input", "weight", "bias", "input_zp", "weight_zp"},
	tosa.OpConv3D:          {"input", "weight", "bias", "input_zp", "weight_zp"},
	tosa.OpDepthwiseConv2D: {"input", "weight", "bias", "input_zp", "weight_zp"},
	tosa.OpTransposeConv2D: {"input", "weight", "bias", "input_zp", "weight_zp"},
	tosa.OpRescale:         {"input", "multiplier", "shift", "input_zp", "output_zp"},
	tosa.OpAvgPool2D:       {"input", "input_zp", "output_zp"},
	tosa.OpMul:             {"input1", "input2", "shift"},
	tosa.OpPad:             {"input", "padding", "pad_const"},
	tosa.OpReshape:         {"input", "shape"},
	tosa.OpSlice:           {"input", "start", "size"},
	tosa.OpTile:            {"input", "multiples"},
	tosa.OpResize:          {"input", "scale", "offset", "border"},
	tosa.OpTable:           {"input", "table"},
	tosa.OpMatMul:          {"A", "B", "A_zp", "B_zp"},
	tosa.OpNegate:          {"input", "input1_zp", "output_zp"},
}

func tensorSummary(t *tosa.Tensor, name string) TensorSummary {
	if t == nil {
		return TensorSummary{Name: name, Type: "?", Shape: []int{}}
	}
	return TensorSummary{Name: t.Name, Type: t.Type.String(), Shape: orEmpty(t.Shape)}
}

func summarizeGraph(g *tosa.Graph, origin []string, originFrom string) *GraphSummary {
	tm := g.TensorMap()
	s := &GraphSummary{OpCounts: map[string]int{}, Ops: []OpSummary{}, Transposes: []Special{}, Rescales: []Special{},
		Inputs: []TensorSummary{}, Outputs: []TensorSummary{}, OriginFrom: originFrom, TOSAExtensions: export.TOSAExtensions(g)}
	for _, n := range g.Inputs {
		s.Inputs = append(s.Inputs, tensorSummary(tm[n], n))
	}
	for _, n := range g.Outputs {
		s.Outputs = append(s.Outputs, tensorSummary(tm[n], n))
	}
	isConst := map[string]bool{}
	for _, op := range g.Ops {
		if op != nil && (op.Op == tosa.OpConst || op.Op == tosa.OpConstShape) {
			for _, o := range op.Outputs {
				isConst[o] = true
				s.Constants++
				if t := tm[o]; t != nil {
					s.ConstantBytes += len(t.Data)
				}
			}
		}
	}
	for i, op := range g.Ops {
		if op == nil || op.Op == tosa.OpConst || op.Op == tosa.OpConstShape {
			continue
		}
		s.Operators++
		s.OpCounts[op.Op.String()]++
		os := OpSummary{Index: i, Op: op.Op.String(), Inputs: []Operand{}, Outputs: []TensorSummary{}, Attrs: attrs(op)}
		if i < len(origin) {
			os.Source = origin[i]
		}
		rl := roles[op.Op]
		for k, n := range op.Inputs {
			role := "input" + strconv.Itoa(k+1)
			if k < len(rl) {
				role = rl[k]
			} else if len(op.Inputs) == 1 {
				role = "input"
			}
			ts := tensorSummary(tm[n], n)
			od := Operand{Role: role, Name: n, Type: ts.Type, Shape: ts.Shape, Const: isConst[n]}
			if t := tm[n]; od.Const && t != nil {
				od.Bytes = len(t.Data)
				if t.Type != tosa.FP32 && t.Type != tosa.FP16 && t.Type != tosa.BF16 && tosa.NumElements(t.Shape) <= MaxValues {
					if v, err := t.Ints(); err == nil {
						od.Values = v
					}
				}
			}
			os.Inputs = append(os.Inputs, od)
		}
		for _, n := range op.Outputs {
			os.Outputs = append(os.Outputs, tensorSummary(tm[n], n))
		}
		s.Ops = append(s.Ops, os)
		if op.Op == tosa.OpTranspose || op.Op == tosa.OpRescale {
			sp := Special{Index: i, Source: os.Source}
			if len(op.Inputs) > 0 {
				sp.Input = op.Inputs[0]
			}
			if len(op.Outputs) > 0 {
				sp.Output = op.Outputs[0]
			}
			if op.Op == tosa.OpTranspose {
				sp.Detail = "perms " + ints(op.Attr.Perms)
				s.Transposes = append(s.Transposes, sp)
			} else {
				sp.Detail = rescaleDetail(os)
				s.Rescales = append(s.Rescales, sp)
			}
		}
	}
	return s
}

func rescaleDetail(os OpSummary) string {
	var parts []string
	for _, in := range os.Inputs {
		if in.Role != "input" && in.Values != nil {
			parts = append(parts, in.Role+"="+values(in.Values, 4))
		}
	}
	return strings.Join(parts, " ")
}

// attrs returns the meaningful attributes of op (see tosa.Attr).
func attrs(op *tosa.Operator) map[string]any {
	a := &op.Attr
	m := map[string]any{}
	switch op.Op {
	case tosa.OpConv2D, tosa.OpConv3D, tosa.OpDepthwiseConv2D:
		m["pad"], m["stride"], m["dilation"], m["acc_type"], m["local_bound"] = a.Pad, a.Stride, a.Dilation, a.AccType.String(), a.LocalBound
	case tosa.OpTransposeConv2D:
		m["out_pad"], m["stride"], m["acc_type"], m["local_bound"] = a.OutPad, a.Stride, a.AccType.String(), a.LocalBound
	case tosa.OpAvgPool2D:
		m["kernel"], m["stride"], m["pad"], m["acc_type"] = a.Kernel, a.Stride, a.Pad, a.AccType.String()
	case tosa.OpMaxPool2D:
		m["kernel"], m["stride"], m["pad"], m["nan_mode"] = a.Kernel, a.Stride, a.Pad, a.NanMode.String()
	case tosa.OpClamp:
		m["min"], m["max"], m["nan_mode"] = clampValue(a.ClampMin), clampValue(a.ClampMax), a.NanMode.String()
	case tosa.OpTranspose:
		m["perms"] = a.Perms
	case tosa.OpResize:
		m["mode"] = a.Mode.String()
	case tosa.OpRescale:
		m["scale32"], m["rounding_mode"], m["per_channel"] = a.Scale32, a.RoundingMode.String(), a.PerChannel
		m["input_unsigned"], m["output_unsigned"] = a.InputUnsigned, a.OutputUnsigned
	case tosa.OpConcat, tosa.OpReverse, tosa.OpReduceAll, tosa.OpReduceAny, tosa.OpReduceProduct, tosa.OpReduceSum:
		m["axis"] = a.Axis
	case tosa.OpReduceMax, tosa.OpReduceMin, tosa.OpArgMax:
		m["axis"], m["nan_mode"] = a.Axis, a.NanMode.String()
	case tosa.OpMaximum, tosa.OpMinimum:
		m["nan_mode"] = a.NanMode.String()
	case tosa.OpArithmeticRightShift:
		m["round"] = a.Round
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// clampValue decodes a CLAMP bound (raw little-endian bytes of the element type) as an integer
// when it is 1, 2 or 4 bytes long, else returns the bytes in hex.
func clampValue(b []byte) any {
	switch len(b) {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(uint16(b[0]) | uint16(b[1])<<8))
	case 4:
		return int64(int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
	}
	return fmt.Sprintf("%x", b)
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func values(v []int64, limit int) string {
	n := min(len(v), limit)
	s := make([]string, n)
	for i := range n {
		s[i] = strconv.FormatInt(v[i], 10)
	}
	r := strings.Join(s, ",")
	if len(v) > n {
		r += fmt.Sprintf(",… (%d values)", len(v))
	}
	if len(v) == 1 {
		return r
	}
	return "[" + r + "]"
}

func shape(s []int) string { return ints(s) }

// JSON returns the summary as indented JSON with a final newline.
func (m *Model) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m.Summarize(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteText writes the readable summary.
func (m *Model) WriteText(w io.Writer) error {
	s := m.Summarize()
	p := &printer{w: w}
	kind := "TOSA 1.0 flatbuffer"
	if s.VGF != nil {
		kind = "VGF " + s.VGF.Version
	}
	p.f("%s: %s, %d bytes\n", s.File, kind, s.Size)
	if v := s.VGF; v != nil {
		p.f("\nmodules (%d):\n", len(v.Modules))
		for _, md := range v.Modules {
			code := md.ShaderType
			if md.Words > 0 {
				code += fmt.Sprintf(", %d words", md.Words)
			} else if md.SourceLen > 0 {
				code += fmt.Sprintf(", %d bytes of source", md.SourceLen)
			} else {
				code += ", no code"
			}
			p.f("  [%d] %s %q entry %q (%s)\n", md.Index, md.Type, md.Name, md.EntryPoint, code)
		}
		p.f("\nsegments (%d):\n", len(v.Segments))
		for _, sg := range v.Segments {
			p.f("  [%d] %s %q module %d, dispatch %v\n", sg.Index, sg.Type, sg.Name, sg.Module, sg.DispatchShape)
			for _, ds := range sg.DescriptorSets {
				p.f("      descriptor set %d: %s\n", ds.Set, slotList(ds.Bindings))
			}
			p.f("      inputs: %s  outputs: %s\n", slotList(sg.Inputs), slotList(sg.Outputs))
			p.f("      constants: %s\n", u32List(sg.Constants))
		}
		p.f("\nresources (%d):\n", len(v.Resources))
		for _, r := range v.Resources {
			st := ""
			if len(r.Strides) > 0 {
				st = fmt.Sprintf(" strides %v", r.Strides)
			}
			p.f("  [%d] %-12s %-30s %-20s %v%s\n", r.Index, r.Category, r.DescriptorType, r.Format, r.Shape, st)
		}
		p.f("\nmodel inputs:\n")
		for _, x := range v.Inputs {
			p.f("  [%d] %q binding %d (resource %d)\n", x.Index, x.Name, x.Binding, x.MRT)
		}
		p.f("model outputs:\n")
		for _, x := range v.Outputs {
			p.f("  [%d] %q binding %d (resource %d)\n", x.Index, x.Name, x.Binding, x.MRT)
		}
		p.f("\nconstants (%d, %d bytes):\n", len(v.Constants), v.ConstantBytes)
		for _, c := range v.Constants {
			sp := ""
			if c.Sparsity != vgf.NotSparse {
				sp = fmt.Sprintf(", 2:4 sparse on dim %d", c.Sparsity)
			}
			p.f("  [%d] resource %d %s %v: %d bytes%s\n", c.Index, c.MRT, c.Format, c.Shape, c.Bytes, sp)
		}
	}
	if s.GraphError != "" {
		p.f("\ngraph: cannot be read: %s\n", s.GraphError)
	}
	if g := s.Graph; g != nil {
		p.f("\ngraph: %d operators, %d constants (%d bytes)\n", g.Operators, g.Constants, g.ConstantBytes)
		keys := make([]string, 0, len(g.OpCounts))
		for k := range g.OpCounts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var cs []string
		for _, k := range keys {
			cs = append(cs, fmt.Sprintf("%s %d", k, g.OpCounts[k]))
		}
		p.f("  ops: %s\n", strings.Join(cs, ", "))
		if len(g.TOSAExtensions) > 0 {
			p.f("  needs TOSA extensions: %s (beyond PRO-INT)\n", strings.Join(g.TOSAExtensions, ", "))
		}
		for _, t := range g.Inputs {
			p.f("  input  %s %s%s\n", t.Name, t.Type, shape(t.Shape))
		}
		for _, t := range g.Outputs {
			p.f("  output %s %s%s\n", t.Name, t.Type, shape(t.Shape))
		}
		p.f("\n")
		for _, op := range g.Ops {
			src := ""
			if op.Source != "" {
				src = "   [from " + op.Source + "]"
			}
			var outs []string
			for _, o := range op.Outputs {
				outs = append(outs, fmt.Sprintf("%s %s%s", o.Name, o.Type, shape(o.Shape)))
			}
			p.f("  #%-3d %-16s -> %s%s\n", op.Index, op.Op, strings.Join(outs, ", "), src)
			for _, in := range op.Inputs {
				desc := fmt.Sprintf("%s %s%s", in.Name, in.Type, shape(in.Shape))
				if in.Const {
					if in.Values != nil {
						desc = fmt.Sprintf("%s = %s", desc, values(in.Values, 16))
					} else {
						desc = fmt.Sprintf("%s (const, %d bytes)", desc, in.Bytes)
					}
				}
				p.f("         %-11s %s\n", in.Role, desc)
			}
			if len(op.Attrs) > 0 {
				keys := make([]string, 0, len(op.Attrs))
				for k := range op.Attrs {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				var as []string
				for _, k := range keys {
					v := op.Attrs[k]
					if iv, ok := v.([]int); ok {
						v = ints(iv)
					}
					as = append(as, fmt.Sprintf("%s=%v", k, v))
				}
				p.f("         attrs       %s\n", strings.Join(as, " "))
			}
		}
		from := ""
		if g.OriginFrom != "" {
			from = " (source nodes from " + g.OriginFrom + ")"
		}
		p.f("\nTRANSPOSE: %d%s\n", len(g.Transposes), from)
		for _, t := range g.Transposes {
			p.f("  #%-3d %s -> %s %s%s\n", t.Index, t.Input, t.Output, t.Detail, fromNode(t.Source))
		}
		p.f("RESCALE: %d%s\n", len(g.Rescales), from)
		for _, t := range g.Rescales {
			p.f("  #%-3d %s -> %s%s\n", t.Index, t.Input, t.Output, fromNode(t.Source))
			if t.Detail != "" {
				p.f("        %s\n", t.Detail)
			}
		}
	}
	return p.err
}

func fromNode(s string) string {
	if s == "" {
		return ""
	}
	return "  from node " + s
}

func slotList(bs []vgf.BindingSlot) string {
	var s []string
	for _, b := range bs {
		s = append(s, fmt.Sprintf("binding %d→resource %d", b.Binding, b.MRTIndex))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func u32List(v []uint32) string {
	if len(v) == 0 {
		return "none"
	}
	if len(v) > 16 {
		return fmt.Sprintf("%v … (%d)", v[:16], len(v))
	}
	return fmt.Sprint(v)
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
