package spirv

import "fmt"

// Opcodes used by graph modules (SPIR-V unified grammar, SPV_ARM_tensors, SPV_ARM_graph).
const (
	OpNop                           = 0
	OpSource                        = 3
	OpSourceExtension               = 4
	OpName                          = 5
	OpMemberName                    = 6
	OpString                        = 7
	OpExtension                     = 10
	OpExtInstImport                 = 11
	OpExtInst                       = 12
	OpMemoryModel                   = 14
	OpCapability                    = 17
	OpTypeBool                      = 20
	OpTypeInt                       = 21
	OpTypeFloat                     = 22
	OpTypeArray                     = 28
	OpTypeStruct                    = 30
	OpTypePointer                   = 32
	OpConstantTrue                  = 41
	OpConstantFalse                 = 42
	OpConstant                      = 43
	OpConstantComposite             = 44
	OpConstantNull                  = 46
	OpVariable                      = 59
	OpDecorate                      = 71
	OpCompositeExtract              = 81
	OpModuleProcessed               = 330
	OpConstantCompositeReplicateEXT = 4461
	OpTypeTensorARM                 = 4163
	OpGraphConstantARM              = 4181
	OpGraphEntryPointARM            = 4182
	OpGraphARM                      = 4183
	OpGraphInputARM                 = 4184
	OpGraphSetOutputARM             = 4185
	OpGraphEndARM                   = 4186
	OpTypeGraphARM                  = 4190
)

// Capabilities.
const (
	CapShader                  = 1
	CapFloat16                 = 9
	CapInt64                   = 11
	CapInt16                   = 22
	CapInt8                    = 39
	CapVulkanMemoryModel       = 5345
	CapTensorsARM              = 4174
	CapGraphARM                = 4191
	CapFloat8EXT               = 4212
	CapBFloat16TypeKHR         = 5116
	CapReplicatedCompositesEXT = 6024
)

// Other enumerants.
const (
	AddressingLogical        = 0
	MemoryModelVulkan        = 3
	StorageUniformConstant   = 0
	DecorationBinding        = 33
	DecorationDescriptorSet  = 34
	FPEncodingBFloat16KHR    = 0
	FPEncodingFloat8E4M3EXT  = 4214
	FPEncodingFloat8E5M2EXT  = 4215
	TOSAInstructionSetName   = "TOSA.001000.1"
	ExtensionTensorsARM      = "SPV_ARM_tensors"
	ExtensionGraphARM        = "SPV_ARM_graph"
	ExtensionBFloat16KHR     = "SPV_KHR_bfloat16"
	ExtensionFloat8EXT       = "SPV_EXT_float8"
	ExtensionReplicatedComps = "SPV_EXT_replicated_composites"
	DefaultEntryPointName    = "main"
)

// Layout describes where the ids of an instruction are: the operand index of its result type
// and result id (-1 if none), and which other operands are ids.
type Layout struct {
	ResultType int   // operand index of the result type id, or -1
	Result     int   // operand index of the result id, or -1
	Refs       []int // operand indices of other ids, in operand order
}

// known reports whether the package understands the operand layout of op.
func known(op uint16) bool {
	switch op {
	case OpNop, OpSource, OpSourceExtension, OpName, OpMemberName, OpString, OpExtension,
		OpExtInstImport, OpExtInst, OpMemoryModel, OpCapability, OpTypeBool, OpTypeInt,
		OpTypeFloat, OpTypeArray, OpTypeStruct, OpTypePointer, OpConstantTrue, OpConstantFalse,
		OpConstant, OpConstantComposite, OpConstantNull, OpVariable, OpDecorate,
		OpCompositeExtract, OpModuleProcessed, OpConstantCompositeReplicateEXT, OpTypeTensorARM,
		OpGraphConstantARM, OpGraphEntryPointARM, OpGraphARM, OpGraphInputARM,
		OpGraphSetOutputARM, OpGraphEndARM, OpTypeGraphARM:
		return true
	}
	return false
}

func span(from, to int) []int {
	if to <= from {
		return nil
	}
	r := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		r = append(r, i)
	}
	return r
}

// stringWords returns the number of words of the literal string starting at operand i.
func stringWords(ops []uint32, i int) (int, error) {
	if i > len(ops) {
		return 0, errUnterminated
	}
	_, n, err := DecodeString(ops[i:])
	return n, err
}

// LayoutOf returns the id layout of an instruction. It fails for opcodes this package does not
// know and for instructions with too few operands or malformed strings.
func LayoutOf(in Instruction) (Layout, error) {
	ops := in.Operands
	n := len(ops)
	need := func(min, max int) error {
		if n < min || (max >= 0 && n > max) {
			return fmt.Errorf("spirv: %s with %d operand words", OpcodeName(in.Opcode), n)
		}
		return nil
	}
	none := Layout{ResultType: -1, Result: -1}
	switch in.Opcode {
	case OpNop, OpGraphEndARM:
		return none, need(0, 0)
	case OpSource, OpSourceExtension, OpModuleProcessed, OpCapability, OpMemoryModel:
		return none, nil
	case OpExtension:
		if _, err := stringWords(ops, 0); err != nil {
			return none, err
		}
		return none, need(1, -1)
	case OpString, OpExtInstImport:
		if err := need(2, -1); err != nil {
			return none, err
		}
		if _, err := stringWords(ops, 1); err != nil {
			return none, err
		}
		return Layout{-1, 0, nil}, nil
	case OpName:
		if err := need(2, -1); err != nil {
			return none, err
		}
		if _, err := stringWords(ops, 1); err != nil {
			return none, err
		}
		return Layout{-1, -1, []int{0}}, nil
	case OpMemberName:
		if err := need(3, -1); err != nil {
			return none, err
		}
		return Layout{-1, -1, []int{0}}, nil
	case OpExtInst:
		if err := need(4, -1); err != nil {
			return none, err
		}
		return Layout{0, 1, append([]int{2}, span(4, n)...)}, nil
	case OpTypeBool:
		return Layout{-1, 0, nil}, need(1, 1)
	case OpTypeInt:
		return Layout{-1, 0, nil}, need(3, 3)
	case OpTypeFloat:
		return Layout{-1, 0, nil}, need(2, 3)
	case OpTypeArray:
		return Layout{-1, 0, []int{1, 2}}, need(3, 3)
	case OpTypeStruct:
		return Layout{-1, 0, span(1, n)}, need(1, -1)
	case OpTypePointer:
		return Layout{-1, 0, []int{2}}, need(3, 3)
	case OpConstantTrue, OpConstantFalse, OpConstantNull, OpGraphARM:
		return Layout{0, 1, nil}, need(2, 2)
	case OpConstant:
		return Layout{0, 1, nil}, need(3, 4)
	case OpConstantComposite:
		return Layout{0, 1, span(2, n)}, need(2, -1)
	case OpConstantCompositeReplicateEXT:
		return Layout{0, 1, []int{2}}, need(3, 3)
	case OpVariable:
		if err := need(3, 4); err != nil {
			return none, err
		}
		return Layout{0, 1, span(3, n)}, nil
	case OpDecorate:
		return Layout{-1, -1, []int{0}}, need(2, -1)
	case OpCompositeExtract:
		return Layout{0, 1, []int{2}}, need(3, -1)
	case OpTypeTensorARM:
		return Layout{-1, 0, span(1, n)}, need(2, 4)
	case OpGraphConstantARM:
		return Layout{0, 1, nil}, need(3, 3)
	case OpGraphEntryPointARM:
		if err := need(2, -1); err != nil {
			return none, err
		}
		sw, err := stringWords(ops, 1)
		if err != nil {
			return none, err
		}
		return Layout{-1, -1, append([]int{0}, span(1+sw, n)...)}, nil
	case OpGraphInputARM:
		return Layout{0, 1, span(2, n)}, need(3, 4)
	case OpGraphSetOutputARM:
		return Layout{-1, -1, span(0, n)}, need(2, 3)
	case OpTypeGraphARM:
		return Layout{-1, 0, span(2, n)}, need(2, -1)
	}
	return none, fmt.Errorf("spirv: unsupported opcode %d", in.Opcode)
}

var opNames = map[uint16]string{
	OpNop: "OpNop", OpSource: "OpSource", OpSourceExtension: "OpSourceExtension", OpName: "OpName",
	OpMemberName: "OpMemberName", OpString: "OpString", OpExtension: "OpExtension",
	OpExtInstImport: "OpExtInstImport", OpExtInst: "OpExtInst", OpMemoryModel: "OpMemoryModel",
	OpCapability: "OpCapability", OpTypeBool: "OpTypeBool", OpTypeInt: "OpTypeInt",
	OpTypeFloat: "OpTypeFloat", OpTypeArray: "OpTypeArray", OpTypeStruct: "OpTypeStruct",
	OpTypePointer: "OpTypePointer", OpConstantTrue: "OpConstantTrue", OpConstantFalse: "OpConstantFalse",
	OpConstant: "OpConstant", OpConstantComposite: "OpConstantComposite", OpConstantNull: "OpConstantNull",
	OpVariable: "OpVariable", OpDecorate: "OpDecorate", OpCompositeExtract: "OpCompositeExtract",
	OpModuleProcessed: "OpModuleProcessed", OpConstantCompositeReplicateEXT: "OpConstantCompositeReplicateEXT",
	OpTypeTensorARM: "OpTypeTensorARM", OpGraphConstantARM: "OpGraphConstantARM",
	OpGraphEntryPointARM: "OpGraphEntryPointARM", OpGraphARM: "OpGraphARM", OpGraphInputARM: "OpGraphInputARM",
	OpGraphSetOutputARM: "OpGraphSetOutputARM", OpGraphEndARM: "OpGraphEndARM", OpTypeGraphARM: "OpTypeGraphARM",
}

// OpcodeName returns the instruction name of an opcode ("Op123" for unknown ones).
func OpcodeName(op uint16) string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return fmt.Sprintf("Op%d", op)
}
