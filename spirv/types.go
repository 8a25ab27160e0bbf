package spirv

import (
	"encoding/binary"
	"fmt"

	"github.com/vgfq/vgfq/tosa"
)

// scalarType is a SPIR-V scalar type: OpTypeBool, OpTypeInt width 0, OpTypeFloat width [enc].
type scalarType struct {
	kind  byte // 'b' bool, 'i' integer (signless), 'f' float
	width uint32
	enc   int32 // FPEncoding, or -1 for none
}

var (
	tBool = scalarType{'b', 0, -1}
	tU8   = scalarType{'i', 8, -1}
	tU16  = scalarType{'i', 16, -1}
	tU32  = scalarType{'i', 32, -1}
	tU64  = scalarType{'i', 64, -1}
	tF16  = scalarType{'f', 16, -1}
	tF32  = scalarType{'f', 32, -1}
	tBF16 = scalarType{'f', 16, FPEncodingBFloat16KHR}
	tF8E4 = scalarType{'f', 8, FPEncodingFloat8E4M3EXT}
	tF8E5 = scalarType{'f', 8, FPEncodingFloat8E5M2EXT}
)

// scalarOf maps a TOSA element type to its SPIR-V scalar type (spirv-graph.md §3). shape_t
// elements are 32-bit integers; INT48 is a 64-bit integer.
func scalarOf(t tosa.DType) (scalarType, error) {
	switch t {
	case tosa.Bool:
		return tBool, nil
	case tosa.Int8:
		return tU8, nil
	case tosa.Int16:
		return tU16, nil
	case tosa.Int32, tosa.Shape:
		return tU32, nil
	case tosa.Int48:
		return tU64, nil
	case tosa.FP16:
		return tF16, nil
	case tosa.FP32:
		return tF32, nil
	case tosa.BF16:
		return tBF16, nil
	case tosa.FP8E4M3:
		return tF8E4, nil
	case tosa.FP8E5M2:
		return tF8E5, nil
	}
	return scalarType{}, fmt.Errorf("element type %v has no SPIR-V encoding", t)
}

// dtypeOf is the inverse of scalarOf (32-bit integers map to INT32).
func dtypeOf(s scalarType) (tosa.DType, error) {
	switch s {
	case tBool:
		return tosa.Bool, nil
	case tU8:
		return tosa.Int8, nil
	case tU16:
		return tosa.Int16, nil
	case tU32:
		return tosa.Int32, nil
	case tU64:
		return tosa.Int48, nil
	case tF16:
		return tosa.FP16, nil
	case tF32:
		return tosa.FP32, nil
	case tBF16:
		return tosa.BF16, nil
	case tF8E4:
		return tosa.FP8E4M3, nil
	case tF8E5:
		return tosa.FP8E5M2, nil
	}
	return tosa.DTypeUnknown, fmt.Errorf("SPIR-V scalar type %s has no TOSA element type", s.short())
}

// friendly is spirv-dis's name of the type; scalar types are emitted in this order (after uint).
func (s scalarType) friendly() string {
	switch s {
	case tBool:
		return "bool"
	case tU8:
		return "uchar"
	case tU16:
		return "ushort"
	case tU32:
		return "uint"
	case tU64:
		return "ulong"
	case tF16:
		return "half"
	case tF32:
		return "float"
	case tBF16:
		return "bfloat16"
	case tF8E4:
		return "fp8e4m3"
	case tF8E5:
		return "fp8e5m2"
	}
	return s.short()
}

// short names the element type in tensor type names ("t_i8_1x4x4x3").
func (s scalarType) short() string {
	switch {
	case s.kind == 'b':
		return "bool"
	case s.kind == 'i':
		return fmt.Sprintf("i%d", s.width)
	case s.enc == FPEncodingBFloat16KHR && s.width == 16:
		return "bf16"
	case s.enc == FPEncodingFloat8E4M3EXT:
		return "f8e4m3"
	case s.enc == FPEncodingFloat8E5M2EXT:
		return "f8e5m2"
	case s.enc < 0:
		return fmt.Sprintf("f%d", s.width)
	}
	return fmt.Sprintf("f%d_enc%d", s.width, s.enc)
}

// words is the number of literal words of a constant of this type.
func (s scalarType) words() int {
	if s.width > 32 {
		return 2
	}
	return 1
}

// instruction returns the type declaration operands (after the result id).
func (s scalarType) decl(id uint32) Instruction {
	switch s.kind {
	case 'b':
		return Instruction{OpTypeBool, []uint32{id}}
	case 'i':
		return Instruction{OpTypeInt, []uint32{id, s.width, 0}}
	}
	if s.enc >= 0 {
		return Instruction{OpTypeFloat, []uint32{id, s.width, uint32(s.enc)}}
	}
	return Instruction{OpTypeFloat, []uint32{id, s.width}}
}

// elemBytes is the size of one element of t in a TOSA data vector (0 for INT4 / unknown).
func elemBytes(t tosa.DType) int {
	switch t {
	case tosa.Bool, tosa.Int8, tosa.FP8E4M3, tosa.FP8E5M2:
		return 1
	case tosa.Int16, tosa.FP16, tosa.BF16:
		return 2
	case tosa.Int32, tosa.FP32:
		return 4
	case tosa.Int48:
		return 6
	case tosa.Shape:
		return 8
	}
	return 0
}

// literalOf converts one TOSA element (raw little-endian bytes, elemBytes(t) long) to the
// 64-bit literal of its SPIR-V constant: narrow integers zero-extended (signless types), INT48
// sign-extended to 64 bits, shape_t truncated to 32 bits (it must fit an int32).
func literalOf(t tosa.DType, b []byte) (uint64, error) {
	switch t {
	case tosa.Bool:
		if b[0] != 0 {
			return 1, nil
		}
		return 0, nil
	case tosa.Int8, tosa.FP8E4M3, tosa.FP8E5M2:
		return uint64(b[0]), nil
	case tosa.Int16, tosa.FP16, tosa.BF16:
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case tosa.Int32, tosa.FP32:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case tosa.Int48:
		var u uint64
		for k := 0; k < 6; k++ {
			u |= uint64(b[k]) << (8 * k)
		}
		return uint64(int64(u<<16) >> 16), nil
	case tosa.Shape:
		v := int64(binary.LittleEndian.Uint64(b))
		if v != int64(int32(v)) {
			return 0, fmt.Errorf("shape value %d does not fit 32 bits", v)
		}
		return uint64(uint32(int32(v))), nil
	}
	return 0, fmt.Errorf("element type %v has no SPIR-V encoding", t)
}

// putLiteral is the inverse of literalOf: it writes the TOSA bytes of one element.
func putLiteral(t tosa.DType, b []byte, v uint64) {
	switch t {
	case tosa.Bool, tosa.Int8, tosa.FP8E4M3, tosa.FP8E5M2:
		b[0] = byte(v)
	case tosa.Int16, tosa.FP16, tosa.BF16:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case tosa.Int32, tosa.FP32:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case tosa.Int48:
		for k := 0; k < 6; k++ {
			b[k] = byte(v >> (8 * k))
		}
	case tosa.Shape:
		binary.LittleEndian.PutUint64(b, uint64(int64(int32(uint32(v)))))
	}
}

// vulkanElemBytes is the size of one element in Vulkan tensor memory (and VGF constant data):
// the SPIR-V element type's width (INT48 → 8 bytes, shape_t → 4 bytes, bool → 1 byte).
func vulkanElemBytes(t tosa.DType) int {
	switch t {
	case tosa.Int48:
		return 8
	case tosa.Shape:
		return 4
	}
	return elemBytes(t)
}

// toVulkanData converts a TOSA data vector of n elements to the packed layout of the SPIR-V
// element type.
func toVulkanData(t tosa.DType, data []byte, n int) ([]byte, error) {
	eb := elemBytes(t)
	if eb == 0 {
		return nil, fmt.Errorf("element type %v has no SPIR-V encoding", t)
	}
	if len(data) < eb*n {
		return nil, fmt.Errorf("%d data bytes, %d elements of %v need %d", len(data), n, t, eb*n)
	}
	vb := vulkanElemBytes(t)
	if vb == eb {
		return append([]byte(nil), data[:eb*n]...), nil
	}
	out := make([]byte, vb*n)
	for i := 0; i < n; i++ {
		v, err := literalOf(t, data[eb*i:])
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if vb == 8 {
			binary.LittleEndian.PutUint64(out[8*i:], v)
		} else {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
	}
	return out, nil
}

// fromVulkanData is the inverse of toVulkanData.
func fromVulkanData(t tosa.DType, data []byte, n int) ([]byte, error) {
	eb, vb := elemBytes(t), vulkanElemBytes(t)
	if eb == 0 {
		return nil, fmt.Errorf("element type %v has no SPIR-V encoding", t)
	}
	if len(data) != vb*n {
		return nil, fmt.Errorf("%d data bytes, %d elements of %v need %d", len(data), n, t, vb*n)
	}
	if vb == eb {
		return append([]byte(nil), data...), nil
	}
	out := make([]byte, eb*n)
	for i := 0; i < n; i++ {
		var v uint64
		if vb == 8 {
			v = binary.LittleEndian.Uint64(data[8*i:])
		} else {
			v = uint64(binary.LittleEndian.Uint32(data[4*i:]))
		}
		putLiteral(t, out[eb*i:], v)
	}
	return out, nil
}
