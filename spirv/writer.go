package spirv

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vgfq/vgfq/tosa"
)

// DefaultInlineMaxElements is the largest rank-1 constant written inline (as
// OpConstantComposite / OpConstantNull); larger constants and every constant of rank != 1
// become graph constants (tosa-for-spirv-codegen's policy).
const DefaultInlineMaxElements = 16

// Options control Write.
type Options struct {
	// DebugNames emits OpName for the interface variables (the graph input/output tensor
	// names), the constants and the results of operators whose output is not a graph output
	// (like the model-converter's --emit-debug-info).
	DebugNames bool
	// EntryPoint is the OpGraphEntryPointARM name; "" means "main".
	EntryPoint string
	// Generator is the header's generator word (0: unregistered tool).
	Generator uint32
	// FirstBinding is the binding of the first graph input; inputs then outputs follow densely
	// (descriptor set 0). model-converter numbers bindings across a whole VGF sequence.
	FirstBinding uint32
	// FirstConstantID is the GraphConstantID of the first graph constant; the others follow
	// densely in emission order. In a VGF, GraphConstantID == VGF constant index.
	FirstConstantID uint32
	// InlineMaxElements: rank-1 constants with at most this many elements are written inline
	// (0 means DefaultInlineMaxElements, negative means never).
	InlineMaxElements int
	// GraphConstant, if set, decides for each rank-1 constant tensor whether it becomes a graph
	// constant, overriding InlineMaxElements. Constants of other ranks and constants without
	// data are always graph constants.
	GraphConstant func(t *tosa.Tensor) bool
}

// Constant is one graph constant (OpGraphConstantARM): its data is not in the module, it goes to
// the VGF constants section (index ID) or to VkDataGraphPipelineConstantARM.
type Constant struct {
	ID    uint32 // GraphConstantID
	Name  string // tensor name
	Type  tosa.DType
	Shape []int
	// Data is packed row-major in the SPIR-V element format (INT48 as 8-byte integers, shape_t
	// as 4-byte integers, bool as bytes); nil if the tensor had no data.
	Data []byte
}

// Binding is one graph input or output: an interface variable in a descriptor set.
type Binding struct {
	Name          string // tensor name
	DescriptorSet uint32
	Binding       uint32
	Type          tosa.DType
	Shape         []int
}

// Result is a written module.
type Result struct {
	Module    *Module
	Inputs    []Binding
	Outputs   []Binding
	Constants []Constant // in GraphConstantID order
}

// Bytes returns the module's binary.
func (r *Result) Bytes() ([]byte, error) { return r.Module.Bytes() }

// pconst is a pooled scalar OpConstant: type and 64-bit literal.
type pconst struct {
	t scalarType
	v uint64
}

type shapeEnt struct {
	id   uint32
	dims []int
}

type tensorTypeEnt struct {
	id   uint32
	elem scalarType
	dims []int
	name string
}

type nameEnt struct {
	id   uint32
	name string
}

type writer struct {
	g    *tosa.Graph
	opt  Options
	tm   map[string]*tosa.Tensor
	prod map[string]*tosa.Operator
	next uint32

	scalars  map[scalarType]uint32
	pooled   map[pconst]uint32
	bools    map[bool]uint32
	arrays   map[uint32]uint32
	shapes   map[string]*shapeEnt
	ttypes   map[string]*tensorTypeEnt
	structs  []Instruction
	structBy map[string]uint32
	ptrs     []Instruction
	ptrBy    map[uint32]uint32
	vars     []Instruction
	varNames []nameEnt

	opConsts   []Instruction
	graphIn    []Instruction
	body       []Instruction
	graphOut   []Instruction
	values     map[string]uint32
	constNames []nameEnt
	opNames    []nameEnt
	constants  []Constant
	nextConst  uint32
	res        *Result
}

func (w *writer) id() uint32 {
	w.next++
	return w.next
}

func (w *writer) scalar(s scalarType) uint32 {
	if id, ok := w.scalars[s]; ok {
		return id
	}
	id := w.id()
	w.scalars[s] = id
	return id
}

// pool returns the interned OpConstant of type s with literal v.
func (w *writer) pool(s scalarType, v uint64) uint32 {
	if s == tBool {
		return w.boolConst(v != 0)
	}
	k := pconst{s, v}
	if id, ok := w.pooled[k]; ok {
		return id
	}
	w.scalar(s)
	id := w.id()
	w.pooled[k] = id
	return id
}

func (w *writer) u32(v uint32) uint32 { return w.pool(tU32, uint64(v)) }

func (w *writer) boolConst(v bool) uint32 {
	if id, ok := w.bools[v]; ok {
		return id
	}
	w.scalar(tBool)
	id := w.id()
	w.bools[v] = id
	return id
}

// literal returns the operand words of a constant of type s.
func literalWords(s scalarType, v uint64) []uint32 {
	if s.words() == 2 {
		return []uint32{uint32(v), uint32(v >> 32)}
	}
	return []uint32{uint32(v)}
}

func dimsName(dims []int) string {
	var sb strings.Builder
	for i, d := range dims {
		if i > 0 {
			sb.WriteByte('x')
		}
		sb.WriteString(strconv.Itoa(d))
	}
	return sb.String()
}

func (w *writer) shape(dims []int) (uint32, error) {
	if len(dims) == 0 {
		return 0, fmt.Errorf("rank-0 tensors have no SPIR-V tensor type")
	}
	for _, d := range dims {
		if d <= 0 || d > 1<<31-1 {
			return 0, fmt.Errorf("dimension %d of shape %v is not in 1..2^31-1", d, dims)
		}
	}
	key := dimsName(dims)
	if e, ok := w.shapes[key]; ok {
		return e.id, nil
	}
	rank := uint32(len(dims))
	if _, ok := w.arrays[rank]; !ok {
		w.u32(rank)
		w.arrays[rank] = w.id()
	}
	for _, d := range dims {
		w.u32(uint32(d))
	}
	e := &shapeEnt{id: w.id(), dims: append([]int(nil), dims...)}
	w.shapes[key] = e
	return e.id, nil
}

func (w *writer) tensorType(elem scalarType, dims []int) (uint32, error) {
	name := "t_" + elem.short() + "_" + dimsName(dims)
	if e, ok := w.ttypes[name]; ok {
		return e.id, nil
	}
	if _, err := w.shape(dims); err != nil {
		return 0, err
	}
	w.scalar(elem)
	e := &tensorTypeEnt{id: w.id(), elem: elem, dims: append([]int(nil), dims...), name: name}
	w.ttypes[name] = e
	return e.id, nil
}

func (w *writer) typeOf(t *tosa.Tensor) (uint32, error) {
	s, err := scalarOf(t.Type)
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	id, err := w.tensorType(s, t.Shape)
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return id, nil
}

func (w *writer) structType(members []uint32) uint32 {
	key := fmt.Sprint(members)
	if id, ok := w.structBy[key]; ok {
		return id
	}
	id := w.id()
	w.structBy[key] = id
	w.structs = append(w.structs, Instruction{OpTypeStruct, append([]uint32{id}, members...)})
	return id
}

// variable declares a UniformConstant interface variable of tensor type tt.
func (w *writer) variable(tt uint32) uint32 {
	p, ok := w.ptrBy[tt]
	if !ok {
		p = w.id()
		w.ptrBy[tt] = p
		w.ptrs = append(w.ptrs, Instruction{OpTypePointer, []uint32{p, StorageUniformConstant, tt}})
	}
	v := w.id()
	w.vars = append(w.vars, Instruction{OpVariable, []uint32{p, v, StorageUniformConstant}})
	return v
}

// isConst reports whether the tensor is a constant: produced by CONST / CONST_SHAPE, or
// carrying data without being produced by an operator or being a graph input.
func (w *writer) isConst(name string) bool {
	if p := w.prod[name]; p != nil {
		return p.Op == tosa.OpConst || p.Op == tosa.OpConstShape
	}
	t := w.tm[name]
	return t != nil && t.Data != nil && w.values[name] == 0
}

func (w *writer) inlineMax() int {
	switch {
	case w.opt.InlineMaxElements == 0:
		return DefaultInlineMaxElements
	case w.opt.InlineMaxElements < 0:
		return -1
	}
	return w.opt.InlineMaxElements
}

// constTensor emits (once) the constant tensor name: inline or as a graph constant.
func (w *writer) constTensor(name string) (uint32, error) {
	if id, ok := w.values[name]; ok {
		return id, nil
	}
	t := w.tm[name]
	if t == nil {
		return 0, fmt.Errorf("unknown tensor %q", name)
	}
	tt, err := w.typeOf(t)
	if err != nil {
		return 0, err
	}
	n := t.NumElements()
	graphConst := len(t.Shape) != 1 || t.Data == nil
	if !graphConst {
		if w.opt.GraphConstant != nil {
			graphConst = w.opt.GraphConstant(t)
		} else {
			graphConst = n > w.inlineMax()
		}
	}
	id := w.id()
	if graphConst {
		c := Constant{ID: w.nextConst, Name: t.Name, Type: t.Type, Shape: append([]int(nil), t.Shape...)}
		if t.Data != nil {
			if c.Data, err = toVulkanData(t.Type, t.Data, n); err != nil {
				return 0, fmt.Errorf("constant %q: %w", name, err)
			}
		}
		w.constants = append(w.constants, c)
		w.opConsts = append(w.opConsts, Instruction{OpGraphConstantARM, []uint32{tt, id, w.nextConst}})
		w.nextConst++
	} else {
		eb := elemBytes(t.Type)
		if len(t.Data) < eb*n {
			return 0, fmt.Errorf("constant %q: %d data bytes, shape %v of %v needs %d", name, len(t.Data), t.Shape, t.Type, eb*n)
		}
		s, _ := scalarOf(t.Type)
		lits := make([]uint64, n)
		zero := true
		for i := range lits {
			if lits[i], err = literalOf(t.Type, t.Data[eb*i:]); err != nil {
				return 0, fmt.Errorf("constant %q element %d: %w", name, i, err)
			}
			zero = zero && lits[i] == 0
		}
		if zero {
			w.opConsts = append(w.opConsts, Instruction{OpConstantNull, []uint32{tt, id}})
		} else {
			ops := []uint32{tt, id}
			for _, v := range lits {
				ops = append(ops, w.pool(s, v))
			}
			w.opConsts = append(w.opConsts, Instruction{OpConstantComposite, ops})
		}
	}
	w.values[name] = id
	w.constNames = append(w.constNames, nameEnt{id, name})
	return id, nil
}

// attr emits one attribute operand of op and returns its id.
func (w *writer) attr(a *attrSpec, op *tosa.Operator) (uint32, error) {
	switch a.kind {
	case attrBool:
		return w.boolConst(*a.b(&op.Attr)), nil
	case attrU32:
		v, err := a.getU(&op.Attr)
		if err != nil {
			return 0, err
		}
		w.scalar(tU32)
		id := w.id()
		w.opConsts = append(w.opConsts, Instruction{OpConstant, []uint32{w.scalars[tU32], id, v}})
		return id, nil
	case attrList:
		vals := *a.list(&op.Attr)
		if len(vals) == 0 {
			return 0, fmt.Errorf("attribute %s is empty", a.name)
		}
		tt, err := w.tensorType(tU32, []int{len(vals)})
		if err != nil {
			return 0, err
		}
		id := w.id()
		zero := true
		ops := []uint32{tt, id}
		for _, v := range vals {
			if v < -1<<31 || v > 1<<31-1 {
				return 0, fmt.Errorf("attribute %s value %d does not fit int32", a.name, v)
			}
			zero = zero && v == 0
			ops = append(ops, w.u32(uint32(int32(v))))
		}
		if zero {
			ops = ops[:2]
			w.opConsts = append(w.opConsts, Instruction{OpConstantNull, ops})
		} else {
			w.opConsts = append(w.opConsts, Instruction{OpConstantComposite, ops})
		}
		return id, nil
	case attrElem:
		if len(op.Inputs) == 0 || w.tm[op.Inputs[0]] == nil {
			return 0, fmt.Errorf("attribute %s: no input tensor to take the element type from", a.name)
		}
		et := w.tm[op.Inputs[0]].Type
		s, err := scalarOf(et)
		if err != nil {
			return 0, err
		}
		b := *a.elem(&op.Attr)
		// A decoded .tosa holds the scalar image zero-padded to a multiple of 8 bytes (the
		// flatbuffer's force_align 8 [ubyte]): take the scalar's own bytes.
		if eb := elemBytes(et); len(b) > eb && len(b)%8 == 0 && len(b)-eb < 8 && allZero(b[eb:]) {
			b = b[:eb]
		}
		if eb := elemBytes(et); len(b) != eb {
			return 0, fmt.Errorf("attribute %s has %d bytes, an %v scalar has %d", a.name, len(b), et, eb)
		}
		v, err := literalOf(et, b)
		if err != nil {
			return 0, fmt.Errorf("attribute %s: %w", a.name, err)
		}
		if s == tBool {
			return w.boolConst(v != 0), nil
		}
		ty := w.scalar(s)
		id := w.id()
		w.opConsts = append(w.opConsts, Instruction{OpConstant, append([]uint32{ty, id}, literalWords(s, v)...)})
		return id, nil
	}
	return 0, fmt.Errorf("attribute %s: unknown kind", a.name)
}

// Write emits g as a SPIR-V 1.6 graph module (spirv-graph.md). Constants with data go inline or
// become graph constants (returned in Result.Constants); CONST / CONST_SHAPE operators produce
// no instruction and IDENTITY is an alias of its input. Ids are numbered in order of first
// appearance, so the output is a deterministic function of the graph and the options.
func Write(g *tosa.Graph, opt Options) (*Result, error) {
	w := &writer{g: g, opt: opt, tm: map[string]*tosa.Tensor{}, prod: map[string]*tosa.Operator{},
		scalars: map[scalarType]uint32{}, pooled: map[pconst]uint32{}, bools: map[bool]uint32{},
		arrays: map[uint32]uint32{}, shapes: map[string]*shapeEnt{}, ttypes: map[string]*tensorTypeEnt{},
		structBy: map[string]uint32{}, ptrBy: map[uint32]uint32{}, values: map[string]uint32{},
		nextConst: opt.FirstConstantID, res: &Result{}}
	if err := w.write(); err != nil {
		return nil, fmt.Errorf("spirv: %w", err)
	}
	return w.res, nil
}

func (w *writer) write() error {
	g := w.g
	for _, t := range g.Tensors {
		if t == nil {
			return fmt.Errorf("nil tensor")
		}
		if w.tm[t.Name] != nil {
			return fmt.Errorf("duplicate tensor %q", t.Name)
		}
		w.tm[t.Name] = t
	}
	for _, op := range g.Ops {
		if op == nil {
			return fmt.Errorf("nil operator")
		}
		for _, o := range op.Outputs {
			if w.prod[o] != nil {
				return fmt.Errorf("tensor %q is produced twice", o)
			}
			w.prod[o] = op
		}
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("graph has no outputs")
	}
	w.scalar(tU32)

	// Interface: inputs then outputs.
	var ioTypes []uint32
	binding := w.opt.FirstBinding
	for k, name := range g.Inputs {
		t := w.tm[name]
		if t == nil {
			return fmt.Errorf("unknown graph input %q", name)
		}
		if w.prod[name] != nil {
			return fmt.Errorf("graph input %q is produced by an operator", name)
		}
		tt, err := w.typeOf(t)
		if err != nil {
			return err
		}
		ioTypes = append(ioTypes, tt)
		v := w.variable(tt)
		w.varNames = append(w.varNames, nameEnt{v, name})
		w.res.Inputs = append(w.res.Inputs, Binding{Name: name, Binding: binding, Type: t.Type, Shape: append([]int(nil), t.Shape...)})
		binding++
		if _, dup := w.values[name]; dup {
			return fmt.Errorf("graph input %q listed twice", name)
		}
		id := w.id()
		w.values[name] = id
		w.graphIn = append(w.graphIn, Instruction{OpGraphInputARM, []uint32{tt, id, w.u32(uint32(k))}})
	}
	for _, name := range g.Outputs {
		t := w.tm[name]
		if t == nil {
			return fmt.Errorf("unknown graph output %q", name)
		}
		tt, err := w.typeOf(t)
		if err != nil {
			return err
		}
		ioTypes = append(ioTypes, tt)
		v := w.variable(tt)
		w.varNames = append(w.varNames, nameEnt{v, name})
		w.res.Outputs = append(w.res.Outputs, Binding{Name: name, Binding: binding, Type: t.Type, Shape: append([]int(nil), t.Shape...)})
		binding++
	}

	for i, op := range g.Ops {
		if err := w.operator(op); err != nil {
			return fmt.Errorf("op %d %v: %w", i, op.Op, err)
		}
	}
	for k, name := range g.Outputs {
		v, ok := w.values[name]
		if !ok {
			return fmt.Errorf("graph output %q is not produced", name)
		}
		if w.isConst(name) {
			return fmt.Errorf("graph output %q is a constant", name)
		}
		w.graphOut = append(w.graphOut, Instruction{OpGraphSetOutputARM, []uint32{v, w.u32(uint32(k))}})
	}
	w.res.Constants = w.constants
	return w.assemble(ioTypes)
}

func (w *writer) operator(op *tosa.Operator) error {
	switch op.Op {
	case tosa.OpConst, tosa.OpConstShape:
		if len(op.Outputs) != 1 || len(op.Inputs) != 0 {
			return fmt.Errorf("want no inputs and 1 output")
		}
		if w.tm[op.Outputs[0]] == nil {
			return fmt.Errorf("unknown output tensor %q", op.Outputs[0])
		}
		return nil // emitted at first use
	case tosa.OpIdentity:
		if len(op.Outputs) != 1 || len(op.Inputs) != 1 {
			return fmt.Errorf("want 1 input and 1 output")
		}
		v, err := w.input(op.Inputs[0])
		if err != nil {
			return err
		}
		w.values[op.Outputs[0]] = v
		return nil
	}
	spec, ok := specOf(op.Op)
	if !ok {
		return fmt.Errorf("operator has no TOSA.001000.1 instruction")
	}
	if spec.nIn >= 0 && len(op.Inputs) != spec.nIn || spec.nIn < 0 && len(op.Inputs) == 0 {
		return fmt.Errorf("%d inputs, want %d", len(op.Inputs), spec.nIn)
	}
	if len(op.Outputs) != spec.nOut {
		return fmt.Errorf("%d outputs, want %d", len(op.Outputs), spec.nOut)
	}
	// 1. constant data inputs (weights, bias, table, ...), 2. attributes in grammar order,
	// 3. former attributes that are inputs in TOSA 1.0 (zero points, shift, padding, ...).
	for j, in := range op.Inputs {
		if j < 32 && spec.constIn&(1<<j) != 0 {
			continue
		}
		if w.isConst(in) {
			if _, err := w.constTensor(in); err != nil {
				return err
			}
		}
	}
	operands := make([]uint32, 0, spec.operandCount(len(op.Inputs)))
	for k := range spec.attrs {
		id, err := w.attr(&spec.attrs[k], op)
		if err != nil {
			return err
		}
		operands = append(operands, id)
	}
	for j, in := range op.Inputs {
		if j < 32 && spec.constIn&(1<<j) != 0 {
			if !w.isConst(in) {
				return fmt.Errorf("input %d (%q) must be a constant", j, in)
			}
			if _, err := w.constTensor(in); err != nil {
				return err
			}
		}
	}
	for _, in := range op.Inputs {
		v, err := w.input(in)
		if err != nil {
			return err
		}
		operands = append(operands, v)
	}
	if len(operands)+5 > 0xffff {
		return fmt.Errorf("%d operands do not fit one instruction", len(operands))
	}
	var outTypes []uint32
	for _, o := range op.Outputs {
		t := w.tm[o]
		if t == nil {
			return fmt.Errorf("unknown output tensor %q", o)
		}
		if _, dup := w.values[o]; dup {
			return fmt.Errorf("output %q is already defined", o)
		}
		tt, err := w.typeOf(t)
		if err != nil {
			return err
		}
		outTypes = append(outTypes, tt)
	}
	set := uint32(1) // placeholder id of the ext-inst import, fixed in assemble
	resType := outTypes[0]
	if len(outTypes) > 1 {
		resType = w.structType(outTypes)
	}
	res := w.id()
	w.body = append(w.body, Instruction{OpExtInst, append([]uint32{resType, res, set, spec.ext}, operands...)})
	if len(outTypes) == 1 {
		w.values[op.Outputs[0]] = res
	} else {
		for k, o := range op.Outputs {
			id := w.id()
			w.body = append(w.body, Instruction{OpCompositeExtract, []uint32{outTypes[k], id, res, uint32(k)}})
			w.values[o] = id
		}
	}
	for _, o := range op.Outputs {
		w.opNames = append(w.opNames, nameEnt{w.values[o], o})
	}
	return nil
}

// input returns the value id of an operator input.
func (w *writer) input(name string) (uint32, error) {
	if v, ok := w.values[name]; ok {
		return v, nil
	}
	if w.isConst(name) {
		return w.constTensor(name)
	}
	if w.tm[name] == nil {
		return 0, fmt.Errorf("unknown input tensor %q", name)
	}
	return 0, fmt.Errorf("input %q is not produced before use", name)
}

// assemble lays the module out in the order of spirv-graph.md §1 with deterministic order
// inside the types/constants section, then renumbers ids by first appearance.
func (w *writer) assemble(ioTypes []uint32) error {
	set := w.id()
	graphType := w.id()
	graph := w.id()
	b := NewBuilder()
	// capabilities / extensions
	has := func(s scalarType) bool { _, ok := w.scalars[s]; return ok }
	caps := []uint32{CapShader}
	var exts []string
	if has(tF16) {
		caps = append(caps, CapFloat16)
	}
	if has(tBF16) {
		caps = append(caps, CapBFloat16TypeKHR)
		exts = append(exts, ExtensionBFloat16KHR)
	}
	if has(tF8E4) || has(tF8E5) {
		caps = append(caps, CapFloat8EXT)
		exts = append(exts, ExtensionFloat8EXT)
	}
	if has(tU64) {
		caps = append(caps, CapInt64)
	}
	if has(tU16) {
		caps = append(caps, CapInt16)
	}
	if has(tU8) {
		caps = append(caps, CapInt8)
	}
	caps = append(caps, CapVulkanMemoryModel, CapTensorsARM, CapGraphARM)
	for _, c := range caps {
		b.Emit(OpCapability, c)
	}
	for _, e := range append([]string{ExtensionTensorsARM, ExtensionGraphARM}, exts...) {
		b.EmitString(OpExtension, nil, e)
	}
	b.EmitString(OpExtInstImport, []uint32{set}, TOSAInstructionSetName)
	b.Emit(OpMemoryModel, AddressingLogical, MemoryModelVulkan)
	if w.opt.DebugNames {
		// Results that are graph outputs are named through their interface variable only.
		outVals := map[uint32]bool{}
		for _, in := range w.graphOut {
			outVals[in.Operands[0]] = true
		}
		names := append(append([]nameEnt(nil), w.varNames...), w.constNames...)
		for _, n := range w.opNames {
			if !outVals[n.id] {
				names = append(names, n)
			}
		}
		for _, n := range names {
			b.EmitString(OpName, []uint32{n.id}, n.name)
		}
	}
	binding := w.opt.FirstBinding
	for _, v := range w.vars {
		b.Emit(OpDecorate, v.Operands[1], DecorationDescriptorSet, 0)
		b.Emit(OpDecorate, v.Operands[1], DecorationBinding, binding)
		binding++
	}
	// scalar types: uint first, then by name
	sts := make([]scalarType, 0, len(w.scalars))
	for s := range w.scalars {
		sts = append(sts, s)
	}
	rank := func(s scalarType) string {
		if s == tU32 {
			return ""
		}
		return s.friendly()
	}
	sort.Slice(sts, func(i, j int) bool { return rank(sts[i]) < rank(sts[j]) })
	order := map[scalarType]int{}
	for i, s := range sts {
		order[s] = i
		in := s.decl(w.scalars[s])
		b.Emit(in.Opcode, in.Operands...)
	}
	// pooled scalar constants by type, then value
	pcs := make([]pconst, 0, len(w.pooled))
	for k := range w.pooled {
		pcs = append(pcs, k)
	}
	sort.Slice(pcs, func(i, j int) bool {
		if pcs[i].t != pcs[j].t {
			return order[pcs[i].t] < order[pcs[j].t]
		}
		return pcs[i].v < pcs[j].v
	})
	for _, k := range pcs {
		b.Emit(OpConstant, append([]uint32{w.scalars[k.t], w.pooled[k]}, literalWords(k.t, k.v)...)...)
	}
	// array types by length
	ranks := make([]uint32, 0, len(w.arrays))
	for r := range w.arrays {
		ranks = append(ranks, r)
	}
	sort.Slice(ranks, func(i, j int) bool { return ranks[i] < ranks[j] })
	for _, r := range ranks {
		b.Emit(OpTypeArray, w.arrays[r], w.scalars[tU32], w.u32(r))
	}
	// shape constants and tensor types by name
	snames := make([]string, 0, len(w.shapes))
	for k := range w.shapes {
		snames = append(snames, k)
	}
	sort.Strings(snames)
	for _, k := range snames {
		e := w.shapes[k]
		ops := []uint32{w.arrays[uint32(len(e.dims))], e.id}
		for _, d := range e.dims {
			ops = append(ops, w.u32(uint32(d)))
		}
		b.Emit(OpConstantComposite, ops...)
	}
	tnames := make([]string, 0, len(w.ttypes))
	for k := range w.ttypes {
		tnames = append(tnames, k)
	}
	sort.Strings(tnames)
	for _, k := range tnames {
		e := w.ttypes[k]
		b.Emit(OpTypeTensorARM, e.id, w.scalars[e.elem], w.u32(uint32(len(e.dims))), w.shapes[dimsName(e.dims)].id)
	}
	for _, l := range [][]Instruction{w.structs, w.ptrs, w.vars} {
		for _, in := range l {
			b.Emit(in.Opcode, in.Operands...)
		}
	}
	for _, v := range []bool{false, true} {
		if id, ok := w.bools[v]; ok {
			op := uint16(OpConstantFalse)
			if v {
				op = OpConstantTrue
			}
			b.Emit(op, w.scalars[tBool], id)
		}
	}
	for _, in := range w.opConsts {
		b.Emit(in.Opcode, in.Operands...)
	}
	b.Emit(OpTypeGraphARM, append([]uint32{graphType, uint32(len(w.g.Inputs))}, ioTypes...)...)
	vars := make([]uint32, len(w.vars))
	for i, v := range w.vars {
		vars[i] = v.Operands[1]
	}
	ep := w.opt.EntryPoint
	if ep == "" {
		ep = DefaultEntryPointName
	}
	b.EmitString(OpGraphEntryPointARM, []uint32{graph}, ep, vars...)
	b.Emit(OpGraphARM, graphType, graph)
	for _, l := range [][]Instruction{w.graphIn, w.body, w.graphOut} {
		for _, in := range l {
			if in.Opcode == OpExtInst {
				in.Operands[2] = set
			}
			b.Emit(in.Opcode, in.Operands...)
		}
	}
	b.Emit(OpGraphEndARM)
	b.next = w.next + 1
	m := b.Module(Version16, w.opt.Generator)
	if err := Renumber(m); err != nil {
		return err
	}
	w.res.Module = m
	return nil
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
