package spirv

import "fmt"

// Builder accumulates instructions and allocates result ids (1, 2, 3, … in allocation order).
type Builder struct {
	next  uint32
	insts []Instruction
}

// NewBuilder returns an empty builder whose first id is 1.
func NewBuilder() *Builder { return &Builder{next: 1} }

// ID allocates a fresh result id.
func (b *Builder) ID() uint32 {
	id := b.next
	b.next++
	return id
}

// Bound is the current id bound (largest allocated id + 1).
func (b *Builder) Bound() uint32 { return b.next }

// Emit appends an instruction with the given operand words.
func (b *Builder) Emit(op uint16, operands ...uint32) {
	b.insts = append(b.insts, Instruction{Opcode: op, Operands: operands})
}

// EmitString appends an instruction whose operands are head, the literal string s, then tail.
func (b *Builder) EmitString(op uint16, head []uint32, s string, tail ...uint32) {
	ops := make([]uint32, 0, len(head)+len(s)/4+1+len(tail))
	ops = append(ops, head...)
	ops = append(ops, EncodeString(s)...)
	ops = append(ops, tail...)
	b.Emit(op, ops...)
}

// Insts returns the instructions emitted so far.
func (b *Builder) Insts() []Instruction { return b.insts }

// Module returns a module holding the emitted instructions (not copied) with the given
// version and generator word.
func (b *Builder) Module(version, generator uint32) *Module {
	return &Module{Version: version, Generator: generator, Bound: b.next, Insts: b.insts}
}

// Renumber renames every id of m to the order of its first appearance in the module text as
// spirv-as reads it: instruction by instruction, an instruction's result id first, then its
// other id operands (result type included) in operand order. This is the numbering spirv-as
// gives a module written with symbolic names, so a module built with any id allocation and
// renumbered compares word for word with the assembled text. Bound is updated. All opcodes
// must be known to LayoutOf.
func Renumber(m *Module) error {
	remap := make(map[uint32]uint32)
	next := uint32(1)
	get := func(id uint32) uint32 {
		if n, ok := remap[id]; ok {
			return n
		}
		remap[id] = next
		next++
		return next - 1
	}
	out := make([]Instruction, len(m.Insts))
	for i, in := range m.Insts {
		l, err := LayoutOf(in)
		if err != nil {
			return fmt.Errorf("instruction %d: %w", i, err)
		}
		ops := append([]uint32(nil), in.Operands...)
		if l.Result >= 0 {
			ops[l.Result] = get(ops[l.Result])
		}
		if l.ResultType >= 0 {
			ops[l.ResultType] = get(ops[l.ResultType])
		}
		for _, k := range l.Refs {
			ops[k] = get(ops[k])
		}
		out[i] = Instruction{Opcode: in.Opcode, Operands: ops}
	}
	m.Insts = out
	m.Bound = next
	return nil
}
