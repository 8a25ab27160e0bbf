// Package tosa is vgfq's TOSA 1.0 layer: a plain-data IR of a TOSA graph (one region, one block
// "main"), its validation (operand lists, types, shape inference, 8K levels), the .tosa
// FlatBuffers codec (Decode / Encode) and, in package tosa/ref, a bit-exact integer reference
// interpreter written to read like the specification pseudocode.
//
// The IR mirrors the TOSA 1.0 final schema (docs: shared/reference/tosa.md §3): enum values are
// the schema's, operand lists are the serialized `inputs` order, attributes are one flat struct
// holding the union of every attribute table's fields. Nothing here holds closures, so passes
// and other serializers (SPIR-V) can read and rewrite graphs freely.
package tosa

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a TOSA 1.0 element type (schema enum DType, uint32).
type DType uint32

// The DType values of the TOSA 1.0 final schema.
const (
	DTypeUnknown DType = 0
	Bool         DType = 1
	Int4         DType = 2
	Int8         DType = 3
	Int16        DType = 4
	Int32        DType = 5
	Int48        DType = 6
	FP32         DType = 7
	FP16         DType = 8
	BF16         DType = 9
	Shape        DType = 10 // shape_t: int64 elements, produced by CONST_SHAPE
	FP8E4M3      DType = 11
	FP8E5M2      DType = 12
)

var dtypeNames = [...]string{"UNKNOWN", "BOOL", "INT4", "INT8", "INT16", "INT32", "INT48", "FP32",
	"FP16", "BF16", "SHAPE", "FP8E4M3", "FP8E5M2"}

func (t DType) String() string {
	if int(t) < len(dtypeNames) {
		return dtypeNames[t]
	}
	return fmt.Sprintf("DType(%d)", uint32(t))
}

// Valid reports whether t is a known, non-UNKNOWN DType.
func (t DType) Valid() bool { return t > DTypeUnknown && int(t) < len(dtypeNames) }

// IsInt reports whether t is one of the signless integer types INT4..INT48.
func (t DType) IsInt() bool { return t >= Int4 && t <= Int48 }

// Bits is the width of an integer type (BOOL 1, INT4 4, ..., INT48 48, SHAPE 64); 0 otherwise.
func (t DType) Bits() int {
	switch t {
	case Bool:
		return 1
	case Int4:
		return 4
	case Int8, FP8E4M3, FP8E5M2:
		return 8
	case Int16, FP16, BF16:
		return 16
	case Int32, FP32:
		return 32
	case Int48:
		return 48
	case Shape:
		return 64
	}
	return 0
}

// MinMax returns the signed range of an integer type (BOOL: 0..1, SHAPE: int64).
func (t DType) MinMax() (lo, hi int64) {
	switch t {
	case Bool:
		return 0, 1
	case Shape:
		return math.MinInt64, math.MaxInt64
	}
	b := t.Bits()
	if b == 0 || !t.IsInt() {
		return 0, 0
	}
	return -(int64(1) << (b - 1)), int64(1)<<(b-1) - 1
}

// DataSize is the number of bytes that n elements of type t occupy in a tensor's data vector
// (INT4 packs two per byte), or -1 for UNKNOWN / invalid types.
func (t DType) DataSize(n int) int {
	switch t {
	case Bool, Int8, FP8E4M3, FP8E5M2:
		return n
	case Int4:
		return (n + 1) / 2
	case Int16, FP16, BF16:
		return 2 * n
	case Int32, FP32:
		return 4 * n
	case Int48:
		return 6 * n
	case Shape:
		return 8 * n
	}
	return -1
}

// Op is a TOSA 1.0 operator (schema enum Op, uint32). The attribute union tag equals the Op value.
type Op uint32

// The Op values of the TOSA 1.0 final schema.
const (
	OpUnknown              Op = 0
	OpArgMax               Op = 1
	OpAvgPool2D            Op = 2
	OpConv2D               Op = 3
	OpConv3D               Op = 4
	OpDepthwiseConv2D      Op = 5
	OpFFT2D                Op = 6
	OpMatMul               Op = 7
	OpMaxPool2D            Op = 8
	OpRFFT2D               Op = 9
	OpTransposeConv2D      Op = 10
	OpClamp                Op = 11
	OpErf                  Op = 12
	OpSigmoid              Op = 13
	OpTanh                 Op = 14
	OpAdd                  Op = 15
	OpArithmeticRightShift Op = 16
	OpBitwiseAnd           Op = 17
	OpBitwiseOr            Op = 18
	OpBitwiseXor           Op = 19
	OpIntDiv               Op = 20
	OpLogicalAnd           Op = 21
	OpLogicalLeftShift     Op = 22
	OpLogicalRightShift    Op = 23
	OpLogicalOr            Op = 24
	OpLogicalXor           Op = 25
	OpMaximum              Op = 26
	OpMinimum              Op = 27
	OpMul                  Op = 28
	OpPow                  Op = 29
	OpSub                  Op = 30
	OpTable                Op = 31
	OpAbs                  Op = 32
	OpBitwiseNot           Op = 33
	OpCeil                 Op = 34
	OpClz                  Op = 35
	OpCos                  Op = 36
	OpExp                  Op = 37
	OpFloor                Op = 38
	OpLog                  Op = 39
	OpLogicalNot           Op = 40
	OpNegate               Op = 41
	OpReciprocal           Op = 42
	OpRsqrt                Op = 43
	OpSin                  Op = 44
	OpSelect               Op = 45
	OpEqual                Op = 46
	OpGreater              Op = 47
	OpGreaterEqual         Op = 48
	OpReduceAll            Op = 49
	OpReduceAny            Op = 50
	OpReduceMax            Op = 51
	OpReduceMin            Op = 52
	OpReduceProduct        Op = 53
	OpReduceSum            Op = 54
	OpConcat               Op = 55
	OpPad                  Op = 56
	OpReshape              Op = 57
	OpReverse              Op = 58
	OpSlice                Op = 59
	OpTile                 Op = 60
	OpTranspose            Op = 61
	OpGather               Op = 62
	OpScatter              Op = 63
	OpResize               Op = 64
	OpCast                 Op = 65
	OpRescale              Op = 66
	OpConst                Op = 67
	OpIdentity             Op = 68
	OpCustom               Op = 69
	OpCondIf               Op = 70
	OpWhileLoop            Op = 71
	OpVariable             Op = 72
	OpVariableWrite        Op = 73
	OpVariableRead         Op = 74
	OpConstShape           Op = 75
)

var opNames = [...]string{"UNKNOWN", "ARGMAX", "AVG_POOL2D", "CONV2D", "CONV3D", "DEPTHWISE_CONV2D",
	"FFT2D", "MATMUL", "MAX_POOL2D", "RFFT2D", "TRANSPOSE_CONV2D", "CLAMP", "ERF", "SIGMOID", "TANH",
	"ADD", "ARITHMETIC_RIGHT_SHIFT", "BITWISE_AND", "BITWISE_OR", "BITWISE_XOR", "INTDIV",
	"LOGICAL_AND", "LOGICAL_LEFT_SHIFT", "LOGICAL_RIGHT_SHIFT", "LOGICAL_OR", "LOGICAL_XOR",
	"MAXIMUM", "MINIMUM", "MUL", "POW", "SUB", "TABLE", "ABS", "BITWISE_NOT", "CEIL", "CLZ", "COS",
	"EXP", "FLOOR", "LOG", "LOGICAL_NOT", "NEGATE", "RECIPROCAL", "RSQRT", "SIN", "SELECT", "EQUAL",
	"GREATER", "GREATER_EQUAL", "REDUCE_ALL", "REDUCE_ANY", "REDUCE_MAX", "REDUCE_MIN",
	"REDUCE_PRODUCT", "REDUCE_SUM", "CONCAT", "PAD", "RESHAPE", "REVERSE", "SLICE", "TILE",
	"TRANSPOSE", "GATHER", "SCATTER", "RESIZE", "CAST", "RESCALE", "CONST", "IDENTITY", "CUSTOM",
	"COND_IF", "WHILE_LOOP", "VARIABLE", "VARIABLE_WRITE", "VARIABLE_READ", "CONST_SHAPE"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint32(o))
}

// Valid reports whether o is a known, non-UNKNOWN Op.
func (o Op) Valid() bool { return o > OpUnknown && int(o) < len(opNames) }

// OpByName returns the Op whose String() is name.
func OpByName(name string) (Op, bool) {
	for i, n := range opNames {
		if n == name && i > 0 {
			return Op(i), true
		}
	}
	return OpUnknown, false
}

// ResizeMode is RESIZE's mode attribute (schema enum ResizeMode, uint32).
type ResizeMode uint32

// ResizeMode values.
const (
	ResizeUnknown  ResizeMode = 0
	ResizeNearest  ResizeMode = 1
	ResizeBilinear ResizeMode = 2
)

func (m ResizeMode) String() string {
	switch m {
	case ResizeUnknown:
		return "UNKNOWN"
	case ResizeNearest:
		return "NEAREST"
	case ResizeBilinear:
		return "BILINEAR"
	}
	return fmt.Sprintf("ResizeMode(%d)", uint32(m))
}

// RoundingMode is RESCALE's rounding_mode attribute (schema enum RoundingMode, uint32).
type RoundingMode uint32

// RoundingMode values.
const (
	RoundingUnknown RoundingMode = 0
	SingleRound     RoundingMode = 1
	InexactRound    RoundingMode = 2 // EXT-INEXACTROUND (experimental)
	DoubleRound     RoundingMode = 3 // EXT-DOUBLEROUND
)

func (m RoundingMode) String() string {
	switch m {
	case RoundingUnknown:
		return "UNKNOWN"
	case SingleRound:
		return "SINGLE_ROUND"
	case InexactRound:
		return "INEXACT_ROUND"
	case DoubleRound:
		return "DOUBLE_ROUND"
	}
	return fmt.Sprintf("RoundingMode(%d)", uint32(m))
}

// NanMode is the nan_mode attribute (schema enum NanPropagationMode, uint32).
type NanMode uint32

// NanMode values.
const (
	NanUnknown   NanMode = 0
	NanPropagate NanMode = 1
	NanIgnore    NanMode = 2
)

func (m NanMode) String() string {
	switch m {
	case NanUnknown:
		return "UNKNOWN"
	case NanPropagate:
		return "PROPAGATE"
	case NanIgnore:
		return "IGNORE"
	}
	return fmt.Sprintf("NanMode(%d)", uint32(m))
}

// Tensor is one entry of the block's tensor list. Data holds the raw little-endian element bytes
// of a constant (exactly Type.DataSize(NumElements()) bytes, without the file's padding), nil
// for every other tensor. Rank-0 tensors have an empty (non-nil after decoding) Shape.
type Tensor struct {
	Name  string
	Shape []int
	Type  DType
	Data  []byte
}

// NumElements is the product of the shape (1 for rank 0).
func (t *Tensor) NumElements() int { return NumElements(t.Shape) }

// NumElements is the product of shape's dimensions (1 for an empty shape).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Attr is the union of the fields of every TOSA 1.0 attribute table. Only the fields of the
// operator's table are meaningful (and serialized); the rest stay zero:
//
//	ARGMAX            Axis, NanMode
//	AVG_POOL2D        Kernel, Stride, Pad, AccType
//	CONV2D/CONV3D/DEPTHWISE_CONV2D  Pad, Stride, Dilation, LocalBound, AccType
//	TRANSPOSE_CONV2D  OutPad, Stride, LocalBound, AccType
//	MAX_POOL2D        Kernel, Stride, Pad, NanMode
//	FFT2D             Inverse, LocalBound;  RFFT2D LocalBound
//	CLAMP             ClampMin, ClampMax (raw little-endian bytes of an in_out_t scalar), NanMode
//	ARITHMETIC_RIGHT_SHIFT  Round
//	MAXIMUM/MINIMUM   NanMode
//	REDUCE_*, CONCAT, REVERSE  Axis (+ NanMode for REDUCE_MAX/MIN)
//	TRANSPOSE         Perms
//	RESIZE            Mode
//	RESCALE           Scale32, RoundingMode, PerChannel, InputUnsigned, OutputUnsigned
//	CUSTOM            OperatorName, DomainName, ImplementationAttrs
//	COND_IF           ThenGraph, ElseGraph;  WHILE_LOOP CondGraph, BodyGraph
//
// Pad is [top, bottom, left, right] (CONV3D: [front, back, top, bottom, left, right]); Stride,
// Dilation and Kernel are [y, x]; OutPad is [top, bottom, left, right].
type Attr struct {
	Pad, Stride, Dilation, Kernel, OutPad []int
	AccType                               DType
	LocalBound                            bool
	Inverse                               bool
	Axis                                  int
	Perms                                 []int
	Mode                                  ResizeMode
	Scale32                               bool
	PerChannel                            bool
	InputUnsigned                         bool
	OutputUnsigned                        bool
	RoundingMode                          RoundingMode
	NanMode                               NanMode
	ClampMin, ClampMax                    []byte
	Round                                 bool
	OperatorName, DomainName              string
	ImplementationAttrs                   []byte
	ThenGraph, ElseGraph                  string
	CondGraph, BodyGraph                  string
}

// Operator is one operator of the block: its inputs and outputs are tensor names in the
// serialized operand order (tosa.md §2).
type Operator struct {
	Op      Op
	Attr    Attr
	Inputs  []string
	Outputs []string
}

// Graph is a TOSA graph with one region and one basic block, both named "main". Tensors lists
// every tensor (inputs, constants, intermediates, outputs); Ops are in topological order;
// Inputs / Outputs name the block's input and output tensors.
type Graph struct {
	Tensors []*Tensor
	Ops     []*Operator
	Inputs  []string
	Outputs []string
}

// Tensor returns the tensor named name, or nil.
func (g *Graph) Tensor(name string) *Tensor {
	for _, t := range g.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Producer returns the index and operator that outputs the tensor named name, or -1, nil (for
// graph inputs and unknown names).
func (g *Graph) Producer(name string) (int, *Operator) {
	for i, op := range g.Ops {
		for _, o := range op.Outputs {
			if o == name {
				return i, op
			}
		}
	}
	return -1, nil
}

// Consumers returns the indices of the operators that read the tensor named name.
func (g *Graph) Consumers(name string) []int {
	var r []int
	for i, op := range g.Ops {
		for _, in := range op.Inputs {
			if in == name {
				r = append(r, i)
				break
			}
		}
	}
	return r
}

// TensorMap returns the tensors by name.
func (g *Graph) TensorMap() map[string]*Tensor {
	m := make(map[string]*Tensor, len(g.Tensors))
	for _, t := range g.Tensors {
		m[t.Name] = t
	}
	return m
}

// IsConst reports whether the tensor named name is produced by CONST or CONST_SHAPE.
func (g *Graph) IsConst(name string) bool {
	_, p := g.Producer(name)
	return p != nil && (p.Op == OpConst || p.Op == OpConstShape)
}

// ---------------------------------------------------------------------------------------------
// Tensor data helpers: build and read the raw little-endian data vectors.

// Int8Data encodes int8 values.
func Int8Data(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// BoolData encodes bools as 0/1 bytes.
func BoolData(v []bool) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		if x {
			b[i] = 1
		}
	}
	return b
}

// Int4Data packs int4 values two per byte (element 2i in the low nibble).
func Int4Data(v []int8) []byte {
	b := make([]byte, (len(v)+1)/2)
	for i, x := range v {
		n := byte(x) & 0xf
		if i%2 == 1 {
			n <<= 4
		}
		b[i/2] |= n
	}
	return b
}

// Int16Data encodes int16 values.
func Int16Data(v []int16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(x))
	}
	return b
}

// Int32Data encodes int32 values.
func Int32Data(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// Int48Data encodes the low 48 bits of each value, 6 bytes each.
func Int48Data(v []int64) []byte {
	b := make([]byte, 6*len(v))
	for i, x := range v {
		u := uint64(x)
		for k := 0; k < 6; k++ {
			b[6*i+k] = byte(u >> (8 * k))
		}
	}
	return b
}

// Int64Data encodes int64 values (the SHAPE element encoding).
func Int64Data(v []int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

// ShapeData encodes shape_t values (int64).
func ShapeData(v ...int64) []byte { return Int64Data(v) }

// FP32Data encodes float32 values.
func FP32Data(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// IntData encodes values as elements of integer type t (BOOL, INT4..INT48, SHAPE), keeping the
// low bits of each value.
func IntData(t DType, v []int64) ([]byte, error) {
	switch t {
	case Bool:
		b := make([]byte, len(v))
		for i, x := range v {
			if x != 0 {
				b[i] = 1
			}
		}
		return b, nil
	case Int4:
		s := make([]int8, len(v))
		for i, x := range v {
			s[i] = int8(x)
		}
		return Int4Data(s), nil
	case Int8:
		b := make([]byte, len(v))
		for i, x := range v {
			b[i] = byte(x)
		}
		return b, nil
	case Int16:
		b := make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(x))
		}
		return b, nil
	case Int32:
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return b, nil
	case Int48:
		return Int48Data(v), nil
	case Shape:
		return Int64Data(v), nil
	}
	return nil, fmt.Errorf("IntData: %v is not an integer type", t)
}

// checkData verifies that t.Data holds exactly the elements its shape implies.
func (t *Tensor) checkData(want DType) error {
	if want != DTypeUnknown && t.Type != want {
		return fmt.Errorf("tensor %q: type %v, want %v", t.Name, t.Type, want)
	}
	n := t.Type.DataSize(t.NumElements())
	if n < 0 {
		return fmt.Errorf("tensor %q: no data encoding for type %v", t.Name, t.Type)
	}
	if len(t.Data) < n {
		return fmt.Errorf("tensor %q: %d data bytes, shape %v of %v needs %d", t.Name, len(t.Data), t.Shape, t.Type, n)
	}
	return nil
}

// Ints decodes the data of an integer tensor (BOOL, INT4..INT48, SHAPE) into sign-extended
// int64 values, one per element of the shape.
func (t *Tensor) Ints() ([]int64, error) {
	if err := t.checkData(DTypeUnknown); err != nil {
		return nil, err
	}
	n := t.NumElements()
	r := make([]int64, n)
	d := t.Data
	switch t.Type {
	case Bool:
		for i := range r {
			if d[i] != 0 {
				r[i] = 1
			}
		}
	case Int4:
		for i := range r {
			nib := d[i/2]
			if i%2 == 1 {
				nib >>= 4
			}
			r[i] = int64(int8(nib<<4) >> 4)
		}
	case Int8:
		for i := range r {
			r[i] = int64(int8(d[i]))
		}
	case Int16:
		for i := range r {
			r[i] = int64(int16(binary.LittleEndian.Uint16(d[2*i:])))
		}
	case Int32:
		for i := range r {
			r[i] = int64(int32(binary.LittleEndian.Uint32(d[4*i:])))
		}
	case Int48:
		for i := range r {
			var u uint64
			for k := 0; k < 6; k++ {
				u |= uint64(d[6*i+k]) << (8 * k)
			}
			r[i] = int64(u<<16) >> 16
		}
	case Shape:
		for i := range r {
			r[i] = int64(binary.LittleEndian.Uint64(d[8*i:]))
		}
	default:
		return nil, fmt.Errorf("tensor %q: %v is not an integer type", t.Name, t.Type)
	}
	return r, nil
}

// Int8s decodes an INT8 tensor's data.
func (t *Tensor) Int8s() ([]int8, error) {
	if err := t.checkData(Int8); err != nil {
		return nil, err
	}
	r := make([]int8, t.NumElements())
	for i := range r {
		r[i] = int8(t.Data[i])
	}
	return r, nil
}

// Int16s decodes an INT16 tensor's data.
func (t *Tensor) Int16s() ([]int16, error) {
	if err := t.checkData(Int16); err != nil {
		return nil, err
	}
	r := make([]int16, t.NumElements())
	for i := range r {
		r[i] = int16(binary.LittleEndian.Uint16(t.Data[2*i:]))
	}
	return r, nil
}

// Int32s decodes an INT32 tensor's data.
func (t *Tensor) Int32s() ([]int32, error) {
	if err := t.checkData(Int32); err != nil {
		return nil, err
	}
	r := make([]int32, t.NumElements())
	for i := range r {
		r[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return r, nil
}

// Int48s decodes an INT48 tensor's data (sign-extended).
func (t *Tensor) Int48s() ([]int64, error) {
	if err := t.checkData(Int48); err != nil {
		return nil, err
	}
	return t.Ints()
}

// Int64s decodes a SHAPE tensor's data.
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.checkData(Shape); err != nil {
		return nil, err
	}
	return t.Ints()
}

// FP32s decodes an FP32 tensor's data.
func (t *Tensor) FP32s() ([]float32, error) {
	if err := t.checkData(FP32); err != nil {
		return nil, err
	}
	r := make([]float32, t.NumElements())
	for i := range r {
		r[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return r, nil
}

// ---------------------------------------------------------------------------------------------
// Builder

// Builder constructs a Graph operator by operator. The first error (duplicate name, bad shape
// inference, unknown operand) sticks and is returned by Build; later calls do nothing.
//
//	b := tosa.NewBuilder()
//	x := b.Input("x", tosa.Int8, 1, 16, 16, 3)
//	w := b.AddConst("w", tosa.Int8, []int{8, 3, 3, 3}, tosa.Int8Data(ws))
//	...
//	acc := b.AddOp(tosa.OpConv2D, tosa.Attr{Pad: ..., AccType: tosa.Int32}, []string{x, w, bias, izp, wzp}, "acc", tosa.Int32)
//	b.Output(y)
//	g, err := b.Build()
type Builder struct {
	g   *Graph
	err error
}

// NewBuilder returns a builder of an empty graph.
func NewBuilder() *Builder { return &Builder{g: &Graph{}} }

// Err returns the first error so far.
func (b *Builder) Err() error { return b.err }

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

func (b *Builder) addTensor(name string, dt DType, shape []int, data []byte) bool {
	if b.err != nil {
		return false
	}
	if name == "" {
		b.fail("tosa builder: empty tensor name")
		return false
	}
	if b.g.Tensor(name) != nil {
		b.fail("tosa builder: duplicate tensor %q", name)
		return false
	}
	b.g.Tensors = append(b.g.Tensors, &Tensor{Name: name, Shape: append([]int{}, shape...), Type: dt, Data: data})
	return true
}

// Input declares a graph input tensor and returns its name.
func (b *Builder) Input(name string, dt DType, shape ...int) string {
	if b.addTensor(name, dt, shape, nil) {
		b.g.Inputs = append(b.g.Inputs, name)
	}
	return name
}

// AddConst adds a constant tensor and its CONST operator and returns its name. data holds the
// raw little-endian elements (see Int8Data, Int32Data, ...).
func (b *Builder) AddConst(name string, dt DType, shape []int, data []byte) string {
	if b.err == nil {
		if n := dt.DataSize(NumElements(shape)); n < 0 || len(data) != n {
			b.fail("tosa builder: const %q: %d data bytes for shape %v of %v (want %d)", name, len(data), shape, dt, n)
			return name
		}
	}
	if b.addTensor(name, dt, shape, data) {
		b.g.Ops = append(b.g.Ops, &Operator{Op: OpConst, Outputs: []string{name}})
	}
	return name
}

// AddConstShape adds a SHAPE constant [len(vals)] and its CONST_SHAPE operator.
func (b *Builder) AddConstShape(name string, vals ...int64) string {
	if b.addTensor(name, Shape, []int{len(vals)}, Int64Data(vals)) {
		b.g.Ops = append(b.g.Ops, &Operator{Op: OpConstShape, Outputs: []string{name}})
	}
	return name
}

// AddOp appends an operator with one output tensor named out of type outType, whose shape is
// inferred from the inputs and attributes (InferShape). It returns out.
func (b *Builder) AddOp(op Op, attr Attr, inputs []string, out string, outType DType) string {
	if b.err != nil {
		return out
	}
	o := &Operator{Op: op, Attr: attr, Inputs: append([]string{}, inputs...), Outputs: []string{out}}
	shape, err := InferShape(b.g, o)
	if err != nil {
		b.fail("tosa builder: op %d %v -> %q: %v", len(b.g.Ops), op, out, err)
		return out
	}
	return b.AddOpShaped(op, attr, inputs, out, outType, shape)
}

// AddOpShaped is AddOp with an explicit output shape (checked later by Validate).
func (b *Builder) AddOpShaped(op Op, attr Attr, inputs []string, out string, outType DType, shape []int) string {
	if b.err != nil {
		return out
	}
	for _, in := range inputs {
		if b.g.Tensor(in) == nil {
			b.fail("tosa builder: op %d %v: unknown input tensor %q", len(b.g.Ops), op, in)
			return out
		}
	}
	if b.addTensor(out, outType, shape, nil) {
		b.g.Ops = append(b.g.Ops, &Operator{Op: op, Attr: attr, Inputs: append([]string{}, inputs...), Outputs: []string{out}})
	}
	return out
}

// Output marks tensors as graph outputs.
func (b *Builder) Output(names ...string) {
	for _, n := range names {
		if b.err == nil && b.g.Tensor(n) == nil {
			b.fail("tosa builder: unknown output tensor %q", n)
		}
	}
	if b.err == nil {
		b.g.Outputs = append(b.g.Outputs, names...)
	}
}

// Graph returns the graph built so far (without validation).
func (b *Builder) Graph() *Graph { return b.g }

// Build validates and returns the graph.
func (b *Builder) Build() (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := b.g.Validate(); err != nil {
		return nil, err
	}
	return b.g, nil
}
