package spirv

import (
	"fmt"
	"strings"
)

// Disassemble returns a text listing of the module in the style of `spirv-dis --raw-id`
// (numeric ids, literal operands as numbers, strings quoted, TOSA instructions by name). It is
// meant for diagnostics (diffs in tests, `vgfq inspect`), not for re-assembly.
func Disassemble(m *Module) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "; SPIR-V\n; Version: %d.%d\n; Generator: %#08x\n; Bound: %d\n; Schema: %d\n",
		m.Version>>16, m.Version>>8&0xff, m.Generator, m.Bound, m.Schema)
	for _, in := range m.Insts {
		sb.WriteString(DisassembleInstruction(in))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// DisassembleInstruction formats one instruction (see Disassemble).
func DisassembleInstruction(in Instruction) string {
	var sb strings.Builder
	l, err := LayoutOf(in)
	ops := in.Operands
	if err == nil && l.Result >= 0 {
		fmt.Fprintf(&sb, "%%%d = ", ops[l.Result])
	}
	sb.WriteString(OpcodeName(in.Opcode))
	if err != nil {
		for _, w := range ops {
			fmt.Fprintf(&sb, " %#x", w)
		}
		return sb.String()
	}
	isRef := map[int]bool{}
	for _, k := range l.Refs {
		isRef[k] = true
	}
	for k := 0; k < len(ops); k++ {
		switch {
		case k == l.Result:
			continue
		case k == l.ResultType || isRef[k]:
			fmt.Fprintf(&sb, " %%%d", ops[k])
		case in.Opcode == OpExtInst && k == 3:
			fmt.Fprintf(&sb, " %s", ExtInstName(ops[k]))
		case isStringOperand(in.Opcode, k):
			s, n, err := DecodeString(ops[k:])
			if err != nil {
				fmt.Fprintf(&sb, " %#x", ops[k])
				continue
			}
			fmt.Fprintf(&sb, " %q", s)
			k += n - 1
		default:
			fmt.Fprintf(&sb, " %d", ops[k])
		}
	}
	return sb.String()
}

func isStringOperand(op uint16, k int) bool {
	switch op {
	case OpExtension, OpSourceExtension, OpModuleProcessed:
		return k == 0
	case OpExtInstImport, OpName, OpString, OpGraphEntryPointARM:
		return k == 1
	case OpMemberName:
		return k == 2
	}
	return false
}
