// Package export turns a lowered INT8 TOSA graph (package lower) into the files an application
// and Arm's ML SDK for Vulkan need:
//
//	model.vgf            the VGF container: one GRAPH module (the SPIR-V graph from package
//	                     spirv), one segment, the model resources and the constants section
//	io.json              the integration contract (Contract): per input/output its name,
//	                     binding, shape, element type, VkFormat, scale/zero point, the exact
//	                     quantize/dequantize formulas and the float range it covers
//	scenario.json        a Scenario Runner scenario that runs model.vgf on input.npy and
//	                     writes output.npy
//	input.npy            a sample int8 input (given by the caller)
//	expected_output.npy  the output of the TOSA graph on input.npy (tosa/ref, bit-exact), what
//	                     output.npy must equal
//
// The VGF is laid out like Arm's model-converter lays out a single-graph model
// (vgf-format.md §A.10, serialize_vgf.cpp): first one CONSTANT resource per graph constant, in
// GraphConstantID order, each with its constant record (so GraphConstantID == VGF constant index
// == constant resource index); then the input resources (bindings 0..I-1) and output resources
// (bindings I..I+O-1), all VK_DESCRIPTOR_TYPE_TENSOR_ARM in descriptor set 0; one GRAPH module
// (entry "main") run by one segment "graph_segment_0" whose descriptor set lists all its
// bindings and whose constant list is every constant; the model inputs/outputs named after the
// TOSA tensors; VK_HEADER_VERSION 0.
//
// Everything is a deterministic function of the inputs, and every file is written atomically.
package export

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/spirv"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
	"github.com/vgfq/vgfq/vgf"
)

// File names written by WriteVGF.
const (
	VGFFile      = "model.vgf"
	ContractFile = "io.json"
	ScenarioFile = "scenario.json"
)

// Default names of the module and segment.
const (
	DefaultModuleName  = "vgfq_graph"
	DefaultSegmentName = "graph_segment_0"
)

// Options control the export.
type Options struct {
	// DebugInfo keeps tensor names in the SPIR-V module (OpName; model-converter's
	// --emit-debug-info). vgfq inspect then shows names and where RESCALE/TRANSPOSE came from.
	DebugInfo bool
	// ModuleName names the GRAPH module ("" = DefaultModuleName).
	ModuleName string
	// Inputs are the sample inputs written as input.npy (int8 tensors of the graph inputs'
	// shapes), parallel to the lowered graph's inputs. nil: every input is filled with its zero
	// point (a float 0 image).
	Inputs []*tosa.Tensor
	// Verify decodes the written model.vgf back into a TOSA graph (spirv.Read with the VGF
	// constants), runs it on the sample inputs and checks the result equals the expected
	// output bit for bit.
	Verify bool
}

// Artifacts is what WriteVGF produced.
type Artifacts struct {
	Dir      string
	Files    []string // paths written, in order
	VGF      *vgf.File
	VGFBytes []byte
	Module   *spirv.Result
	Contract *Contract
	Scenario []byte
	Inputs   []*tosa.Tensor // sample inputs, model input order
	Expected []*tosa.Tensor // expected outputs, model output order
}

// Model is the in-memory export of a graph: the VGF file and the module it holds.
type Model struct {
	File   *vgf.File
	Module *spirv.Result
	// InputMRT and OutputMRT are the model resource table indexes of the inputs and outputs.
	InputMRT, OutputMRT []uint32
}

// BuildVGF emits g as a SPIR-V graph module and wraps it in a VGF file laid out as described in
// the package documentation. The model inputs and outputs are named after the graph's tensors.
func BuildVGF(g *tosa.Graph, opt Options) (*Model, error) {
	if g == nil {
		return nil, fmt.Errorf("export: nil graph")
	}
	sr, err := spirv.Write(g, spirv.Options{DebugNames: opt.DebugInfo})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	words, err := sr.Module.Words()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	f := &vgf.File{VKHeaderVersion: 0}
	m := &Model{File: f, Module: sr}
	seg := vgf.Segment{Type: vgf.ModuleGraph, Name: DefaultSegmentName, ModuleIndex: 0,
		DispatchShape: []uint32{0, 0, 0}, Constants: []uint32{}}
	for i, c := range sr.Constants {
		if c.ID != uint32(i) {
			return nil, fmt.Errorf("export: graph constant %q has id %d, want %d (dense ids)", c.Name, c.ID, i)
		}
		if len(c.Data) == 0 {
			return nil, fmt.Errorf("export: graph constant %q has no data", c.Name)
		}
		vf, err := VkFormat(c.Type)
		if err != nil {
			return nil, fmt.Errorf("export: graph constant %q: %v", c.Name, err)
		}
		f.Resources = append(f.Resources, vgf.Resource{Category: vgf.CategoryConstant,
			VkDescriptorType: vgf.DescriptorTypeNone, VkFormat: vf, Shape: dims(c.Shape), Strides: []int64{}})
		f.Constants = append(f.Constants, vgf.DenseConstant(uint32(len(f.Resources)-1), c.Data))
		seg.Constants = append(seg.Constants, uint32(i))
	}
	var set vgf.DescriptorSetInfo
	set.SetIndex = 0
	iface := func(bs []spirv.Binding, cat vgf.ResourceCategory) ([]vgf.BindingSlot, []string, []uint32, error) {
		var slots []vgf.BindingSlot
		var names []string
		var mrts []uint32
		for _, b := range bs {
			if b.DescriptorSet != 0 {
				return nil, nil, nil, fmt.Errorf("export: %q in descriptor set %d", b.Name, b.DescriptorSet)
			}
			vf, err := VkFormat(b.Type)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("export: %q: %v", b.Name, err)
			}
			f.Resources = append(f.Resources, vgf.Resource{Category: cat, VkDescriptorType: vgf.DescriptorTypeTensorARM,
				VkFormat: vf, Shape: dims(b.Shape), Strides: []int64{}})
			mrt := uint32(len(f.Resources) - 1)
			slots = append(slots, vgf.BindingSlot{Binding: b.Binding, MRTIndex: mrt})
			names = append(names, b.Name)
			mrts = append(mrts, mrt)
		}
		return slots, names, mrts, nil
	}
	var err2 error
	seg.Inputs, f.Sequence.InputNames, m.InputMRT, err2 = iface(sr.Inputs, vgf.CategoryInput)
	if err2 != nil {
		return nil, err2
	}
	seg.Outputs, f.Sequence.OutputNames, m.OutputMRT, err2 = iface(sr.Outputs, vgf.CategoryOutput)
	if err2 != nil {
		return nil, err2
	}
	set.Bindings = append(append([]vgf.BindingSlot{}, seg.Inputs...), seg.Outputs...)
	seg.SetInfos = []vgf.DescriptorSetInfo{set}
	f.Sequence.Segments = []vgf.Segment{seg}
	f.Sequence.Inputs = append([]vgf.BindingSlot{}, seg.Inputs...)
	f.Sequence.Outputs = append([]vgf.BindingSlot{}, seg.Outputs...)
	name := opt.ModuleName
	if name == "" {
		name = DefaultModuleName
	}
	entry := spirv.DefaultEntryPointName
	f.Modules = []vgf.Module{{Type: vgf.ModuleGraph, Name: name, EntryPoint: entry, CodeType: vgf.CodeSPIRV, Code: words}}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return m, nil
}

func dims(s []int) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}

// npyNames returns the sample file names: input.npy / output.npy for a single tensor,
// input_K.npy / output_K.npy otherwise.
func npyNames(prefix string, n int) []string {
	if n == 1 {
		return []string{prefix + ".npy"}
	}
	r := make([]string, n)
	for i := range r {
		r[i] = prefix + "_" + strconv.Itoa(i) + ".npy"
	}
	return r
}

// BuildContract returns the IO contract of model m exported from res.
func BuildContract(res *lower.Result, m *Model) (*Contract, error) {
	c := &Contract{Format: ContractFormat, Model: VGFFile, EntryPoint: m.File.Modules[0].EntryPoint,
		Quantize: QuantizeFormula, Dequantize: DequantizeFormula, TOSAExtensions: TOSAExtensions(res.Graph)}
	add := func(ios []lower.IO, bs []spirv.Binding, mrts []uint32, files []string, in bool) ([]Tensor, error) {
		if len(ios) != len(bs) {
			return nil, fmt.Errorf("export: %d lowered I/O descriptions for %d graph tensors", len(ios), len(bs))
		}
		var ts []Tensor
		for i, io := range ios {
			b := bs[i]
			if io.Name != b.Name {
				return nil, fmt.Errorf("export: I/O %d is %q in the graph but %q in the lowering result", i, b.Name, io.Name)
			}
			vf, _ := VkFormat(b.Type)
			t := Tensor{Name: b.Name, Source: io.Source, Index: i, DescriptorSet: b.DescriptorSet, Binding: b.Binding,
				MRTIndex: mrts[i], Shape: append([]int{}, b.Shape...), Layout: io.Layout, ElementType: elementType(b.Type),
				VkFormat: vgf.FormatName(vf), VkFormatValue: vf, Scale: io.Scale, ZeroPoint: io.ZP, QMin: -128, QMax: 127,
				File: files[i]}
			if t.Layout == "" {
				t.Layout = "NHWC"
			}
			if b.Type != tosa.Int8 {
				return nil, fmt.Errorf("export: %q is %s, the IO contract covers int8 tensors", b.Name, b.Type)
			}
			if err := t.Validate(); err != nil {
				return nil, fmt.Errorf("export: %v", err)
			}
			t.InvScale = 1 / t.Scale
			t.FloatRange = [2]float32{t.Dequantize(int8(t.QMin)), t.Dequantize(int8(t.QMax))}
			t.Formula = DequantizeFormula
			if in {
				t.Formula = QuantizeFormula
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	var err error
	if c.Inputs, err = add(res.Inputs, m.Module.Inputs, m.InputMRT, npyNames("input", len(res.Inputs)), true); err != nil {
		return nil, err
	}
	if c.Outputs, err = add(res.Outputs, m.Module.Outputs, m.OutputMRT, npyNames("output", len(res.Outputs)), false); err != nil {
		return nil, err
	}
	return c, nil
}

// Scenario returns scenario.json for f: vgf_dump's scenario template with the placeholder paths
// replaced by the contract's sample file names.
func Scenario(f *vgf.File, c *Contract) ([]byte, error) {
	g := *f
	g.Filename = c.Model
	tmpl, err := vgf.ScenarioTemplate(&g, false)
	if err != nil {
		return nil, fmt.Errorf("export: scenario: %w", err)
	}
	s := string(tmpl)
	for i, t := range c.Inputs {
		s = strings.Replace(s, `"TEMPLATE_PATH_TENSOR_INPUT_`+strconv.Itoa(i)+`"`, strconv.Quote(t.File), 1)
	}
	for i, t := range c.Outputs {
		s = strings.Replace(s, `"TEMPLATE_PATH_TENSOR_OUTPUT_`+strconv.Itoa(i)+`"`, strconv.Quote(t.File), 1)
	}
	if strings.Contains(s, "TEMPLATE_PATH") {
		return nil, fmt.Errorf("export: scenario: unresolved placeholder")
	}
	return []byte(s + "\n"), nil
}

// EncodeNPY encodes an int8 (or int32) tensor as a .npy array of its shape.
func EncodeNPY(t *tosa.Tensor) ([]byte, error) {
	var b bytes.Buffer
	if err := WriteNPY(&b, t); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteNPY writes an int8 or int32 tensor as a .npy array of its shape (C order) in NPY format
// version 1.0, byte for byte as numpy.save writes it (header dict, spaces to a 64-byte
// boundary, newline). Version 1.0 is what every reader accepts: the TOSA reference model reads
// only 1.0, Arm's Scenario Runner reads 1.0 and 2.0.
func WriteNPY(w io.Writer, t *tosa.Tensor) error {
	n := tosa.NumElements(t.Shape)
	if t.Type.DataSize(n) != len(t.Data) {
		return fmt.Errorf("npy: tensor %q: %d data bytes for %s%v", t.Name, len(t.Data), t.Type, t.Shape)
	}
	var descr string
	switch t.Type {
	case tosa.Int8:
		descr = "|i1"
	case tosa.Int32:
		descr = "<i4"
	default:
		return fmt.Errorf("npy: tensor %q: type %s not supported", t.Name, t.Type)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(dims, ", ") + ")"
	if len(dims) == 1 {
		shape = "(" + dims[0] + ",)"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	const prefix = 10 // magic (6) + version (2) + header length (2)
	pad := 64 - (prefix+len(header)+1)%64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > 65535 {
		return fmt.Errorf("npy: tensor %q: shape %v too long for an NPY 1.0 header", t.Name, t.Shape)
	}
	buf := make([]byte, 0, prefix+len(header)+len(t.Data))
	buf = append(buf, "\x93NUMPY\x01\x00"...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	buf = append(buf, t.Data...)
	_, err := w.Write(buf)
	return err
}

// sampleInputs returns the sample inputs, checked against the graph's inputs.
func sampleInputs(g *tosa.Graph, given []*tosa.Tensor, c *Contract) ([]*tosa.Tensor, error) {
	var r []*tosa.Tensor
	if given != nil && len(given) != len(c.Inputs) {
		return nil, fmt.Errorf("export: %d sample inputs for %d graph inputs", len(given), len(c.Inputs))
	}
	for i, ct := range c.Inputs {
		gt := g.Tensor(ct.Name)
		if gt == nil {
			return nil, fmt.Errorf("export: graph input %q not found", ct.Name)
		}
		if given == nil {
			d := make([]byte, tosa.NumElements(gt.Shape))
			for k := range d {
				d[k] = byte(int8(ct.ZeroPoint))
			}
			r = append(r, &tosa.Tensor{Name: gt.Name, Shape: append([]int{}, gt.Shape...), Type: gt.Type, Data: d})
			continue
		}
		t := given[i]
		if t == nil || t.Type != gt.Type || !slices.Equal(t.Shape, gt.Shape) || len(t.Data) != gt.Type.DataSize(tosa.NumElements(gt.Shape)) {
			return nil, fmt.Errorf("export: sample input %d must be %s%v like graph input %q", i, gt.Type, gt.Shape, gt.Name)
		}
		r = append(r, &tosa.Tensor{Name: gt.Name, Shape: append([]int{}, gt.Shape...), Type: gt.Type, Data: t.Data})
	}
	return r, nil
}

// RunTOSA runs g on inputs (in graph input order) with the reference interpreter and returns the
// outputs in graph output order.
func RunTOSA(g *tosa.Graph, inputs []*tosa.Tensor) ([]*tosa.Tensor, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("%d inputs for a graph with %d", len(inputs), len(g.Inputs))
	}
	in := map[string]*tosa.Tensor{}
	for i, name := range g.Inputs {
		t := *inputs[i]
		t.Name = name
		in[name] = &t
	}
	out, err := ref.Run(g, in)
	if err != nil {
		return nil, err
	}
	r := make([]*tosa.Tensor, len(g.Outputs))
	for i, name := range g.Outputs {
		if out[name] == nil {
			return nil, fmt.Errorf("graph output %q not computed", name)
		}
		r[i] = out[name]
	}
	return r, nil
}

// WriteVGF exports res into dir (created if needed): model.vgf, io.json, scenario.json, the
// sample inputs (input.npy) and the expected outputs (expected_output.npy); see the package
// documentation.
func WriteVGF(res *lower.Result, dir string, opt Options) (*Artifacts, error) {
	if res == nil || res.Graph == nil {
		return nil, fmt.Errorf("export: no lowered graph")
	}
	m, err := BuildVGF(res.Graph, opt)
	if err != nil {
		return nil, err
	}
	data, err := vgf.Encode(m.File)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	c, err := BuildContract(res, m)
	if err != nil {
		return nil, err
	}
	scen, err := Scenario(m.File, c)
	if err != nil {
		return nil, err
	}
	ins, err := sampleInputs(res.Graph, opt.Inputs, c)
	if err != nil {
		return nil, err
	}
	// Graph inputs are the model inputs in the same order (spirv.Write binds g.Inputs in order).
	outs, err := RunTOSA(res.Graph, ins)
	if err != nil {
		return nil, fmt.Errorf("export: expected output: %w", err)
	}
	if opt.Verify {
		if err := verify(data, ins, outs); err != nil {
			return nil, err
		}
	}
	cj, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	cj = append(cj, '\n')
	files := []struct {
		name string
		data []byte
	}{{VGFFile, data}, {ContractFile, cj}, {ScenarioFile, scen}}
	for i, t := range ins {
		b, err := EncodeNPY(t)
		if err != nil {
			return nil, err
		}
		files = append(files, struct {
			name string
			data []byte
		}{c.Inputs[i].File, b})
	}
	for i, t := range outs {
		b, err := EncodeNPY(t)
		if err != nil {
			return nil, err
		}
		files = append(files, struct {
			name string
			data []byte
		}{"expected_" + c.Outputs[i].File, b})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	a := &Artifacts{Dir: dir, VGF: m.File, VGFBytes: data, Module: m.Module, Contract: c, Scenario: scen, Inputs: ins, Expected: outs}
	for _, fl := range files {
		p := filepath.Join(dir, fl.name)
		if err := atomicfile.WriteBytes(p, fl.data, 0o644); err != nil {
			return nil, err
		}
		a.Files = append(a.Files, p)
	}
	return a, nil
}

// verify decodes an encoded VGF, reads its graph back and checks it reproduces outs on ins.
func verify(data []byte, ins, outs []*tosa.Tensor) error {
	f, err := vgf.Decode(data)
	if err != nil {
		return fmt.Errorf("export: verify: %w", err)
	}
	g, err := DecodeGraph(f)
	if err != nil {
		return fmt.Errorf("export: verify: %w", err)
	}
	got, err := RunDecoded(f, g, ins)
	if err != nil {
		return fmt.Errorf("export: verify: running the decoded graph: %w", err)
	}
	for i := range outs {
		if !bytes.Equal(got[i].Data, outs[i].Data) {
			return fmt.Errorf("export: verify: output %d of the decoded VGF differs from the TOSA graph's", i)
		}
	}
	return nil
}

// DecodeGraph reads the SPIR-V graph of f's single GRAPH segment back into a TOSA graph, with
// the graph constants' data from f's constants section (GraphConstantID = constant index).
func DecodeGraph(f *vgf.File) (*spirv.Decoded, error) {
	var seg *vgf.Segment
	for i := range f.Sequence.Segments {
		s := &f.Sequence.Segments[i]
		if s.Type == vgf.ModuleGraph {
			if seg != nil {
				return nil, fmt.Errorf("more than one GRAPH segment")
			}
			seg = s
		}
	}
	if seg == nil {
		return nil, fmt.Errorf("no GRAPH segment")
	}
	if int(seg.ModuleIndex) >= len(f.Modules) {
		return nil, fmt.Errorf("segment %q: module index %d out of range", seg.Name, seg.ModuleIndex)
	}
	mod := &f.Modules[seg.ModuleIndex]
	if mod.Type != vgf.ModuleGraph || mod.CodeType != vgf.CodeSPIRV || len(mod.Code) == 0 {
		return nil, fmt.Errorf("module %d %q holds no SPIR-V graph", seg.ModuleIndex, mod.Name)
	}
	consts := make([][]byte, len(f.Constants))
	for i, c := range f.Constants {
		consts[i] = c.Data
	}
	return spirv.Read(spirv.WordsToBytes(mod.Code), spirv.ReadOptions{EntryPoint: mod.EntryPoint, Constants: consts})
}

// RunDecoded runs the graph d decoded from f (DecodeGraph) with the reference interpreter. ins
// are the model inputs in VGF model-sequence order; each is routed to the graph input whose
// binding the sequence gives. The outputs are returned in model-sequence order.
func RunDecoded(f *vgf.File, d *spirv.Decoded, ins []*tosa.Tensor) ([]*tosa.Tensor, error) {
	q := &f.Sequence
	if len(ins) != len(q.Inputs) {
		return nil, fmt.Errorf("%d inputs given, the model has %d", len(ins), len(q.Inputs))
	}
	byBinding := func(bs []spirv.Binding, b uint32) *spirv.Binding {
		for i := range bs {
			if bs[i].Binding == b && bs[i].DescriptorSet == 0 {
				return &bs[i]
			}
		}
		return nil
	}
	in := map[string]*tosa.Tensor{}
	for i, s := range q.Inputs {
		b := byBinding(d.Inputs, s.Binding)
		if b == nil {
			return nil, fmt.Errorf("model input %d: binding %d is not a graph input", i, s.Binding)
		}
		t := ins[i]
		if t == nil || t.Type != b.Type || !slices.Equal(t.Shape, b.Shape) || len(t.Data) != b.Type.DataSize(tosa.NumElements(b.Shape)) {
			var got string
			if t != nil {
				got = fmt.Sprintf(", got %s%v", t.Type, t.Shape)
			}
			return nil, fmt.Errorf("model input %d (%q) must be %s%v%s", i, b.Name, b.Type, b.Shape, got)
		}
		c := *t
		c.Name = b.Name
		in[b.Name] = &c
	}
	res, err := ref.Run(d.Graph, in)
	if err != nil {
		return nil, err
	}
	outs := make([]*tosa.Tensor, len(q.Outputs))
	for i, s := range q.Outputs {
		b := byBinding(d.Outputs, s.Binding)
		if b == nil {
			return nil, fmt.Errorf("model output %d: binding %d is not a graph output", i, s.Binding)
		}
		if res[b.Name] == nil {
			return nil, fmt.Errorf("model output %d (%q) not computed", i, b.Name)
		}
		outs[i] = res[b.Name]
	}
	return outs, nil
}

// ReadNPY decodes a .npy array of int8 or uint8 (raw bytes, as the Scenario Runner reads them
// for R8_SINT tensors) or int32 elements, in C order, into a tensor named name. The header's
// shape must be covered by the data (no allocation beyond the input's size).
func ReadNPY(name string, data []byte) (t *tosa.Tensor, err error) {
	if len(data) < 12 || string(data[:6]) != string(npy.Magic[:]) {
		return nil, fmt.Errorf("%s: not a .npy file", name)
	}
	// Check the header length against the file before npyio allocates a buffer for it.
	off := 10 + int(binary.LittleEndian.Uint16(data[8:]))
	if data[6] >= 2 {
		off = 12 + int(binary.LittleEndian.Uint32(data[8:]))
	}
	if off > len(data) || off < 0 {
		return nil, fmt.Errorf("%s: header length %d is past the end of the %d-byte file", name, off, len(data))
	}
	defer func() { // npyio panics on some malformed headers
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%s: malformed .npy header", name)
		}
	}()
	r, err := npy.NewReader(bytes.NewReader(data[:off]))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	h := r.Header.Descr
	if h.Fortran {
		return nil, fmt.Errorf("%s: Fortran-order arrays are not supported", name)
	}
	n := 1
	for _, d := range h.Shape {
		if d < 0 || (d > 0 && n > len(data)/d) {
			return nil, fmt.Errorf("%s: shape %v does not fit the file's %d bytes", name, h.Shape, len(data))
		}
		n *= d
	}
	t = &tosa.Tensor{Name: name, Shape: append([]int{}, h.Shape...)}
	size := 1
	switch strings.Trim(h.Type, `'"`) {
	case "|i1", "<i1", "i1", "|u1", "<u1", "u1", "|b1":
		t.Type = tosa.Int8
	case "<i4":
		t.Type, size = tosa.Int32, 4
	default:
		return nil, fmt.Errorf("%s: dtype %s not supported (want int8, uint8 or int32)", name, h.Type)
	}
	if n*size > len(data) {
		return nil, fmt.Errorf("%s: shape %v needs %d bytes, the file has %d", name, h.Shape, n*size, len(data))
	}
	if len(data)-off != n*size {
		return nil, fmt.Errorf("%s: %d data bytes for shape %v of %s (want %d)", name, len(data)-min(off, len(data)), h.Shape, h.Type, n*size)
	}
	t.Data = append([]byte{}, data[off:]...)
	return t, nil
}
