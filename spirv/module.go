// Package spirv writes and reads SPIR-V graph modules (SPV_ARM_graph + SPV_ARM_tensors with the
// "TOSA.001000.1" extended instruction set) that hold a TOSA 1.0 graph, as used by VGF files and
// the ML extensions for Vulkan.
//
// The package has two layers. The low layer (this file, builder.go) is plain SPIR-V: a Module is
// a header plus a list of instructions, encoded as little-endian 32-bit words; literal strings,
// ID allocation and renumbering are handled here, independently of TOSA. The high layer
// (writer.go, reader.go) maps a tosa.Graph to such a module and back, following
// reference/spirv-graph.md.
//
// Write emits, in this order: capabilities (Shader, the narrow-type ones in use,
// VulkanMemoryModel, TensorsARM, GraphARM) and extensions; the "TOSA.001000.1" import;
// OpMemoryModel Logical Vulkan; OpName (Options.DebugNames); DescriptorSet 0 / Binding
// decorations, inputs then outputs; then the types/constants section: scalar types (uint first,
// then by spirv-dis name), interned scalar constants (by type, then value: shape dimensions,
// ranks, I/O indices and the elements of inline tensor constants), OpTypeArray by length, shape
// constants and OpTypeTensorARM sorted by name ("shape_1x4x4x3", "t_i8_1x4x4x3"), result structs,
// pointers and interface variables, OpConstantFalse/True, and per operator, in graph order: its
// constant data inputs (weights, bias, table; first use), its attributes in grammar order (fresh
// constants: scalars as OpConstant %uint, arrays as rank-1 uint tensors, zero arrays as
// OpConstantNull) and its constant former-attribute inputs (zero points, shift, padding, shape,
// scale/offset/border, multiplier; first use); finally OpTypeGraphARM, OpGraphEntryPointARM and
// the graph. Ids are numbered in order of first appearance, exactly as spirv-as numbers a text
// module, so modules written this way match hand-written .spvasm files word for word.
//
// Constant tensors of rank != 1, without data, or with more than Options.InlineMaxElements
// elements become OpGraphConstantARM with dense GraphConstantIDs (the VGF constant index); their
// data is returned in Result.Constants. Read parses a module back into a tosa.Graph, taking the
// graph constants' data from ReadOptions.Constants; Validate is the structural check both use.
package spirv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Header constants.
const (
	MagicNumber = 0x07230203
	// Version16 is SPIR-V 1.6, the version every TOSA graph producer emits.
	Version16 = 0x00010600
	// GeneratorUnregistered is the generator word of a tool without a registered vendor id.
	GeneratorUnregistered = 0
	// GeneratorSPIRVAssembler is the generator word spirv-as writes (vendor 7, Khronos SPIR-V
	// Tools Assembler, version 0).
	GeneratorSPIRVAssembler = 0x00070000

	headerWords = 5
)

// MaxWords bounds the size of a module accepted by Parse: 64 Mi words (256 MiB). Graph modules
// are small (weights live outside, as graph constants), so anything larger is malformed.
const MaxWords = 64 << 20

// Instruction is one SPIR-V instruction: its opcode and the words after the first one.
type Instruction struct {
	Opcode   uint16
	Operands []uint32
}

// WordCount is the instruction's total number of words (including the opcode word).
func (in Instruction) WordCount() int { return 1 + len(in.Operands) }

// Module is a SPIR-V module: header fields and instructions in module order.
type Module struct {
	Version   uint32
	Generator uint32
	Bound     uint32 // largest result id + 1
	Schema    uint32
	Insts     []Instruction
}

// Words encodes the module as SPIR-V words. It fails if an instruction is too long for the
// 16-bit word count.
func (m *Module) Words() ([]uint32, error) {
	n := headerWords
	for i, in := range m.Insts {
		wc := in.WordCount()
		if wc > 0xffff {
			return nil, fmt.Errorf("spirv: instruction %d (opcode %d) has %d words, more than 65535", i, in.Opcode, wc)
		}
		n += wc
	}
	w := make([]uint32, 0, n)
	w = append(w, MagicNumber, m.Version, m.Generator, m.Bound, m.Schema)
	for _, in := range m.Insts {
		w = append(w, uint32(in.WordCount())<<16|uint32(in.Opcode))
		w = append(w, in.Operands...)
	}
	return w, nil
}

// Bytes encodes the module as a little-endian binary.
func (m *Module) Bytes() ([]byte, error) {
	w, err := m.Words()
	if err != nil {
		return nil, err
	}
	return WordsToBytes(w), nil
}

// WordsToBytes packs words little-endian.
func WordsToBytes(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// BytesToWords unpacks a little- or big-endian SPIR-V binary (the byte order is detected from the
// magic number) into words.
func BytesToWords(b []byte) ([]uint32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("spirv: binary size %d is not a multiple of 4", len(b))
	}
	if len(b) < 4*headerWords {
		return nil, fmt.Errorf("spirv: binary of %d bytes is shorter than the 20-byte header", len(b))
	}
	if len(b)/4 > MaxWords {
		return nil, fmt.Errorf("spirv: binary of %d bytes is too large", len(b))
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == MagicNumber:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == MagicNumber:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("spirv: bad magic number %#08x", binary.LittleEndian.Uint32(b))
	}
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = order.Uint32(b[4*i:])
	}
	return w, nil
}

// Parse decodes a SPIR-V binary (either byte order). It checks the header and that the
// instruction stream is well formed (word counts), nothing else.
func Parse(b []byte) (*Module, error) {
	w, err := BytesToWords(b)
	if err != nil {
		return nil, err
	}
	return ParseWords(w)
}

// ParseWords decodes a module from words. The operands of the returned instructions share
// storage with w.
func ParseWords(w []uint32) (*Module, error) {
	if len(w) < headerWords {
		return nil, fmt.Errorf("spirv: %d words is shorter than the 5-word header", len(w))
	}
	if len(w) > MaxWords {
		return nil, fmt.Errorf("spirv: module of %d words is too large", len(w))
	}
	if w[0] != MagicNumber {
		return nil, fmt.Errorf("spirv: bad magic number %#08x", w[0])
	}
	m := &Module{Version: w[1], Generator: w[2], Bound: w[3], Schema: w[4]}
	if m.Version&0xff0000ff != 0 || m.Version>>16 != 1 {
		return nil, fmt.Errorf("spirv: bad version word %#08x", m.Version)
	}
	if m.Schema != 0 {
		return nil, fmt.Errorf("spirv: schema %d, want 0", m.Schema)
	}
	// Count first so the instruction slice is allocated once and never exceeds the input.
	n := 0
	for i := headerWords; i < len(w); {
		wc := int(w[i] >> 16)
		if wc == 0 {
			return nil, fmt.Errorf("spirv: word %d: instruction with word count 0", i)
		}
		if i+wc > len(w) {
			return nil, fmt.Errorf("spirv: word %d: opcode %d with word count %d runs past the end (%d words)", i, w[i]&0xffff, wc, len(w))
		}
		i += wc
		n++
	}
	m.Insts = make([]Instruction, 0, n)
	for i := headerWords; i < len(w); {
		wc := int(w[i] >> 16)
		m.Insts = append(m.Insts, Instruction{Opcode: uint16(w[i]), Operands: w[i+1 : i+wc : i+wc]})
		i += wc
	}
	return m, nil
}

// EncodeString encodes a literal string: UTF-8 bytes, NUL-terminated, zero-padded to a
// multiple of 4 bytes, packed little-endian into words.
func EncodeString(s string) []uint32 {
	n := len(s)/4 + 1
	w := make([]uint32, n)
	for i := 0; i < len(s); i++ {
		w[i/4] |= uint32(s[i]) << (8 * (i % 4))
	}
	return w
}

var errUnterminated = errors.New("spirv: literal string is not NUL-terminated")

// DecodeString decodes a literal string at the start of w and returns it with the number of
// words it occupies. The string must be NUL-terminated within w and valid UTF-8.
func DecodeString(w []uint32) (string, int, error) {
	var b []byte
	for i, x := range w {
		for k := 0; k < 4; k++ {
			c := byte(x >> (8 * k))
			if c == 0 {
				// Padding after the NUL must be zero.
				if k < 3 && x>>(8*(k+1)) != 0 {
					return "", 0, errors.New("spirv: literal string has non-zero padding")
				}
				if !utf8.Valid(b) {
					return "", 0, errors.New("spirv: literal string is not valid UTF-8")
				}
				return string(b), i + 1, nil
			}
			b = append(b, c)
		}
	}
	return "", 0, errUnterminated
}
