package spirv

import (
	"fmt"
	"sort"

	"github.com/vgfq/vgfq/tosa"
)

// MaxInlineConstantBytes bounds the decoded size of one inline constant (OpConstantNull and
// replicated constants are tiny in the module but expand to their tensor's size).
const MaxInlineConstantBytes = 1 << 20

// ReadOptions control Read.
type ReadOptions struct {
	// EntryPoint selects the graph by its OpGraphEntryPointARM name; "" means the first one.
	EntryPoint string
	// Constants holds the data of graph constants by GraphConstantID (in a VGF: the constant
	// section, index = GraphConstantID), packed in the SPIR-V element format (Constant.Data).
	// If nil, graph-constant tensors get nil Data; otherwise every graph constant the graph uses
	// must be present with the right size.
	Constants [][]byte
}

// Decoded is a module read back: the TOSA graph and what the module says about its interface.
type Decoded struct {
	Graph      *tosa.Graph
	EntryPoint string
	Generator  uint32
	Inputs     []Binding
	Outputs    []Binding
	// Constants lists the graph constants the graph uses, by GraphConstantID, with the data
	// supplied in ReadOptions.Constants (nil if none was).
	Constants []Constant
	// DebugNames is set if the module has OpName instructions (tensor names come from them).
	DebugNames bool
}

// WriteOptions returns options with which Write reproduces the module from d.Graph: same
// generator, entry point, first binding, names, and the same tensors as graph constants
// (numbered from the smallest GraphConstantID).
func (d *Decoded) WriteOptions() Options {
	gc := map[string]bool{}
	opt := Options{DebugNames: d.DebugNames, Generator: d.Generator, EntryPoint: d.EntryPoint}
	for i, c := range d.Constants {
		gc[c.Name] = true
		if i == 0 || c.ID < opt.FirstConstantID {
			opt.FirstConstantID = c.ID
		}
	}
	opt.GraphConstant = func(t *tosa.Tensor) bool { return gc[t.Name] }
	if len(d.Inputs) > 0 {
		opt.FirstBinding = d.Inputs[0].Binding
	} else if len(d.Outputs) > 0 {
		opt.FirstBinding = d.Outputs[0].Binding
	}
	return opt
}

// Read parses a SPIR-V graph module (binary) into a TOSA graph. The module is validated first
// (Validate); malformed input gives an error, never a panic.
func Read(spv []byte, opt ReadOptions) (*Decoded, error) {
	m, err := Parse(spv)
	if err != nil {
		return nil, err
	}
	return ReadModule(m, opt)
}

type reader struct {
	a      *modInfo
	opt    ReadOptions
	g      *tosa.Graph
	d      *Decoded
	vals   map[uint32]string // value / constant id → tensor name
	used   map[string]bool
	outOf  map[uint32]int // value → first output index
	ivar   []uint32
	ovar   []uint32
	nconst int
}

// ReadModule is Read on a parsed module.
func ReadModule(m *Module, opt ReadOptions) (*Decoded, error) {
	a, err := analyze(m)
	if err != nil {
		return nil, err
	}
	var e *entryInfo
	for i := range a.entries {
		if opt.EntryPoint == "" || a.entries[i].name == opt.EntryPoint {
			e = &a.entries[i]
			break
		}
	}
	if e == nil {
		return nil, fmt.Errorf("spirv: no entry point %q", opt.EntryPoint)
	}
	gi := a.graph(e.graph)
	r := &reader{a: a, opt: opt, g: &tosa.Graph{}, vals: map[uint32]string{}, used: map[string]bool{},
		outOf: map[uint32]int{},
		d:     &Decoded{EntryPoint: e.name, Generator: m.Generator, DebugNames: len(a.names) > 0}}
	r.d.Graph = r.g
	nIn := len(gi.inputs)
	r.ivar, r.ovar = e.iface[:nIn], e.iface[nIn:]
	for k, v := range gi.outputs {
		if _, ok := r.outOf[v]; !ok {
			r.outOf[v] = k
		}
	}
	if err := r.read(gi); err != nil {
		return nil, fmt.Errorf("spirv: %w", err)
	}
	sort.Slice(r.d.Constants, func(i, j int) bool { return r.d.Constants[i].ID < r.d.Constants[j].ID })
	return r.d, nil
}

// name picks a unique tensor name: the first non-empty candidate, made unique with the id.
func (r *reader) name(id uint32, cands ...string) string {
	n := ""
	for _, c := range cands {
		if c != "" {
			n = c
			break
		}
	}
	if n == "" || r.used[n] {
		base := n
		if base == "" {
			base = "t"
		}
		n = fmt.Sprintf("%s_%d", base, id)
		for k := 2; r.used[n]; k++ {
			n = fmt.Sprintf("%s_%d_%d", base, id, k)
		}
	}
	r.used[n] = true
	return n
}

func (r *reader) binding(v uint32, name string, typ uint32) (Binding, error) {
	el, dims, err := r.a.tensorInfo(typ)
	if err != nil {
		return Binding{}, err
	}
	dt, err := dtypeOf(el)
	if err != nil {
		return Binding{}, err
	}
	d := r.a.deco[v]
	return Binding{Name: name, DescriptorSet: d[DecorationDescriptorSet], Binding: d[DecorationBinding], Type: dt, Shape: dims}, nil
}

func (r *reader) addTensor(id, typ uint32, name string, shapeT bool) (*tosa.Tensor, error) {
	el, dims, err := r.a.tensorInfo(typ)
	if err != nil {
		return nil, err
	}
	dt, err := dtypeOf(el)
	if err != nil {
		return nil, err
	}
	if shapeT && dt == tosa.Int32 && len(dims) == 1 {
		dt = tosa.Shape
	}
	t := &tosa.Tensor{Name: name, Shape: dims, Type: dt}
	r.g.Tensors = append(r.g.Tensors, t)
	r.vals[id] = name
	return t, nil
}

func (r *reader) read(gi *graphInfo) error {
	a := r.a
	for k, v := range gi.inputs {
		in, _ := a.inst(v)
		name := r.name(v, a.names[r.ivar[k]], a.names[v], fmt.Sprintf("input_%d", k))
		if _, err := r.addTensor(v, in.Operands[0], name, false); err != nil {
			return fmt.Errorf("graph input %d: %w", k, err)
		}
		r.g.Inputs = append(r.g.Inputs, name)
		b, err := r.binding(r.ivar[k], name, in.Operands[0])
		if err != nil {
			return err
		}
		r.d.Inputs = append(r.d.Inputs, b)
	}
	extracts := map[uint32][]string{} // struct-valued result → output names
	for i := gi.start + 1; i < gi.end; i++ {
		in := a.m.Insts[i]
		switch in.Opcode {
		case OpExtInst:
			if err := r.extInst(in, extracts); err != nil {
				return fmt.Errorf("instruction %d: %w", i, err)
			}
		case OpCompositeExtract:
			names := extracts[in.Operands[2]]
			k := in.Operands[3]
			if int(k) >= len(names) {
				return fmt.Errorf("instruction %d: bad extraction", i)
			}
			r.vals[in.Operands[1]] = names[k]
		}
	}
	for k, v := range gi.outputs {
		name, ok := r.vals[v]
		if !ok {
			return fmt.Errorf("graph output %d: value %%%d is not a tensor of the graph", k, v)
		}
		r.g.Outputs = append(r.g.Outputs, name)
		b, err := r.binding(r.ovar[k], name, a.resultType(v))
		if err != nil {
			return err
		}
		r.d.Outputs = append(r.d.Outputs, b)
	}
	return nil
}

// resultName names an operator result.
func (r *reader) resultName(id uint32) string {
	var cands []string
	if k, ok := r.outOf[id]; ok {
		cands = append(cands, r.a.names[r.ovar[k]], r.a.names[id], fmt.Sprintf("output_%d", k))
	} else {
		cands = append(cands, r.a.names[id], fmt.Sprintf("t_%d", id))
	}
	return r.name(id, cands...)
}

func (r *reader) extInst(in Instruction, extracts map[uint32][]string) error {
	a := r.a
	spec := &opSpecs[in.Operands[3]]
	args := in.Operands[4:]
	op := &tosa.Operator{Op: spec.op}
	inputs := args[len(spec.attrs):]
	// Tensors are created in the writer's order: constant data inputs, attribute-like inputs.
	for pass := 0; pass < 2; pass++ {
		for j, v := range inputs {
			attrLike := j < 32 && spec.constIn&(1<<j) != 0
			if attrLike != (pass == 1) || !a.isTensorConst(v) {
				continue
			}
			if _, err := r.constTensor(v, j < 32 && spec.shapeIn&(1<<j) != 0); err != nil {
				return fmt.Errorf("%v input %d: %w", spec.op, j, err)
			}
		}
	}
	for k := range spec.attrs {
		if err := r.attr(&spec.attrs[k], &op.Attr, args[k], inputs); err != nil {
			return fmt.Errorf("%v attribute %s: %w", spec.op, spec.attrs[k].name, err)
		}
	}
	for j, v := range inputs {
		name, ok := r.vals[v]
		if !ok {
			return fmt.Errorf("%v input %d: %%%d is not a tensor value", spec.op, j, v)
		}
		op.Inputs = append(op.Inputs, name)
	}
	res := in.Operands[1]
	if spec.nOut == 1 {
		name := r.resultName(res)
		if _, err := r.addTensor(res, in.Operands[0], name, false); err != nil {
			return fmt.Errorf("%v result: %w", spec.op, err)
		}
		op.Outputs = []string{name}
	} else {
		st, _ := a.inst(in.Operands[0])
		// Name each output after the OpCompositeExtract that takes it, if any.
		members := st.Operands[1:]
		ext := make([]uint32, len(members))
		for i := a.def[res] + 1; i < len(a.m.Insts); i++ {
			x := a.m.Insts[i]
			if x.Opcode == OpCompositeExtract && x.Operands[2] == res && ext[x.Operands[3]] == 0 {
				ext[x.Operands[3]] = x.Operands[1]
			}
			if x.Opcode == OpGraphEndARM {
				break
			}
		}
		names := make([]string, len(members))
		for k, mt := range members {
			id := ext[k]
			if id == 0 {
				id = res
			}
			names[k] = r.resultName(id)
			t, err := r.addTensor(id, mt, names[k], false)
			if err != nil {
				return fmt.Errorf("%v result %d: %w", spec.op, k, err)
			}
			_ = t
		}
		delete(r.vals, res)
		extracts[res] = names
		op.Outputs = names
	}
	r.g.Ops = append(r.g.Ops, op)
	return nil
}

// scalarLiteral returns the literal of a scalar constant (OpConstant, true/false, null).
func (r *reader) scalarLiteral(id uint32) (uint64, error) {
	c, ok := r.a.inst(id)
	if !ok {
		return 0, fmt.Errorf("%%%d is not defined", id)
	}
	switch c.Opcode {
	case OpConstant:
		v := uint64(c.Operands[2])
		if len(c.Operands) == 4 {
			v |= uint64(c.Operands[3]) << 32
		}
		return v, nil
	case OpConstantTrue:
		return 1, nil
	case OpConstantFalse, OpConstantNull:
		return 0, nil
	}
	return 0, fmt.Errorf("%%%d is not a scalar constant", id)
}

// tensorLiterals returns the element literals of an inline rank-1 (or null) tensor constant.
func (r *reader) tensorLiterals(id uint32, n int, eb int) ([]uint64, error) {
	c, _ := r.a.inst(id)
	if n <= 0 || eb <= 0 || n > MaxInlineConstantBytes/eb {
		return nil, fmt.Errorf("inline constant %%%d of %d elements is too large", id, n)
	}
	lits := make([]uint64, n)
	switch c.Opcode {
	case OpConstantNull:
	case OpConstantCompositeReplicateEXT:
		v, err := r.scalarLiteral(c.Operands[2])
		if err != nil {
			return nil, err
		}
		for i := range lits {
			lits[i] = v
		}
	case OpConstantComposite:
		if len(c.Operands)-2 != n {
			return nil, fmt.Errorf("constant %%%d has %d elements, want %d", id, len(c.Operands)-2, n)
		}
		for i, p := range c.Operands[2:] {
			v, err := r.scalarLiteral(p)
			if err != nil {
				return nil, err
			}
			lits[i] = v
		}
	default:
		return nil, fmt.Errorf("%%%d is not an inline tensor constant", id)
	}
	return lits, nil
}

// constTensor creates (once) the tensor and CONST operator of a tensor constant.
func (r *reader) constTensor(id uint32, shapeT bool) (string, error) {
	if n, ok := r.vals[id]; ok {
		return n, nil
	}
	a := r.a
	c, _ := a.inst(id)
	var name string
	if c.Opcode == OpGraphConstantARM {
		name = r.name(id, a.names[id], fmt.Sprintf("graph_constant_%d", c.Operands[2]))
	} else {
		name = r.name(id, a.names[id], fmt.Sprintf("constant_%d", r.nconst))
		r.nconst++
	}
	t, err := r.addTensor(id, c.Operands[0], name, shapeT)
	if err != nil {
		return "", err
	}
	n := t.NumElements()
	if c.Opcode == OpGraphConstantARM {
		gid := c.Operands[2]
		k := Constant{ID: gid, Name: name, Type: t.Type, Shape: append([]int(nil), t.Shape...)}
		if r.opt.Constants != nil {
			if int64(gid) >= int64(len(r.opt.Constants)) || r.opt.Constants[gid] == nil {
				return "", fmt.Errorf("no data for graph constant %d", gid)
			}
			data := r.opt.Constants[gid]
			if t.Data, err = fromVulkanData(t.Type, data, n); err != nil {
				return "", fmt.Errorf("graph constant %d: %w", gid, err)
			}
			k.Data = data
		}
		r.d.Constants = append(r.d.Constants, k)
	} else {
		eb := elemBytes(t.Type)
		lits, err := r.tensorLiterals(id, n, eb)
		if err != nil {
			return "", err
		}
		t.Data = make([]byte, eb*n)
		for i, v := range lits {
			putLiteral(t.Type, t.Data[eb*i:], v)
		}
	}
	cop := tosa.OpConst
	if t.Type == tosa.Shape {
		cop = tosa.OpConstShape
	}
	r.g.Ops = append(r.g.Ops, &tosa.Operator{Op: cop, Outputs: []string{name}})
	return name, nil
}

func (r *reader) attr(s *attrSpec, at *tosa.Attr, id uint32, inputs []uint32) error {
	a := r.a
	switch s.kind {
	case attrU32:
		v, _ := a.u32Const(id)
		return s.setU(at, v)
	case attrBool:
		v, err := r.scalarLiteral(id)
		if err != nil {
			return err
		}
		*s.b(at) = v != 0
		return nil
	case attrList:
		c, _ := a.inst(id)
		_, dims, err := a.tensorInfo(c.Operands[0])
		if err != nil {
			return err
		}
		lits, err := r.tensorLiterals(id, dims[0], 4)
		if err != nil {
			return err
		}
		l := make([]int, len(lits))
		for i, v := range lits {
			l[i] = int(int32(uint32(v)))
		}
		*s.list(at) = l
		return nil
	case attrElem:
		el, _, err := a.tensorInfo(a.resultType(inputs[0]))
		if err != nil {
			return err
		}
		dt, err := dtypeOf(el)
		if err != nil {
			return err
		}
		v, err := r.scalarLiteral(id)
		if err != nil {
			return err
		}
		b := make([]byte, elemBytes(dt))
		putLiteral(dt, b, v)
		*s.elem(at) = b
		return nil
	}
	return fmt.Errorf("unknown attribute kind")
}
