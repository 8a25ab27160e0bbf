// Package ref is a bit-exact reference interpreter of TOSA 1.0 integer graphs (PRO-INT plus
// the EXT-INT16 and EXT-DOUBLEROUND rows of the operators below). Each operator is written to
// read like the specification pseudocode (arm/tosa-specification v1.0, pseudocode/**.tosac;
// summarised in shared/reference/tosa.md §2): the same loops, the same helper names
// (apply_scale_32 → applyScale32, apply_add_s → applyAddS, ...), the same ERROR_IF and REQUIRE
// conditions. A failed ERROR_IF makes the graph status ERROR, a failed REQUIRE makes it
// UNPREDICTABLE; both are returned as an *OpError naming the operator.
//
// Supported operators: CONST, CONST_SHAPE, CONV2D, DEPTHWISE_CONV2D, TRANSPOSE_CONV2D, RESCALE,
// RESIZE, CLAMP, ADD, SUB, MUL, TABLE, ARITHMETIC_RIGHT_SHIFT, AVG_POOL2D, MAX_POOL2D, CONCAT,
// RESHAPE, TRANSPOSE, PAD, SLICE, CAST, IDENTITY, MAXIMUM, MINIMUM.
//
// Values are held as int64 per element (sign-extended; INT48 fits), which is wide enough for
// every intermediate of these operators, so the int32/int48 overflow REQUIREs are checked
// explicitly rather than relied upon.
package ref

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/vgfq/vgfq/tosa"
)

// Value is a tensor value during interpretation: shape, element type and one sign-extended
// int64 per element in row-major order (BOOL is 0/1; SHAPE holds the int64 values).
type Value struct {
	Shape []int
	Type  tosa.DType
	Data  []int64
}

// FromTensor decodes a tensor's raw data into a Value.
func FromTensor(t *tosa.Tensor) (*Value, error) {
	d, err := t.Ints()
	if err != nil {
		return nil, err
	}
	return &Value{Shape: slices.Clone(t.Shape), Type: t.Type, Data: d}, nil
}

// Tensor encodes v as a tosa.Tensor named name (raw little-endian data).
func (v *Value) Tensor(name string) (*tosa.Tensor, error) {
	d, err := tosa.IntData(v.Type, v.Data)
	if err != nil {
		return nil, err
	}
	return &tosa.Tensor{Name: name, Shape: slices.Clone(v.Shape), Type: v.Type, Data: d}, nil
}

// Status is a graph status of the specification.
type Status int

// Graph statuses.
const (
	Valid         Status = iota
	Unpredictable        // a REQUIRE (or level check) failed
	Error                // an ERROR_IF was true
)

func (s Status) String() string {
	return [...]string{"VALID", "UNPREDICTABLE", "ERROR"}[s]
}

// OpError reports a failed ERROR_IF / REQUIRE (or another failure) of one operator.
type OpError struct {
	Index  int     // operator index in the graph
	Op     tosa.Op // the operator
	Output string  // its (first) output tensor
	Status Status
	Msg    string
}

func (e *OpError) Error() string {
	kind := "REQUIRE"
	if e.Status == Error {
		kind = "ERROR_IF"
	}
	return fmt.Sprintf("tosa/ref: op %d %v -> %q: %s failed: %s", e.Index, e.Op, e.Output, kind, e.Msg)
}

// violation is raised (panicked) by errorIf / require inside an operator and turned into an
// *OpError by Run; it never escapes the package.
type violation struct {
	status Status
	msg    string
}

// errorIf is the specification's ERROR_IF(cond).
func errorIf(cond bool, format string, args ...any) {
	if cond {
		panic(violation{Error, fmt.Sprintf(format, args...)})
	}
}

// require is the specification's REQUIRE(cond); msg is constant so that hot loops do not
// format anything.
func require(cond bool, msg string) {
	if !cond {
		panic(violation{Unpredictable, msg})
	}
}

// Run executes g on the named inputs (raw tensors of the graph inputs' types and shapes) and
// returns the graph outputs by name. The graph is validated first (tosa.Graph.Validate).
func Run(g *tosa.Graph, inputs map[string]*tosa.Tensor) (map[string]*tosa.Tensor, error) {
	vin := make(map[string]*Value, len(inputs))
	for name, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("tosa/ref: input %q is nil", name)
		}
		v, err := FromTensor(t)
		if err != nil {
			return nil, fmt.Errorf("tosa/ref: input %q: %w", name, err)
		}
		vin[name] = v
	}
	vout, err := RunValues(g, vin)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*tosa.Tensor, len(vout))
	for name, v := range vout {
		t, err := v.Tensor(name)
		if err != nil {
			return nil, fmt.Errorf("tosa/ref: output %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// MaxElements caps the element count of any tensor RunValues materialises (values are held as
// int64, 8 bytes each), so that a hostile graph within the 8K level limits cannot exhaust
// memory. Raise it to run larger graphs.
var MaxElements = 1 << 26

// RunValues is Run on Values.
func RunValues(g *tosa.Graph, inputs map[string]*Value) (map[string]*Value, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	decl := g.TensorMap()
	for _, t := range g.Tensors {
		if n := tosa.NumElements(t.Shape); n > MaxElements {
			return nil, fmt.Errorf("tosa/ref: tensor %q has %d elements, more than MaxElements (%d)", t.Name, n, MaxElements)
		}
	}
	env := make(map[string]*Value, len(g.Tensors))
	for _, name := range g.Inputs {
		v := inputs[name]
		t := decl[name]
		if v == nil {
			return nil, fmt.Errorf("tosa/ref: missing graph input %q", name)
		}
		if v.Type != t.Type || !slices.Equal(v.Shape, t.Shape) {
			return nil, fmt.Errorf("tosa/ref: input %q is %v %v, graph declares %v %v", name, v.Type, v.Shape, t.Type, t.Shape)
		}
		if len(v.Data) != tosa.NumElements(v.Shape) {
			return nil, fmt.Errorf("tosa/ref: input %q has %d elements, shape %v needs %d", name, len(v.Data), v.Shape, tosa.NumElements(v.Shape))
		}
		lo, hi := v.Type.MinMax()
		for i, x := range v.Data {
			if x < lo || x > hi {
				return nil, fmt.Errorf("tosa/ref: input %q element %d = %d is outside %v", name, i, x, v.Type)
			}
		}
		env[name] = v
	}
	for name := range inputs {
		if !slices.Contains(g.Inputs, name) {
			return nil, fmt.Errorf("tosa/ref: %q is not a graph input (inputs: %v)", name, g.Inputs)
		}
	}
	for i, op := range g.Ops {
		in := make([]*Value, len(op.Inputs))
		for k, n := range op.Inputs {
			in[k] = env[n]
		}
		t := decl[op.Outputs[0]]
		out := &Value{Shape: slices.Clone(t.Shape), Type: t.Type}
		if err := execOp(op, in, out, t); err != nil {
			err.Index, err.Op, err.Output = i, op.Op, t.Name
			return nil, err
		}
		env[t.Name] = out
	}
	res := make(map[string]*Value, len(g.Outputs))
	for _, n := range g.Outputs {
		res[n] = env[n]
	}
	return res, nil
}

// execOp runs one operator, turning violations (and any other panic) into an *OpError.
func execOp(op *tosa.Operator, in []*Value, out *Value, decl *tosa.Tensor) (err *OpError) {
	defer func() {
		if p := recover(); p != nil {
			if v, ok := p.(violation); ok {
				err = &OpError{Status: v.status, Msg: v.msg}
				return
			}
			err = &OpError{Status: Error, Msg: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	f := ops[op.Op]
	if f == nil {
		return &OpError{Status: Error, Msg: "operator not supported by the reference interpreter"}
	}
	if op.Op != tosa.OpConst && op.Op != tosa.OpConstShape {
		out.Data = make([]int64, tosa.NumElements(out.Shape))
	}
	f(&op.Attr, in, out, decl)
	return nil
}

type opFunc func(a *tosa.Attr, in []*Value, out *Value, decl *tosa.Tensor)

var ops map[tosa.Op]opFunc

func init() {
	ops = map[tosa.Op]opFunc{
		tosa.OpConst:                constOp,
		tosa.OpConstShape:           constOp,
		tosa.OpConv2D:               conv2d,
		tosa.OpDepthwiseConv2D:      depthwiseConv2d,
		tosa.OpTransposeConv2D:      transposeConv2d,
		tosa.OpRescale:              rescale,
		tosa.OpResize:               resize,
		tosa.OpClamp:                clamp,
		tosa.OpAdd:                  add,
		tosa.OpSub:                  sub,
		tosa.OpMaximum:              maximum,
		tosa.OpMinimum:              minimum,
		tosa.OpMul:                  mul,
		tosa.OpTable:                table,
		tosa.OpArithmeticRightShift: arithmeticRightShift,
		tosa.OpAvgPool2D:            avgPool2d,
		tosa.OpMaxPool2D:            maxPool2d,
		tosa.OpConcat:               concat,
		tosa.OpReshape:              reshape,
		tosa.OpTranspose:            transpose,
		tosa.OpPad:                  pad,
		tosa.OpSlice:                slice,
		tosa.OpCast:                 cast,
		tosa.OpIdentity:             identity,
	}
}

// =============================================================================================
// Helpers of the specification (arithmetic_helpers, scale_helpers, generic_helpers)

const (
	minInt32 = math.MinInt32
	maxInt32 = math.MaxInt32
	minInt48 = -(int64(1) << 47)
	maxInt48 = int64(1)<<47 - 1
)

// accRange is the range of an accumulator type (INT32 or INT48).
func accRange(t tosa.DType) (int64, int64) {
	if t == tosa.Int48 {
		return minInt48, maxInt48
	}
	return minInt32, maxInt32
}

// applyAddS is apply_add_s<acc_t>: the sum must fit acc_t (REQUIRE).
func applyAddS(a, b, lo, hi int64) int64 {
	r := a + b
	require(r >= lo && r <= hi, "apply_add_s: result overflows the accumulator type")
	return r
}

// applySubS is apply_sub_s<acc_t>.
func applySubS(a, b, lo, hi int64) int64 {
	r := a - b
	require(r >= lo && r <= hi, "apply_sub_s: result overflows the accumulator type")
	return r
}

// applyClipS is apply_clip_s(value, min, max).
func applyClipS(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// ApplyScale32 is apply_scale_32(value, multiplier, shift, double_round): round-half-up of
// value*multiplier*2^-shift, with the double-rounding correction for shift > 31. It returns
// an error (UNPREDICTABLE) when a REQUIRE fails: multiplier < 0, shift outside [2, 62], value
// outside [-2^(shift-1), 2^(shift-1)), or a result outside int32.
func ApplyScale32(value, multiplier int32, shift int8, doubleRound bool) (r int32, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, ok := p.(violation)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("%s", v.msg)
		}
	}()
	return applyScale32(int64(value), int64(multiplier), int64(shift), doubleRound), nil
}

func applyScale32(value, multiplier, shift int64, doubleRound bool) int32 {
	require(multiplier >= 0, "apply_scale_32: multiplier < 0")
	require(2 <= shift && shift <= 62, "apply_scale_32: shift outside [2, 62]")
	require(value >= minInt32 && value <= maxInt32, "apply_scale_32: value does not fit int32")
	require(value >= -(int64(1)<<(shift-1)) && value < int64(1)<<(shift-1), "apply_scale_32: value outside [-2^(shift-1), 2^(shift-1))")
	round := int64(1) << (shift - 1)
	if doubleRound && shift > 31 {
		if value >= 0 {
			round += 1 << 30
		} else {
			round -= 1 << 30
		}
	}
	result := (value*multiplier + round) >> shift
	require(result >= minInt32 && result <= maxInt32, "apply_scale_32: result does not fit int32")
	return int32(result)
}

// ApplyScale16 is apply_scale_16(int48 value, int16 multiplier, shift).
func ApplyScale16(value int64, multiplier int16, shift int8) (r int32, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, ok := p.(violation)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("%s", v.msg)
		}
	}()
	return applyScale16(value, int64(multiplier), int64(shift)), nil
}

func applyScale16(value, multiplier, shift int64) int32 {
	require(multiplier >= 0, "apply_scale_16: multiplier < 0")
	require(2 <= shift && shift <= 62, "apply_scale_16: shift outside [2, 62]")
	require(value >= minInt48 && value <= maxInt48, "apply_scale_16: value does not fit int48")
	round := int64(1) << (shift - 1)
	result := (value*multiplier + round) >> shift
	require(result >= minInt32 && result <= maxInt32, "apply_scale_16: result does not fit int32")
	return int32(result)
}

// ReciprocalScale is reciprocal_scale(count) used by AVG_POOL2D: multiplier and shift with
// multiplier*2^-shift ≈ 1/count.
func ReciprocalScale(count int) (multiplier int32, shift int8) {
	if count <= 0 || count > 1<<30 {
		return 0, 0
	}
	k := 32 - bits.LeadingZeros32(uint32(count-1)) // (1<<k)/2 < count <= (1<<k)
	numerator := (int64(1)<<30 + 1) << k
	return int32(numerator / int64(count)), int8(30 + k)
}

// zp returns the single value of a zero-point operand.
func zp(v *Value) int64 { return v.Data[0] }

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// forEachIndex calls f with every index of shape in row-major order and its linear position.
func forEachIndex(shape []int, f func(index []int, pos int)) {
	n := tosa.NumElements(shape)
	index := make([]int, len(shape))
	for pos := 0; pos < n; pos++ {
		f(index, pos)
		for d := len(shape) - 1; d >= 0; d-- {
			index[d]++
			if index[d] < shape[d] {
				break
			}
			index[d] = 0
		}
	}
}

// offset returns the linear position of index in a tensor with strides st; applyBroadcast
// (size-1 dimensions read index 0) when shape is given.
func offsetBroadcast(index, shape, st []int) int {
	p := 0
	for d, i := range index {
		if shape[d] != 1 {
			p += i * st[d]
		}
	}
	return p
}

// =============================================================================================
// Operators

// CONST / CONST_SHAPE: the output is the tensor's data.
func constOp(_ *tosa.Attr, _ []*Value, out *Value, decl *tosa.Tensor) {
	d, err := decl.Ints()
	errorIf(err != nil, "constant data: %v", err)
	out.Data = d
}

// CONV2D (input [N,IH,IW,IC], weight [OC,KH,KW,IC], bias [BC], input_zp, weight_zp).
func conv2d(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, weight, bias := in[0], in[1], in[2]
	inputZp, weightZp := zp(in[3]), zp(in[4])
	N, IH, IW, IC := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	OC, KH, KW := weight.Shape[0], weight.Shape[1], weight.Shape[2]
	OH, OW, BC := out.Shape[1], out.Shape[2], bias.Shape[0]
	padTop, padBottom, padLeft, padRight := a.Pad[0], a.Pad[1], a.Pad[2], a.Pad[3]
	strideY, strideX, dilationY, dilationX := a.Stride[0], a.Stride[1], a.Dilation[0], a.Dilation[1]
	errorIf(input.Type != tosa.Int8 && inputZp != 0, "input_zp %d for %v input", inputZp, input.Type)
	errorIf(weight.Type != tosa.Int8 && weightZp != 0, "weight_zp %d for %v weight", weightZp, weight.Type)
	errorIf(padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0, "pad %v < 0", a.Pad)
	errorIf(strideY < 1 || strideX < 1, "stride %v < 1", a.Stride)
	errorIf(dilationY < 1 || dilationX < 1, "dilation %v < 1", a.Dilation)
	errorIf(BC != OC && BC != 1, "bias has %d values for %d channels", BC, OC)
	lo, hi := accRange(out.Type)
	for n := range N {
		for oy := range OH {
			for ox := range OW {
				for oc := range OC {
					acc := int64(0)
					iy := oy*strideY - padTop
					ix := ox*strideX - padLeft
					for ky := range KH {
						y := iy + ky*dilationY
						if y < 0 || y >= IH {
							continue // padding contributes value 0
						}
						for kx := range KW {
							x := ix + kx*dilationX
							if x < 0 || x >= IW {
								continue
							}
							inBase := ((n*IH+y)*IW + x) * IC
							wBase := ((oc*KH+ky)*KW + kx) * IC
							inRow, wRow := input.Data[inBase:inBase+IC], weight.Data[wBase:wBase+IC]
							for ic, v := range inRow {
								value := v - inputZp
								w := wRow[ic] - weightZp
								acc = applyAddS(acc, value*w, lo, hi)
							}
						}
					}
					b := bias.Data[0]
					if BC != 1 {
						b = bias.Data[oc]
					}
					acc = applyAddS(acc, b, lo, hi)
					out.Data[((n*OH+oy)*OW+ox)*OC+oc] = acc
				}
			}
		}
	}
}

// DEPTHWISE_CONV2D (input [N,IH,IW,C], weight [KH,KW,C,M], bias [BC]).
func depthwiseConv2d(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, weight, bias := in[0], in[1], in[2]
	inputZp, weightZp := zp(in[3]), zp(in[4])
	N, IH, IW, C := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	KH, KW, M := weight.Shape[0], weight.Shape[1], weight.Shape[3]
	OH, OW, BC := out.Shape[1], out.Shape[2], bias.Shape[0]
	padTop, padLeft := a.Pad[0], a.Pad[2]
	strideY, strideX, dilationY, dilationX := a.Stride[0], a.Stride[1], a.Dilation[0], a.Dilation[1]
	errorIf(input.Type != tosa.Int8 && inputZp != 0, "input_zp %d for %v input", inputZp, input.Type)
	errorIf(weight.Type != tosa.Int8 && weightZp != 0, "weight_zp %d for %v weight", weightZp, weight.Type)
	errorIf(a.Pad[0] < 0 || a.Pad[1] < 0 || a.Pad[2] < 0 || a.Pad[3] < 0, "pad %v < 0", a.Pad)
	errorIf(strideY < 1 || strideX < 1, "stride %v < 1", a.Stride)
	errorIf(dilationY < 1 || dilationX < 1, "dilation %v < 1", a.Dilation)
	errorIf(BC != C*M && BC != 1, "bias has %d values for %d channels", BC, C*M)
	lo, hi := accRange(out.Type)
	for n := range N {
		for oy := range OH {
			for ox := range OW {
				for c := range C {
					for m := range M {
						acc := int64(0)
						iy := oy*strideY - padTop
						ix := ox*strideX - padLeft
						for ky := range KH {
							y := iy + ky*dilationY
							if y < 0 || y >= IH {
								continue
							}
							for kx := range KW {
								x := ix + kx*dilationX
								if x < 0 || x >= IW {
									continue
								}
								value := input.Data[((n*IH+y)*IW+x)*C+c] - inputZp
								w := weight.Data[((ky*KW+kx)*C+c)*M+m] - weightZp
								acc = applyAddS(acc, value*w, lo, hi)
							}
						}
						b := bias.Data[0]
						if BC != 1 {
							b = bias.Data[c*M+m]
						}
						acc = applyAddS(acc, b, lo, hi)
						out.Data[((n*OH+oy)*OW+ox)*C*M+c*M+m] = acc
					}
				}
			}
		}
	}
}

// TRANSPOSE_CONV2D (input [N,IH,IW,IC], weight [OC,KH,KW,IC], bias [BC]).
func transposeConv2d(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, weight, bias := in[0], in[1], in[2]
	inputZp, weightZp := zp(in[3]), zp(in[4])
	N, IH, IW, IC := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	OC, KH, KW := weight.Shape[0], weight.Shape[1], weight.Shape[2]
	OH, OW, BC := out.Shape[1], out.Shape[2], bias.Shape[0]
	outPadTop, outPadBottom, outPadLeft, outPadRight := a.OutPad[0], a.OutPad[1], a.OutPad[2], a.OutPad[3]
	strideY, strideX := a.Stride[0], a.Stride[1]
	errorIf(input.Type != tosa.Int8 && inputZp != 0, "input_zp %d for %v input", inputZp, input.Type)
	errorIf(weight.Type != tosa.Int8 && weightZp != 0, "weight_zp %d for %v weight", weightZp, weight.Type)
	errorIf(outPadTop <= -KH || outPadBottom <= -KH, "out_pad %v", a.OutPad)
	errorIf(outPadLeft <= -KW || outPadRight <= -KW, "out_pad %v", a.OutPad)
	errorIf(strideY < 1 || strideX < 1, "stride %v < 1", a.Stride)
	errorIf(OH != (IH-1)*strideY+outPadTop+outPadBottom+KH, "OH %d", OH)
	errorIf(OW != (IW-1)*strideX+outPadLeft+outPadRight+KW, "OW %d", OW)
	errorIf(BC != OC && BC != 1, "bias has %d values for %d channels", BC, OC)
	lo, hi := accRange(out.Type)
	for n := range N {
		for oy := range OH {
			for ox := range OW {
				for oc := range OC {
					acc := int64(0)
					iy := oy - outPadTop
					ix := ox - outPadLeft
					for ky := range KH {
						y := iy - ky
						if y < 0 || y >= IH*strideY || y%strideY != 0 {
							continue
						}
						for kx := range KW {
							x := ix - kx
							if x < 0 || x >= IW*strideX || x%strideX != 0 {
								continue
							}
							inBase := ((n*IH+y/strideY)*IW + x/strideX) * IC
							wBase := ((oc*KH+ky)*KW + kx) * IC
							for ic := range IC {
								value := applySubS(input.Data[inBase+ic], inputZp, lo, hi)
								w := applySubS(weight.Data[wBase+ic], weightZp, lo, hi)
								acc = applyAddS(acc, value*w, lo, hi)
							}
						}
					}
					b := bias.Data[0]
					if BC != 1 {
						b = bias.Data[oc]
					}
					acc = applyAddS(acc, b, lo, hi)
					out.Data[((n*OH+oy)*OW+ox)*OC+oc] = acc
				}
			}
		}
	}
}

// RESCALE (input, multiplier, shift, input_zp, output_zp).
func rescale(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, multiplier, shift := in[0], in[1], in[2]
	inT, outT := input.Type, out.Type
	inputZp, outputZp := zp(in[3]), zp(in[4])
	inputUnsigned, outputUnsigned := a.InputUnsigned, a.OutputUnsigned
	// zero-extended views of the zero points (their bit patterns read as unsigned)
	inBits, outBits := uint(inT.Bits()), uint(outT.Bits())
	zext := func(v int64, b uint) int64 { return int64(uint64(v) & (uint64(1)<<b - 1)) }
	inZpU, outZpU := zext(inputZp, inBits), zext(outputZp, outBits)

	errorIf(inT != tosa.Int8 && (inT != tosa.Int16 || !inputUnsigned) && inputZp != 0, "input_zp %d for %v input", inputZp, inT)
	errorIf(outT != tosa.Int8 && (outT != tosa.Int16 || !outputUnsigned) && outputZp != 0, "output_zp %d for %v output", outputZp, outT)
	errorIf(inT == tosa.Int16 && inputUnsigned && inZpU != 0 && inZpU != 32768, "uint16 input_zp %d", inZpU)
	errorIf(outT == tosa.Int16 && outputUnsigned && outZpU != 0 && outZpU != 32768, "uint16 output_zp %d", outZpU)
	errorIf(a.Scale32 && inT == tosa.Int48, "scale32 with an INT48 input")
	errorIf(!a.Scale32 && a.RoundingMode == tosa.DoubleRound, "DOUBLE_ROUND without scale32")
	errorIf(a.RoundingMode != tosa.SingleRound && a.RoundingMode != tosa.DoubleRound, "rounding_mode %v is not supported", a.RoundingMode)
	errorIf(inputUnsigned && outputUnsigned, "input_unsigned and output_unsigned")
	errorIf(outT == tosa.Int32 && inputUnsigned, "input_unsigned with an INT32 output")
	errorIf(inT == tosa.Int32 && outputUnsigned, "output_unsigned with an INT32 input")
	errorIf(inT == tosa.Int48 && outputUnsigned, "output_unsigned with an INT48 input")
	errorIf(inT == tosa.Int48 && inputUnsigned, "input_unsigned with an INT48 input")
	errorIf(inT == tosa.Int32 && inputUnsigned, "input_unsigned with an INT32 input")
	errorIf(outT == tosa.Int32 && outputUnsigned, "output_unsigned with an INT32 output")
	errorIf(a.PerChannel && len(input.Shape) < 1, "per_channel with a rank-0 input")

	var outMin, outMax int64
	if outputUnsigned {
		outMin, outMax = 0, int64(1)<<outBits-1
	} else {
		outMin, outMax = outT.MinMax()
	}
	C := 1
	if len(input.Shape) > 0 {
		C = input.Shape[len(input.Shape)-1]
	}
	doubleRound := a.RoundingMode == tosa.DoubleRound
	for pos, inValue := range input.Data {
		var value, extendedInZp int64 // int48_t
		if inputUnsigned {
			value, extendedInZp = zext(inValue, inBits), inZpU
		} else {
			value, extendedInZp = inValue, inputZp
		}
		value = value - extendedInZp
		c := 0
		if a.PerChannel {
			c = pos % C
		}
		var result int64
		if a.Scale32 {
			result = int64(applyScale32(value, multiplier.Data[c], shift.Data[c], doubleRound))
		} else {
			result = int64(applyScale16(value, multiplier.Data[c], shift.Data[c]))
		}
		extendedOutZp := outputZp
		if outputUnsigned {
			extendedOutZp = outZpU
		}
		result = applyAddS(result, extendedOutZp, minInt32, maxInt32)
		r := applyClipS(result, outMin, outMax)
		if outputUnsigned && r > outMax>>1 {
			r -= int64(1) << outBits // store the unsigned value as its signed bit pattern
		}
		out.Data[pos] = r
	}
}

// RESIZE (input [N,IH,IW,C], scale, offset, border); NEAREST keeps in_t, BILINEAR gives acc_t.
func resize(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input := in[0]
	scale, offset, border := in[1].Data, in[2].Data, in[3].Data
	N, IH, IW, C := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	OH, OW := out.Shape[1], out.Shape[2]
	scaleYN, scaleYD, scaleXN, scaleXD := scale[0], scale[1], scale[2], scale[3]
	offsetY, offsetX, borderY, borderX := offset[0], offset[1], border[0], border[1]
	errorIf(max(OH, OW, IH, IW) >= 16384, "image size >= 16384")
	errorIf(scaleYN <= 0 || scaleYD <= 0 || scaleXN <= 0 || scaleXD <= 0, "scale %v <= 0", scale)
	errorIf(scaleYN > 1<<11 || scaleXN > 1<<11, "scale numerator > 2048")
	errorIf(scaleYD >= 16*scaleYN || scaleXD >= 16*scaleXN, "downscale by 16 or more")
	errorIf(offsetY < -scaleYN || offsetY >= 16*scaleYN, "offset_y %d", offsetY)
	errorIf(offsetX < -scaleXN || offsetX >= 16*scaleXN, "offset_x %d", offsetX)
	errorIf(borderY < -16*scaleYN || borderY >= scaleYN, "border_y %d", borderY)
	errorIf(borderX < -16*scaleXN || borderX >= scaleXN, "border_x %d", borderX)
	h := (int64(IH)-1)*scaleYN - offsetY + borderY
	w := (int64(IW)-1)*scaleXN - offsetX + borderX
	errorIf(h%scaleYD != 0 || int64(OH) != h/scaleYD+1, "OH %d does not match the scale", OH)
	errorIf(w%scaleXD != 0 || int64(OW) != w/scaleXD+1, "OW %d does not match the scale", OW)
	errorIf(a.Mode != tosa.ResizeNearest && a.Mode != tosa.ResizeBilinear, "mode %v", a.Mode)
	read := func(n, y, x, c int64) int64 { return input.Data[((n*int64(IH)+y)*int64(IW)+x)*int64(C)+c] }
	for n := range int64(N) {
		for oy := range int64(OH) {
			for ox := range int64(OW) {
				y := oy*scaleYD + offsetY
				x := ox*scaleXD + offsetX
				iy := idivFloor(y, scaleYN)
				ix := idivFloor(x, scaleXN)
				dy := y - iy*scaleYN // (y % scale_y_n)
				dx := x - ix*scaleXN
				iy0 := max(iy, 0)
				iy1 := min(iy+1, int64(IH)-1)
				ix0 := max(ix, 0)
				ix1 := min(ix+1, int64(IW)-1)
				base := ((n*int64(OH)+oy)*int64(OW) + ox) * int64(C)
				for c := range int64(C) {
					if a.Mode == tosa.ResizeBilinear {
						v00, v01 := read(n, iy0, ix0, c), read(n, iy0, ix1, c)
						v10, v11 := read(n, iy1, ix0, c), read(n, iy1, ix1, c)
						acc := v00 * (scaleYN - dy) * (scaleXN - dx)
						acc += v01 * (scaleYN - dy) * dx
						acc += v10 * dy * (scaleXN - dx)
						acc += v11 * dy * dx
						out.Data[base+c] = acc
					} else {
						ry, rx := iy0, ix0
						if 2*dy >= scaleYN {
							ry = iy1
						}
						if 2*dx >= scaleXN {
							rx = ix1
						}
						out.Data[base+c] = read(n, ry, rx, c)
					}
				}
			}
		}
	}
}

// idivFloor is idiv_floor: floor division.
func idivFloor(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// CLAMP: out = min(max(x, min_val), max_val).
func clamp(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	minVal, maxVal := clampBound(a.ClampMin, in[0].Type), clampBound(a.ClampMax, in[0].Type)
	errorIf(maxVal < minVal, "max_val %d < min_val %d", maxVal, minVal)
	for i, v := range in[0].Data {
		out.Data[i] = applyClipS(v, minVal, maxVal)
	}
}

// clampBound reads a CLAMP bound: the little-endian bytes of an in_out_t scalar.
func clampBound(b []byte, t tosa.DType) int64 {
	tt := &tosa.Tensor{Name: "clamp bound", Type: t, Data: b[:t.DataSize(1)]}
	v, err := tt.Ints()
	errorIf(err != nil, "bound: %v", err)
	return v[0]
}

// elementwise applies f over the broadcast of in1 and in2 into out.
func elementwise(in1, in2, out *Value, f func(a, b int64) int64) {
	st1, st2 := strides(in1.Shape), strides(in2.Shape)
	forEachIndex(out.Shape, func(index []int, pos int) {
		out.Data[pos] = f(in1.Data[offsetBroadcast(index, in1.Shape, st1)], in2.Data[offsetBroadcast(index, in2.Shape, st2)])
	})
}

// ADD: apply_add_s<i32>.
func add(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	elementwise(in[0], in[1], out, func(a, b int64) int64 { return applyAddS(a, b, minInt32, maxInt32) })
}

// SUB: apply_sub_s<i32>.
func sub(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	elementwise(in[0], in[1], out, func(a, b int64) int64 { return applySubS(a, b, minInt32, maxInt32) })
}

// MAXIMUM: apply_max_s.
func maximum(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	elementwise(in[0], in[1], out, func(a, b int64) int64 { return max(a, b) })
}

// MINIMUM: apply_min_s.
func minimum(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	elementwise(in[0], in[1], out, func(a, b int64) int64 { return min(a, b) })
}

// MUL (input1, input2, shift): i32 with shift rounds; otherwise the low 32 bits.
func mul(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	shift := in[2].Data[0]
	inT := in[0].Type
	require(0 <= shift && shift <= 63, "shift outside [0, 63]")
	require(inT == tosa.Int32 || shift == 0, "shift must be 0 unless the input is INT32")
	elementwise(in[0], in[1], out, func(value1, value2 int64) int64 {
		if inT == tosa.Int32 && shift > 0 {
			product := value1 * value2 // sign_extend<int64_t>; |product| < 2^62
			round := int64(1) << (shift - 1)
			product = (product + round) >> shift
			require(product >= minInt32 && product <= maxInt32, "rounded product does not fit int32")
			return product
		}
		return int64(int32(value1 * value2)) // apply_mul_s<i32>: low 32 bits
	})
}

// TABLE: i8 out = table[x+128]; i16 interpolates a 513-entry table (7 fractional bits).
func table(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	tbl := in[1].Data
	if in[0].Type == tosa.Int8 {
		require(len(tbl) == 256, "table size")
		for i, v := range in[0].Data {
			out.Data[i] = tbl[v+128]
		}
		return
	}
	require(len(tbl) == 513, "table size")
	for i, v := range in[0].Data {
		out.Data[i] = applyLookupS(tbl, v)
	}
}

// applyLookupS is apply_lookup_s for the 16-bit TABLE.
func applyLookupS(tbl []int64, value int64) int64 {
	value = applyClipS(value, -32768, 32767)
	index := (value + 32768) >> 7
	fraction := value & 0x7f
	base, next := tbl[index], tbl[index+1]
	slope := next - base
	require(slope >= math.MinInt16 && slope <= math.MaxInt16, "table slope does not fit int16")
	return (base << 7) + slope*fraction
}

// ARITHMETIC_RIGHT_SHIFT (input1, input2), attr round.
func arithmeticRightShift(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	bitsT := int64(in[0].Type.Bits())
	elementwise(in[0], in[1], out, func(value1, value2 int64) int64 {
		require(0 <= value2 && value2 <= bitsT-1, "shift outside [0, bits-1]")
		result := value1 >> value2
		if a.Round && value2 > 0 && (value1>>(value2-1))&1 != 0 {
			result = result + 1
		}
		return result
	})
}

// AVG_POOL2D (input, input_zp, output_zp): padding is not counted in the divisor.
func avgPool2d(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input := in[0]
	inputZp, outputZp := zp(in[1]), zp(in[2])
	N, IH, IW, C := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	OH, OW := out.Shape[1], out.Shape[2]
	kernelY, kernelX, strideY, strideX := a.Kernel[0], a.Kernel[1], a.Stride[0], a.Stride[1]
	padTop, padBottom, padLeft, padRight := a.Pad[0], a.Pad[1], a.Pad[2], a.Pad[3]
	errorIf(input.Type != tosa.Int8 && inputZp != 0, "input_zp %d for %v", inputZp, input.Type)
	errorIf(input.Type != tosa.Int8 && outputZp != 0, "output_zp %d for %v", outputZp, input.Type)
	errorIf(kernelY < 1 || kernelX < 1, "kernel %v < 1", a.Kernel)
	errorIf(strideY < 1 || strideX < 1, "stride %v < 1", a.Stride)
	errorIf(padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0, "pad %v < 0", a.Pad)
	errorIf(padRight >= kernelX || padLeft >= kernelX, "pad %v >= kernel %v", a.Pad, a.Kernel)
	errorIf(padTop >= kernelY || padBottom >= kernelY, "pad %v >= kernel %v", a.Pad, a.Kernel)
	outMin, outMax := out.Type.MinMax()
	for n := range N {
		for oy := range OH {
			for ox := range OW {
				for c := range C {
					acc := int64(0)
					count := 0
					iy := oy*strideY - padTop
					ix := ox*strideX - padLeft
					for ky := range kernelY {
						for kx := range kernelX {
							y, x := iy+ky, ix+kx
							if 0 <= y && y < IH && 0 <= x && x < IW {
								value := input.Data[((n*IH+y)*IW+x)*C+c] - inputZp
								acc = applyAddS(acc, value, minInt32, maxInt32)
								count++
							}
						}
					}
					m, s := ReciprocalScale(count)
					acc = int64(applyScale32(acc, int64(m), int64(s), false))
					acc = applyAddS(acc, outputZp, minInt32, maxInt32)
					out.Data[((n*OH+oy)*OW+ox)*C+c] = applyClipS(acc, outMin, outMax)
				}
			}
		}
	}
}

// MAX_POOL2D (input): the accumulator starts at minimum<in_t>; padding taps are skipped.
func maxPool2d(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input := in[0]
	N, IH, IW, C := input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]
	OH, OW := out.Shape[1], out.Shape[2]
	kernelY, kernelX, strideY, strideX := a.Kernel[0], a.Kernel[1], a.Stride[0], a.Stride[1]
	padTop, padBottom, padLeft, padRight := a.Pad[0], a.Pad[1], a.Pad[2], a.Pad[3]
	errorIf(kernelY < 1 || kernelX < 1, "kernel %v < 1", a.Kernel)
	errorIf(strideY < 1 || strideX < 1, "stride %v < 1", a.Stride)
	errorIf(padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0, "pad %v < 0", a.Pad)
	errorIf(padRight >= kernelX || padLeft >= kernelX, "pad %v >= kernel %v", a.Pad, a.Kernel)
	errorIf(padTop >= kernelY || padBottom >= kernelY, "pad %v >= kernel %v", a.Pad, a.Kernel)
	minimumS, _ := input.Type.MinMax()
	for n := range N {
		for oy := range OH {
			for ox := range OW {
				for c := range C {
					acc := minimumS
					iy := oy*strideY - padTop
					ix := ox*strideX - padLeft
					for ky := range kernelY {
						for kx := range kernelX {
							y, x := iy+ky, ix+kx
							if 0 <= y && y < IH && 0 <= x && x < IW {
								acc = max(acc, input.Data[((n*IH+y)*IW+x)*C+c])
							}
						}
					}
					out.Data[((n*OH+oy)*OW+ox)*C+c] = acc
				}
			}
		}
	}
}

// CONCAT (input1 list), attr axis.
func concat(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	axis := a.Axis
	errorIf(len(in) == 0, "empty input list")
	errorIf(axis < 0 || axis >= len(out.Shape), "axis %d", axis)
	outer := 1
	for d := range axis {
		outer *= out.Shape[d]
	}
	inner := 1
	for d := axis + 1; d < len(out.Shape); d++ {
		inner *= out.Shape[d]
	}
	pos := 0
	for o := range outer {
		for _, t := range in {
			n := t.Shape[axis] * inner
			copy(out.Data[pos:pos+n], t.Data[o*n:(o+1)*n])
			pos += n
		}
	}
	errorIf(pos != len(out.Data), "sum of axis dimensions differs from the output")
}

// RESHAPE (input1, shape): row-major reinterpretation.
func reshape(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	errorIf(len(in[0].Data) != len(out.Data), "element counts differ")
	for d, s := range in[1].Data {
		errorIf(d >= len(out.Shape) || int64(out.Shape[d]) != s, "output shape %v differs from shape %v", out.Shape, in[1].Data)
	}
	copy(out.Data, in[0].Data)
}

// TRANSPOSE (input1), attr perms: out[index] = in[tmp] with tmp[perms[i]] = index[i].
func transpose(a *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input := in[0]
	r := len(input.Shape)
	errorIf(len(a.Perms) != r, "perms %v for rank %d", a.Perms, r)
	for i, p := range a.Perms {
		errorIf(p < 0 || p >= r || slices.Index(a.Perms, p) != i, "perms %v is not a permutation", a.Perms)
		errorIf(out.Shape[i] != input.Shape[p], "output shape %v", out.Shape)
	}
	st := strides(input.Shape)
	forEachIndex(out.Shape, func(index []int, pos int) {
		p := 0
		for i, perm := range a.Perms {
			p += index[i] * st[perm] // tmp[perms[i]] = index[i]
		}
		out.Data[pos] = input.Data[p]
	})
}

// PAD (input1, padding, pad_const).
func pad(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, padding, padConst := in[0], in[1].Data, zp(in[2])
	r := len(input.Shape)
	for d := range r {
		errorIf(padding[2*d] < 0 || padding[2*d+1] < 0, "negative padding %v", padding)
		errorIf(int64(out.Shape[d]) != int64(input.Shape[d])+padding[2*d]+padding[2*d+1], "output shape %v", out.Shape)
	}
	st := strides(input.Shape)
	forEachIndex(out.Shape, func(index []int, pos int) {
		p := 0
		for d := range r {
			i := index[d] - int(padding[2*d])
			if i < 0 || i >= input.Shape[d] {
				out.Data[pos] = padConst
				return
			}
			p += i * st[d]
		}
		out.Data[pos] = input.Data[p]
	})
}

// SLICE (input1, start, size).
func slice(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	input, start, size := in[0], in[1].Data, in[2].Data
	r := len(input.Shape)
	for d := range r {
		errorIf(start[d] < 0, "start %v < 0", start)
		errorIf(size[d] <= 0, "size %v <= 0", size)
		errorIf(start[d]+size[d] > int64(input.Shape[d]), "start %v + size %v exceeds %v", start, size, input.Shape)
		errorIf(int64(out.Shape[d]) != size[d], "output shape %v != size %v", out.Shape, size)
	}
	st := strides(input.Shape)
	forEachIndex(out.Shape, func(index []int, pos int) {
		p := 0
		for d := range r {
			p += (index[d] + int(start[d])) * st[d]
		}
		out.Data[pos] = input.Data[p]
	})
}

// CAST (int rows): to BOOL is x != 0; widening sign-extends; narrowing keeps the low bits.
func cast(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	outBits := uint(out.Type.Bits())
	for i, v := range in[0].Data {
		switch {
		case out.Type == tosa.Bool:
			if v != 0 {
				out.Data[i] = 1
			}
		default:
			out.Data[i] = v << (64 - outBits) >> (64 - outBits) // truncate, sign-extend
		}
	}
}

// IDENTITY.
func identity(_ *tosa.Attr, in []*Value, out *Value, _ *tosa.Tensor) {
	copy(out.Data, in[0].Data)
}
