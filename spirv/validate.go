package spirv

import (
	"fmt"
)

// MaxDim bounds tensor dimensions (TOSA: tensor sizes fit int32 indexing).
const MaxDim = 1<<31 - 1

// section numbers of the logical module layout (spirv-graph.md §1).
const (
	secCapability = iota
	secExtension
	secExtInstImport
	secMemoryModel
	secDebugSource
	secDebugName
	secDebugProcessed
	secAnnotation
	secTypes
	secGraph
)

func sectionOf(op uint16) int {
	switch op {
	case OpCapability:
		return secCapability
	case OpExtension:
		return secExtension
	case OpExtInstImport:
		return secExtInstImport
	case OpMemoryModel:
		return secMemoryModel
	case OpSource, OpSourceExtension, OpString:
		return secDebugSource
	case OpName, OpMemberName:
		return secDebugName
	case OpModuleProcessed:
		return secDebugProcessed
	case OpDecorate:
		return secAnnotation
	case OpTypeBool, OpTypeInt, OpTypeFloat, OpTypeArray, OpTypeStruct, OpTypePointer,
		OpTypeTensorARM, OpTypeGraphARM, OpConstantTrue, OpConstantFalse, OpConstant,
		OpConstantComposite, OpConstantNull, OpConstantCompositeReplicateEXT,
		OpGraphConstantARM, OpVariable:
		return secTypes
	}
	return secGraph
}

func isConstantOp(op uint16) bool {
	switch op {
	case OpConstantTrue, OpConstantFalse, OpConstant, OpConstantComposite, OpConstantNull,
		OpConstantCompositeReplicateEXT, OpGraphConstantARM:
		return true
	}
	return false
}

func isTypeOp(op uint16) bool {
	switch op {
	case OpTypeBool, OpTypeInt, OpTypeFloat, OpTypeArray, OpTypeStruct, OpTypePointer,
		OpTypeTensorARM, OpTypeGraphARM:
		return true
	}
	return false
}

type graphInfo struct {
	id, typ    uint32
	start, end int // instruction indices of OpGraphARM and OpGraphEndARM
	inputs     []uint32
	outputs    []uint32 // value per output index
}

type entryInfo struct {
	graph uint32
	name  string
	iface []uint32
}

// modInfo is the analysis of a validated module.
type modInfo struct {
	m        *Module
	def      map[uint32]int // result id → instruction index
	names    map[uint32]string
	deco     map[uint32]map[uint32]uint32 // id → decoration → first literal
	tosaSet  uint32
	graphs   []*graphInfo
	entries  []entryInfo
	gconsts  map[uint32]uint32 // GraphConstantID → result id
	graphOf  map[uint32]uint32 // graph-section value → graph id
	hasTypes map[scalarType]bool
}

func (a *modInfo) inst(id uint32) (Instruction, bool) {
	i, ok := a.def[id]
	if !ok {
		return Instruction{}, false
	}
	return a.m.Insts[i], true
}

// resultType returns the result type of the instruction defining id (0 if none).
func (a *modInfo) resultType(id uint32) uint32 {
	in, ok := a.inst(id)
	if !ok {
		return 0
	}
	l, err := LayoutOf(in)
	if err != nil || l.ResultType < 0 {
		return 0
	}
	return in.Operands[l.ResultType]
}

func (a *modInfo) scalar(id uint32) (scalarType, bool) {
	in, ok := a.inst(id)
	if !ok {
		return scalarType{}, false
	}
	switch in.Opcode {
	case OpTypeBool:
		return tBool, true
	case OpTypeInt:
		return scalarType{'i', in.Operands[1], -1}, in.Operands[2] == 0 || in.Operands[2] == 1
	case OpTypeFloat:
		enc := int32(-1)
		if len(in.Operands) == 3 {
			enc = int32(in.Operands[2])
		}
		return scalarType{'f', in.Operands[1], enc}, true
	}
	return scalarType{}, false
}

// u32Const returns the value of an OpConstant of a 32-bit integer type.
func (a *modInfo) u32Const(id uint32) (uint32, bool) {
	in, ok := a.inst(id)
	if !ok || in.Opcode != OpConstant {
		return 0, false
	}
	t, ok := a.inst(in.Operands[0])
	if !ok || t.Opcode != OpTypeInt || t.Operands[1] != 32 {
		return 0, false
	}
	return in.Operands[2], true
}

// tensorInfo decodes a shaped tensor type: element type and dims.
func (a *modInfo) tensorInfo(id uint32) (scalarType, []int, error) {
	in, ok := a.inst(id)
	if !ok || in.Opcode != OpTypeTensorARM {
		return scalarType{}, nil, fmt.Errorf("%%%d is not a tensor type", id)
	}
	el, ok := a.scalar(in.Operands[1])
	if !ok {
		return scalarType{}, nil, fmt.Errorf("tensor type %%%d: element %%%d is not a scalar type", id, in.Operands[1])
	}
	if len(in.Operands) < 4 {
		return el, nil, fmt.Errorf("tensor type %%%d is not shaped", id)
	}
	rank, ok := a.u32Const(in.Operands[2])
	if !ok || rank == 0 {
		return el, nil, fmt.Errorf("tensor type %%%d: rank is not a positive 32-bit integer constant", id)
	}
	sh, ok := a.inst(in.Operands[3])
	if !ok || sh.Opcode != OpConstantComposite || uint32(len(sh.Operands)-2) != rank {
		return el, nil, fmt.Errorf("tensor type %%%d: shape is not a constant array of %d dimensions", id, rank)
	}
	dims := make([]int, rank)
	for i := range dims {
		d, ok := a.u32Const(sh.Operands[2+i])
		if !ok || d == 0 || d > MaxDim {
			return el, nil, fmt.Errorf("tensor type %%%d: dimension %d is not a constant in 1..2^31-1", id, i)
		}
		dims[i] = int(d)
	}
	return el, dims, nil
}

// Validate checks the structure of a graph module: known instructions in the logical layout
// order, ids defined once and before use (forward references only from names, decorations
// and entry points), well-formed types and constants, graph definitions laid out as SPV_ARM_graph
// requires with types matching the graph type, entry points whose interface matches, and every
// TOSA.001000.1 instruction with the grammar's operand count, constant attributes of the right
// kind and tensor-typed inputs and results.
func Validate(m *Module) error {
	_, err := analyze(m)
	return err
}

func analyze(m *Module) (*modInfo, error) {
	a := &modInfo{m: m, def: map[uint32]int{}, names: map[uint32]string{}, deco: map[uint32]map[uint32]uint32{},
		gconsts: map[uint32]uint32{}, graphOf: map[uint32]uint32{}, hasTypes: map[scalarType]bool{}}
	if m.Bound == 0 || m.Bound > 1<<24 {
		return nil, fmt.Errorf("spirv: id bound %d out of range", m.Bound)
	}
	// Pass 1: layout, section order, result ids.
	layouts := make([]Layout, len(m.Insts))
	sec := 0
	memModels := 0
	for i, in := range m.Insts {
		l, err := LayoutOf(in)
		if err != nil {
			return nil, fmt.Errorf("spirv: instruction %d: %w", i, err)
		}
		layouts[i] = l
		s := sectionOf(in.Opcode)
		if s < sec {
			return nil, fmt.Errorf("spirv: instruction %d: %s out of the logical layout order", i, OpcodeName(in.Opcode))
		}
		sec = s
		if in.Opcode == OpMemoryModel {
			memModels++
		}
		if l.Result >= 0 {
			id := in.Operands[l.Result]
			if id == 0 || id >= m.Bound {
				return nil, fmt.Errorf("spirv: instruction %d: result id %d outside the bound %d", i, id, m.Bound)
			}
			if _, dup := a.def[id]; dup {
				return nil, fmt.Errorf("spirv: instruction %d: id %%%d defined twice", i, id)
			}
			a.def[id] = i
		}
	}
	if memModels != 1 {
		return nil, fmt.Errorf("spirv: %d OpMemoryModel instructions, want 1", memModels)
	}
	// Pass 2: uses before definitions, per-instruction checks.
	var cur *graphInfo
	phase := 0 // inside a graph: 0 inputs, 1 body, 2 outputs
	caps := map[uint32]bool{}
	exts := map[string]bool{}
	for i, in := range m.Insts {
		l := layouts[i]
		ops := in.Operands
		forwardOK := in.Opcode == OpName || in.Opcode == OpMemberName || in.Opcode == OpDecorate
		check := func(k int) error {
			id := ops[k]
			j, ok := a.def[id]
			if !ok {
				return fmt.Errorf("spirv: instruction %d (%s): id %%%d is not defined", i, OpcodeName(in.Opcode), id)
			}
			if j >= i && !forwardOK && !(in.Opcode == OpGraphEntryPointARM && k == 0) {
				return fmt.Errorf("spirv: instruction %d (%s): id %%%d used before its definition", i, OpcodeName(in.Opcode), id)
			}
			return nil
		}
		if l.ResultType >= 0 {
			if err := check(l.ResultType); err != nil {
				return nil, err
			}
			if t, _ := a.inst(ops[l.ResultType]); !isTypeOp(t.Opcode) {
				return nil, fmt.Errorf("spirv: instruction %d (%s): result type %%%d is not a type", i, OpcodeName(in.Opcode), ops[l.ResultType])
			}
		}
		for _, k := range l.Refs {
			if err := check(k); err != nil {
				return nil, err
			}
		}
		var err error
		switch in.Opcode {
		case OpCapability:
			if len(ops) != 1 {
				err = fmt.Errorf("OpCapability with %d operands", len(ops))
			} else {
				caps[ops[0]] = true
			}
		case OpExtension:
			s, _, _ := DecodeString(ops)
			exts[s] = true
		case OpExtInstImport:
			s, _, _ := DecodeString(ops[1:])
			if s != TOSAInstructionSetName {
				err = fmt.Errorf("unsupported extended instruction set %q", s)
			} else {
				if a.tosaSet != 0 {
					err = fmt.Errorf("%q imported twice", s)
				}
				a.tosaSet = ops[0]
			}
		case OpMemoryModel:
			if len(ops) != 2 {
				err = fmt.Errorf("OpMemoryModel with %d operands", len(ops))
			}
		case OpName:
			s, _, _ := DecodeString(ops[1:])
			a.names[ops[0]] = s
		case OpDecorate:
			if a.deco[ops[0]] == nil {
				a.deco[ops[0]] = map[uint32]uint32{}
			}
			if len(ops) >= 3 {
				a.deco[ops[0]][ops[1]] = ops[2]
			} else {
				a.deco[ops[0]][ops[1]] = 0
			}
		default:
			if sectionOf(in.Opcode) == secTypes {
				err = a.checkTypeOrConst(in)
			} else if sectionOf(in.Opcode) == secGraph {
				switch in.Opcode {
				case OpGraphEntryPointARM:
					if cur != nil {
						err = fmt.Errorf("OpGraphEntryPointARM inside a graph")
						break
					}
					name, n, _ := DecodeString(ops[1:])
					a.entries = append(a.entries, entryInfo{graph: ops[0], name: name, iface: ops[1+n:]})
				case OpGraphARM:
					if cur != nil {
						err = fmt.Errorf("nested OpGraphARM")
						break
					}
					t, _ := a.inst(ops[0])
					if t.Opcode != OpTypeGraphARM {
						err = fmt.Errorf("OpGraphARM type %%%d is not OpTypeGraphARM", ops[0])
						break
					}
					nIn := int(t.Operands[1])
					cur = &graphInfo{id: ops[1], typ: ops[0], start: i, inputs: make([]uint32, nIn),
						outputs: make([]uint32, len(t.Operands)-2-nIn)}
					phase = 0
				case OpGraphInputARM:
					if cur == nil || phase != 0 {
						err = fmt.Errorf("OpGraphInputARM not right after OpGraphARM")
						break
					}
					err = a.checkGraphIO(cur, in, true)
					a.graphOf[ops[1]] = cur.id
				case OpExtInst, OpCompositeExtract:
					if cur == nil || phase == 2 {
						err = fmt.Errorf("%s outside a graph body", OpcodeName(in.Opcode))
						break
					}
					phase = 1
					if in.Opcode == OpExtInst {
						err = a.checkExtInst(cur, in)
					} else {
						err = a.checkExtract(cur, in)
					}
					a.graphOf[ops[1]] = cur.id
				case OpGraphSetOutputARM:
					if cur == nil {
						err = fmt.Errorf("OpGraphSetOutputARM outside a graph")
						break
					}
					phase = 2
					err = a.checkGraphIO(cur, in, false)
				case OpGraphEndARM:
					if cur == nil {
						err = fmt.Errorf("OpGraphEndARM outside a graph")
						break
					}
					for k, v := range cur.inputs {
						if v == 0 {
							err = fmt.Errorf("graph %%%d: input %d is not declared", cur.id, k)
						}
					}
					for k, v := range cur.outputs {
						if v == 0 {
							err = fmt.Errorf("graph %%%d: output %d is not set", cur.id, k)
						}
					}
					if len(cur.outputs) == 0 {
						err = fmt.Errorf("graph %%%d has no outputs", cur.id)
					}
					cur.end = i
					a.graphs = append(a.graphs, cur)
					cur = nil
				case OpNop:
				default:
					err = fmt.Errorf("unsupported instruction")
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("spirv: instruction %d (%s): %w", i, OpcodeName(in.Opcode), err)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("spirv: graph %%%d has no OpGraphEndARM", cur.id)
	}
	if err := a.checkEntries(); err != nil {
		return nil, err
	}
	// Capabilities and extensions that the graph constructs need.
	for _, c := range []struct {
		cap uint32
		ext string
	}{{CapTensorsARM, ExtensionTensorsARM}, {CapGraphARM, ExtensionGraphARM}} {
		if !caps[c.cap] {
			return nil, fmt.Errorf("spirv: capability %d is not declared", c.cap)
		}
		if !exts[c.ext] {
			return nil, fmt.Errorf("spirv: extension %q is not declared", c.ext)
		}
	}
	for s, need := range map[scalarType]uint32{tU8: CapInt8, tU16: CapInt16, tU64: CapInt64, tF16: CapFloat16, tBF16: CapBFloat16TypeKHR, tF8E4: CapFloat8EXT, tF8E5: CapFloat8EXT} {
		if a.hasTypes[s] && !caps[need] {
			return nil, fmt.Errorf("spirv: type %s needs capability %d", s.friendly(), need)
		}
	}
	return a, nil
}

func (a *modInfo) checkTypeOrConst(in Instruction) error {
	ops := in.Operands
	typeOp := func(id uint32) uint16 { t, _ := a.inst(id); return t.Opcode }
	switch in.Opcode {
	case OpTypeInt:
		if w := ops[1]; w != 8 && w != 16 && w != 32 && w != 64 || ops[2] > 1 {
			return fmt.Errorf("bad integer type %d/%d", ops[1], ops[2])
		}
		a.hasTypes[scalarType{'i', ops[1], -1}] = true
	case OpTypeFloat:
		if w := ops[1]; w != 8 && w != 16 && w != 32 && w != 64 {
			return fmt.Errorf("bad float width %d", ops[1])
		}
		s, _ := a.scalar(ops[0])
		a.hasTypes[s] = true
	case OpTypeArray:
		if !isTypeOp(typeOp(ops[1])) {
			return fmt.Errorf("element %%%d is not a type", ops[1])
		}
		if n, ok := a.u32Const(ops[2]); !ok || n == 0 {
			return fmt.Errorf("length %%%d is not a positive 32-bit integer constant", ops[2])
		}
	case OpTypeStruct:
		for _, m := range ops[1:] {
			if !isTypeOp(typeOp(m)) {
				return fmt.Errorf("member %%%d is not a type", m)
			}
		}
	case OpTypePointer:
		if !isTypeOp(typeOp(ops[2])) {
			return fmt.Errorf("pointee %%%d is not a type", ops[2])
		}
	case OpTypeTensorARM:
		if _, ok := a.scalar(ops[1]); !ok {
			return fmt.Errorf("element %%%d is not a scalar type", ops[1])
		}
		if len(ops) >= 3 {
			if r, ok := a.u32Const(ops[2]); !ok || r == 0 {
				return fmt.Errorf("rank %%%d is not a positive 32-bit integer constant", ops[2])
			}
		}
		if len(ops) == 4 {
			if _, _, err := a.tensorInfo(ops[0]); err != nil {
				return err
			}
			arr := a.resultType(ops[3])
			at, _ := a.inst(arr)
			r, _ := a.u32Const(ops[2])
			if n, _ := a.u32Const(at.Operands[2]); at.Opcode != OpTypeArray || n != r {
				return fmt.Errorf("shape %%%d is not an array of rank length", ops[3])
			}
		}
	case OpTypeGraphARM:
		n := int(ops[1])
		if n > len(ops)-2 || len(ops)-2-n < 1 {
			return fmt.Errorf("%d inputs of %d types (at least one output needed)", n, len(ops)-2)
		}
		for _, t := range ops[2:] {
			if typeOp(t) != OpTypeTensorARM {
				return fmt.Errorf("interface type %%%d is not a tensor type", t)
			}
		}
	case OpConstantTrue, OpConstantFalse:
		if typeOp(ops[0]) != OpTypeBool {
			return fmt.Errorf("type %%%d is not bool", ops[0])
		}
	case OpConstant:
		s, ok := a.scalar(ops[0])
		if !ok || s.kind == 'b' {
			return fmt.Errorf("type %%%d is not a numerical scalar", ops[0])
		}
		if len(ops)-2 != s.words() {
			return fmt.Errorf("%d literal words for a %d-bit type", len(ops)-2, s.width)
		}
	case OpConstantNull:
		if !isTypeOp(typeOp(ops[0])) || typeOp(ops[0]) == OpTypePointer || typeOp(ops[0]) == OpTypeGraphARM {
			return fmt.Errorf("type %%%d has no null value", ops[0])
		}
	case OpConstantComposite, OpConstantCompositeReplicateEXT:
		return a.checkComposite(in)
	case OpGraphConstantARM:
		if typeOp(ops[0]) != OpTypeTensorARM {
			return fmt.Errorf("type %%%d is not a tensor type", ops[0])
		}
		if _, dup := a.gconsts[ops[2]]; dup {
			return fmt.Errorf("GraphConstantID %d used twice", ops[2])
		}
		a.gconsts[ops[2]] = ops[1]
	case OpVariable:
		p, _ := a.inst(ops[0])
		if p.Opcode != OpTypePointer || p.Operands[1] != ops[2] {
			return fmt.Errorf("type %%%d is not a pointer of storage class %d", ops[0], ops[2])
		}
		if ops[2] != StorageUniformConstant {
			return fmt.Errorf("storage class %d, graph modules use UniformConstant", ops[2])
		}
		if len(ops) == 4 {
			return fmt.Errorf("initializers are not supported")
		}
	}
	return nil
}

// checkComposite checks constituents against an array, struct or tensor type.
func (a *modInfo) checkComposite(in Instruction) error {
	ops := in.Operands
	t, _ := a.inst(ops[0])
	parts := ops[2:]
	var count int
	elem := func(k int) (uint32, error) { return 0, nil }
	switch t.Opcode {
	case OpTypeArray:
		n, _ := a.u32Const(t.Operands[2])
		count = int(n)
		elem = func(int) (uint32, error) { return t.Operands[1], nil }
	case OpTypeStruct:
		count = len(t.Operands) - 1
		elem = func(k int) (uint32, error) { return t.Operands[1+k], nil }
	case OpTypeTensorARM:
		_, dims, err := a.tensorInfo(ops[0])
		if err != nil {
			return err
		}
		if len(dims) != 1 {
			return fmt.Errorf("tensor constants of rank %d are not supported (use a graph constant)", len(dims))
		}
		count = dims[0]
		elem = func(int) (uint32, error) { return t.Operands[1], nil }
	default:
		return fmt.Errorf("type %%%d is not a composite type", ops[0])
	}
	if in.Opcode == OpConstantCompositeReplicateEXT {
		want, _ := elem(0)
		if got := a.resultType(parts[0]); got != want {
			return fmt.Errorf("replicated value %%%d has type %%%d, want %%%d", parts[0], got, want)
		}
		return nil
	}
	if len(parts) != count {
		return fmt.Errorf("%d constituents, type needs %d", len(parts), count)
	}
	for k, p := range parts {
		c, _ := a.inst(p)
		if !isConstantOp(c.Opcode) || c.Opcode == OpGraphConstantARM {
			return fmt.Errorf("constituent %%%d is not a constant", p)
		}
		want, _ := elem(k)
		if got := a.resultType(p); got != want {
			return fmt.Errorf("constituent %d has type %%%d, want %%%d", k, got, want)
		}
	}
	return nil
}

func (a *modInfo) checkGraphIO(g *graphInfo, in Instruction, input bool) error {
	ops := in.Operands
	gt, _ := a.inst(g.typ)
	nIn := int(gt.Operands[1])
	idxOp := ops[1]
	if input {
		idxOp = ops[2]
	}
	if len(ops) > map[bool]int{true: 3, false: 2}[input] {
		return fmt.Errorf("element indices (arrays of tensors) are not supported")
	}
	k, ok := a.u32Const(idxOp)
	if !ok {
		return fmt.Errorf("index %%%d is not a 32-bit integer constant", idxOp)
	}
	if input {
		if int(k) >= len(g.inputs) {
			return fmt.Errorf("input index %d out of range (%d inputs)", k, len(g.inputs))
		}
		if g.inputs[k] != 0 {
			return fmt.Errorf("input index %d declared twice", k)
		}
		if ops[0] != gt.Operands[2+k] {
			return fmt.Errorf("input %d type %%%d differs from the graph type's %%%d", k, ops[0], gt.Operands[2+k])
		}
		g.inputs[k] = ops[1]
		return nil
	}
	if int(k) >= len(g.outputs) {
		return fmt.Errorf("output index %d out of range (%d outputs)", k, len(g.outputs))
	}
	if g.outputs[k] != 0 {
		return fmt.Errorf("output index %d set twice", k)
	}
	if a.graphOf[ops[0]] != g.id {
		return fmt.Errorf("output value %%%d is not a value of this graph", ops[0])
	}
	if t := a.resultType(ops[0]); t != gt.Operands[2+nIn+int(k)] {
		return fmt.Errorf("output %d type %%%d differs from the graph type's %%%d", k, t, gt.Operands[2+nIn+int(k)])
	}
	g.outputs[k] = ops[0]
	return nil
}

// isTensorConst reports whether id is a constant instruction of tensor type.
func (a *modInfo) isTensorConst(id uint32) bool {
	c, ok := a.inst(id)
	if !ok || !isConstantOp(c.Opcode) {
		return false
	}
	t, _ := a.inst(c.Operands[0])
	return t.Opcode == OpTypeTensorARM
}

func (a *modInfo) checkExtInst(g *graphInfo, in Instruction) error {
	ops := in.Operands
	if ops[2] != a.tosaSet || a.tosaSet == 0 {
		return fmt.Errorf("set %%%d is not the %q import", ops[2], TOSAInstructionSetName)
	}
	if int(ops[3]) >= len(opSpecs) {
		return fmt.Errorf("invalid TOSA instruction number %d", ops[3])
	}
	spec := &opSpecs[ops[3]]
	args := ops[4:]
	nIn := len(args) - len(spec.attrs)
	if spec.nIn >= 0 && nIn != spec.nIn || spec.nIn < 0 && nIn < 1 {
		return fmt.Errorf("%s: %d operands, want %d", spec.op, len(args), len(spec.attrs)+spec.nIn)
	}
	inputs := args[len(spec.attrs):]
	for j, v := range inputs {
		if a.graphOf[v] != g.id && !a.isTensorConst(v) {
			return fmt.Errorf("%s: input %d (%%%d) is neither a value of this graph nor a tensor constant", spec.op, j, v)
		}
		if t, _ := a.inst(a.resultType(v)); t.Opcode != OpTypeTensorARM {
			return fmt.Errorf("%s: input %d (%%%d) is not a tensor", spec.op, j, v)
		}
		if j < 32 && spec.constIn&(1<<j) != 0 && !a.isTensorConst(v) {
			return fmt.Errorf("%s: input %d (%%%d) must be a constant", spec.op, j, v)
		}
	}
	for k, at := range spec.attrs {
		v := args[k]
		c, ok := a.inst(v)
		if !ok || !isConstantOp(c.Opcode) || c.Opcode == OpGraphConstantARM {
			return fmt.Errorf("%s: attribute %s (%%%d) is not a constant", spec.op, at.name, v)
		}
		ty := c.Operands[0]
		switch at.kind {
		case attrU32:
			if _, ok := a.u32Const(v); !ok {
				return fmt.Errorf("%s: attribute %s (%%%d) is not a 32-bit integer OpConstant", spec.op, at.name, v)
			}
		case attrBool:
			if s, _ := a.scalar(ty); s != tBool {
				return fmt.Errorf("%s: attribute %s (%%%d) is not a bool constant", spec.op, at.name, v)
			}
		case attrList:
			el, dims, err := a.tensorInfo(ty)
			if err != nil || len(dims) != 1 || el.kind != 'i' || el.width != 32 {
				return fmt.Errorf("%s: attribute %s (%%%d) is not a rank-1 32-bit integer tensor constant", spec.op, at.name, v)
			}
		case attrElem:
			el, _, err := a.tensorInfo(a.resultType(inputs[0]))
			if s, ok := a.scalar(ty); err != nil || !ok || s != el {
				return fmt.Errorf("%s: attribute %s (%%%d) is not a scalar of the input element type", spec.op, at.name, v)
			}
		}
	}
	rt, _ := a.inst(ops[0])
	if spec.nOut == 1 {
		if rt.Opcode != OpTypeTensorARM {
			return fmt.Errorf("%s: result type %%%d is not a tensor type", spec.op, ops[0])
		}
		return nil
	}
	if rt.Opcode != OpTypeStruct || len(rt.Operands)-1 != spec.nOut {
		return fmt.Errorf("%s: result type %%%d is not a struct of %d tensors", spec.op, ops[0], spec.nOut)
	}
	for _, m := range rt.Operands[1:] {
		if t, _ := a.inst(m); t.Opcode != OpTypeTensorARM {
			return fmt.Errorf("%s: result member %%%d is not a tensor type", spec.op, m)
		}
	}
	return nil
}

func (a *modInfo) checkExtract(g *graphInfo, in Instruction) error {
	ops := in.Operands
	if len(ops) != 4 {
		return fmt.Errorf("only single-index extraction is supported")
	}
	if a.graphOf[ops[2]] != g.id {
		return fmt.Errorf("composite %%%d is not a value of this graph", ops[2])
	}
	st, _ := a.inst(a.resultType(ops[2]))
	if st.Opcode != OpTypeStruct || int(ops[3]) >= len(st.Operands)-1 {
		return fmt.Errorf("index %d out of range of %%%d", ops[3], ops[2])
	}
	if st.Operands[1+ops[3]] != ops[0] {
		return fmt.Errorf("result type %%%d differs from member type %%%d", ops[0], st.Operands[1+ops[3]])
	}
	return nil
}

func (a *modInfo) checkEntries() error {
	if len(a.entries) == 0 {
		return fmt.Errorf("spirv: no OpGraphEntryPointARM")
	}
	seen := map[string]bool{}
	for _, e := range a.entries {
		if seen[e.name] {
			return fmt.Errorf("spirv: entry point %q declared twice", e.name)
		}
		seen[e.name] = true
		g := a.graph(e.graph)
		if g == nil {
			return fmt.Errorf("spirv: entry point %q: %%%d is not a graph", e.name, e.graph)
		}
		gt, _ := a.inst(g.typ)
		io := gt.Operands[2:]
		if len(e.iface) != len(io) {
			return fmt.Errorf("spirv: entry point %q: %d interface variables, the graph type has %d inputs and outputs", e.name, len(e.iface), len(io))
		}
		for k, v := range e.iface {
			vi, ok := a.inst(v)
			if !ok || vi.Opcode != OpVariable {
				return fmt.Errorf("spirv: entry point %q: interface %%%d is not a variable", e.name, v)
			}
			p, _ := a.inst(vi.Operands[0])
			if p.Operands[2] != io[k] {
				return fmt.Errorf("spirv: entry point %q: interface %d points to %%%d, the graph type has %%%d", e.name, k, p.Operands[2], io[k])
			}
			d := a.deco[v]
			if _, ok := d[DecorationDescriptorSet]; !ok {
				return fmt.Errorf("spirv: entry point %q: interface %%%d has no DescriptorSet decoration", e.name, v)
			}
			if _, ok := d[DecorationBinding]; !ok {
				return fmt.Errorf("spirv: entry point %q: interface %%%d has no Binding decoration", e.name, v)
			}
		}
	}
	return nil
}

func (a *modInfo) graph(id uint32) *graphInfo {
	for _, g := range a.graphs {
		if g.id == id {
			return g
		}
	}
	return nil
}
