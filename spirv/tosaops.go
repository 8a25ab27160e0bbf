package spirv

import (
	"fmt"

	"github.com/vgfq/vgfq/tosa"
)

// attrKind is how a TOSA attribute is encoded as an OpExtInst operand.
type attrKind uint8

const (
	attrU32  attrKind = iota // OpConstant of OpTypeInt 32 0 (axis, enums)
	attrBool                 // OpConstantTrue / OpConstantFalse
	attrList                 // rank-1 OpTypeInt 32 0 tensor constant (pad, stride, kernel, perms, ...)
	attrElem                 // scalar constant of the op's element type (CLAMP min/max)
)

// attrSpec is one attribute operand of a TOSA extended instruction.
type attrSpec struct {
	name string
	kind attrKind
	// exactly one accessor group is set, by kind
	getU func(a *tosa.Attr) (uint32, error)
	setU func(a *tosa.Attr, v uint32) error
	b    func(a *tosa.Attr) *bool
	list func(a *tosa.Attr) *[]int
	elem func(a *tosa.Attr) *[]byte
}

// opSpec describes one TOSA.001000.1 extended instruction: its attribute operands (first, in
// grammar order) and its TOSA inputs (after them, in tosa.Operator.Inputs order).
type opSpec struct {
	op      tosa.Op
	ext     uint32 // extended instruction number
	attrs   []attrSpec
	nIn     int // number of inputs; -1: variadic (>= 1)
	nOut    int
	constIn uint32 // bit i: input i is a former attribute that must be a constant (zero points, shift, padding, ...)
	shapeIn uint32 // bit i: input i is shape_t in TOSA (a rank-1 OpTypeInt 32 0 tensor in SPIR-V)
}

func bits(pos ...int) uint32 {
	var m uint32
	for _, p := range pos {
		m |= 1 << p
	}
	return m
}

func u32Attr(name string, get func(a *tosa.Attr) uint32, set func(a *tosa.Attr, v uint32)) attrSpec {
	return attrSpec{name: name, kind: attrU32,
		getU: func(a *tosa.Attr) (uint32, error) { return get(a), nil },
		setU: func(a *tosa.Attr, v uint32) error { set(a, v); return nil }}
}

var (
	aAxis = attrSpec{name: "axis", kind: attrU32,
		getU: func(a *tosa.Attr) (uint32, error) {
			if a.Axis < 0 || a.Axis > 1<<30 {
				return 0, fmt.Errorf("axis %d out of range", a.Axis)
			}
			return uint32(a.Axis), nil
		},
		setU: func(a *tosa.Attr, v uint32) error {
			if v > 1<<30 {
				return fmt.Errorf("axis %d out of range", v)
			}
			a.Axis = int(v)
			return nil
		}}
	aNan = u32Attr("nan_mode", func(a *tosa.Attr) uint32 { return uint32(a.NanMode) },
		func(a *tosa.Attr, v uint32) { a.NanMode = tosa.NanMode(v) })
	aMode = u32Attr("mode", func(a *tosa.Attr) uint32 { return uint32(a.Mode) },
		func(a *tosa.Attr, v uint32) { a.Mode = tosa.ResizeMode(v) })
	aRounding = u32Attr("rounding_mode", func(a *tosa.Attr) uint32 { return uint32(a.RoundingMode) },
		func(a *tosa.Attr, v uint32) { a.RoundingMode = tosa.RoundingMode(v) })
	aAcc = attrSpec{name: "acc_type", kind: attrU32,
		getU: func(a *tosa.Attr) (uint32, error) {
			for i, t := range accTypes {
				if t == a.AccType && i > 0 {
					return uint32(i), nil
				}
			}
			return 0, fmt.Errorf("acc_type %v has no acc_type_t encoding", a.AccType)
		},
		setU: func(a *tosa.Attr, v uint32) error {
			if v == 0 || int(v) >= len(accTypes) {
				return fmt.Errorf("acc_type_t value %d unknown", v)
			}
			a.AccType = accTypes[v]
			return nil
		}}
	aLocalBound = attrSpec{name: "local_bound", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.LocalBound }}
	aInverse    = attrSpec{name: "inverse", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.Inverse }}
	aRound      = attrSpec{name: "round", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.Round }}
	aScale32    = attrSpec{name: "scale32", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.Scale32 }}
	aPerChannel = attrSpec{name: "per_channel", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.PerChannel }}
	aInUnsigned = attrSpec{name: "input_unsigned", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.InputUnsigned }}
	aOutUnsign  = attrSpec{name: "output_unsigned", kind: attrBool, b: func(a *tosa.Attr) *bool { return &a.OutputUnsigned }}
	aPad        = attrSpec{name: "pad", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.Pad }}
	aStride     = attrSpec{name: "stride", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.Stride }}
	aDilation   = attrSpec{name: "dilation", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.Dilation }}
	aKernel     = attrSpec{name: "kernel", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.Kernel }}
	aOutPad     = attrSpec{name: "out_pad", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.OutPad }}
	aPerms      = attrSpec{name: "perms", kind: attrList, list: func(a *tosa.Attr) *[]int { return &a.Perms }}
	aMin        = attrSpec{name: "min_val", kind: attrElem, elem: func(a *tosa.Attr) *[]byte { return &a.ClampMin }}
	aMax        = attrSpec{name: "max_val", kind: attrElem, elem: func(a *tosa.Attr) *[]byte { return &a.ClampMax }}
)

// accTypes maps acc_type_t values (index) to TOSA DTypes: INT32=1, FP16=2, FP32=3, INT48=4.
var accTypes = [...]tosa.DType{tosa.DTypeUnknown, tosa.Int32, tosa.FP16, tosa.FP32, tosa.Int48}

func attrs(a ...attrSpec) []attrSpec { return a }

// opSpecs is indexed by extended instruction number (TOSA.001000.1 grammar order).
var opSpecs = func() []opSpec {
	conv := attrs(aPad, aStride, aDilation, aAcc, aLocalBound)
	s := []opSpec{
		{op: tosa.OpArgMax, attrs: attrs(aAxis, aNan), nIn: 1},
		{op: tosa.OpAvgPool2D, attrs: attrs(aKernel, aStride, aPad, aAcc), nIn: 3, constIn: bits(1, 2)},
		{op: tosa.OpConv2D, attrs: conv, nIn: 5, constIn: bits(3, 4)},
		{op: tosa.OpConv3D, attrs: conv, nIn: 5, constIn: bits(3, 4)},
		{op: tosa.OpDepthwiseConv2D, attrs: conv, nIn: 5, constIn: bits(3, 4)},
		{op: tosa.OpFFT2D, attrs: attrs(aInverse, aLocalBound), nIn: 2, nOut: 2},
		{op: tosa.OpMatMul, nIn: 4, constIn: bits(2, 3)},
		{op: tosa.OpMaxPool2D, attrs: attrs(aKernel, aStride, aPad, aNan), nIn: 1},
		{op: tosa.OpRFFT2D, attrs: attrs(aLocalBound), nIn: 1, nOut: 2},
		{op: tosa.OpTransposeConv2D, attrs: attrs(aOutPad, aStride, aAcc, aLocalBound), nIn: 5, constIn: bits(3, 4)},
		{op: tosa.OpClamp, attrs: attrs(aMin, aMax, aNan), nIn: 1},
		{op: tosa.OpErf, nIn: 1},
		{op: tosa.OpSigmoid, nIn: 1},
		{op: tosa.OpTanh, nIn: 1},
		{op: tosa.OpAdd, nIn: 2},
		{op: tosa.OpArithmeticRightShift, attrs: attrs(aRound), nIn: 2},
		{op: tosa.OpBitwiseAnd, nIn: 2},
		{op: tosa.OpBitwiseOr, nIn: 2},
		{op: tosa.OpBitwiseXor, nIn: 2},
		{op: tosa.OpIntDiv, nIn: 2},
		{op: tosa.OpLogicalAnd, nIn: 2},
		{op: tosa.OpLogicalLeftShift, nIn: 2},
		{op: tosa.OpLogicalRightShift, nIn: 2},
		{op: tosa.OpLogicalOr, nIn: 2},
		{op: tosa.OpLogicalXor, nIn: 2},
		{op: tosa.OpMaximum, attrs: attrs(aNan), nIn: 2},
		{op: tosa.OpMinimum, attrs: attrs(aNan), nIn: 2},
		{op: tosa.OpMul, nIn: 3, constIn: bits(2)},
		{op: tosa.OpPow, nIn: 2},
		{op: tosa.OpSub, nIn: 2},
		{op: tosa.OpTable, nIn: 2},
		{op: tosa.OpAbs, nIn: 1},
		{op: tosa.OpBitwiseNot, nIn: 1},
		{op: tosa.OpCeil, nIn: 1},
		{op: tosa.OpClz, nIn: 1},
		{op: tosa.OpCos, nIn: 1},
		{op: tosa.OpExp, nIn: 1},
		{op: tosa.OpFloor, nIn: 1},
		{op: tosa.OpLog, nIn: 1},
		{op: tosa.OpLogicalNot, nIn: 1},
		{op: tosa.OpNegate, nIn: 3, constIn: bits(1, 2)},
		{op: tosa.OpReciprocal, nIn: 1},
		{op: tosa.OpRsqrt, nIn: 1},
		{op: tosa.OpSin, nIn: 1},
		{op: tosa.OpSelect, nIn: 3},
		{op: tosa.OpEqual, nIn: 2},
		{op: tosa.OpGreater, nIn: 2},
		{op: tosa.OpGreaterEqual, nIn: 2},
		{op: tosa.OpReduceAll, attrs: attrs(aAxis), nIn: 1},
		{op: tosa.OpReduceAny, attrs: attrs(aAxis), nIn: 1},
		{op: tosa.OpReduceMax, attrs: attrs(aAxis, aNan), nIn: 1},
		{op: tosa.OpReduceMin, attrs: attrs(aAxis, aNan), nIn: 1},
		{op: tosa.OpReduceProduct, attrs: attrs(aAxis), nIn: 1},
		{op: tosa.OpReduceSum, attrs: attrs(aAxis), nIn: 1},
		{op: tosa.OpConcat, attrs: attrs(aAxis), nIn: -1},
		{op: tosa.OpPad, nIn: 3, constIn: bits(1, 2), shapeIn: bits(1)},
		{op: tosa.OpReshape, nIn: 2, constIn: bits(1), shapeIn: bits(1)},
		{op: tosa.OpReverse, attrs: attrs(aAxis), nIn: 1},
		{op: tosa.OpSlice, nIn: 3, constIn: bits(1, 2), shapeIn: bits(1, 2)},
		{op: tosa.OpTile, nIn: 2, constIn: bits(1), shapeIn: bits(1)},
		{op: tosa.OpTranspose, attrs: attrs(aPerms), nIn: 1},
		{op: tosa.OpGather, nIn: 2},
		{op: tosa.OpScatter, nIn: 3},
		{op: tosa.OpResize, attrs: attrs(aMode), nIn: 4, constIn: bits(1, 2, 3), shapeIn: bits(1, 2, 3)},
		{op: tosa.OpCast, nIn: 1},
		{op: tosa.OpRescale, attrs: attrs(aScale32, aRounding, aPerChannel, aInUnsigned, aOutUnsign), nIn: 5, constIn: bits(1, 2, 3, 4)},
	}
	for i := range s {
		s[i].ext = uint32(i)
		if s[i].nOut == 0 {
			s[i].nOut = 1
		}
		if uint32(s[i].op) != uint32(i)+1 {
			panic(fmt.Sprintf("spirv: op table entry %d is %v", i, s[i].op))
		}
	}
	return s
}()

// specOf returns the extended-instruction description of a TOSA op.
func specOf(op tosa.Op) (*opSpec, bool) {
	i := int(op) - 1
	if i < 0 || i >= len(opSpecs) {
		return nil, false
	}
	return &opSpecs[i], true
}

// ExtInstName returns the TOSA.001000.1 instruction name of an extended instruction number.
func ExtInstName(n uint32) string {
	if int(n) < len(opSpecs) {
		return opSpecs[n].op.String()
	}
	return fmt.Sprintf("TOSA_%d", n)
}

// operandCount returns the number of OpExtInst operands (after the instruction number) of an op
// with nIn inputs.
func (s *opSpec) operandCount(nIn int) int { return len(s.attrs) + nIn }
