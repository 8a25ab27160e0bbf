package tosa

import (
	"errors"
	"fmt"
	"slices"
)

// Level8K holds the TOSA 1.0 "8K" level limits that Validate enforces.
var Level8K = struct {
	MaxRank, MaxKernel, MaxStride, MaxScale, MaxLog2Size, MaxTensorListSize int
}{6, 8192, 8192, 256, 31, 64}

// Validate checks that g is a well-formed TOSA 1.0 graph for the operators this package
// implements:
//   - tensor names are unique and every operand names a tensor of the block;
//   - operators are in topological order (every input is a graph input or produced by an
//     earlier operator), every tensor is produced at most once, graph outputs are produced;
//   - CONST / CONST_SHAPE produce tensors with data, and compile-time-constant operands (zero
//     points, RESCALE multiplier/shift, MUL shift, TABLE table, PAD pad_const, shape_t inputs)
//     come from them;
//   - each operator's operand count and types match the TOSA 1.0 operand list and a PRO-INT /
//     EXT-INT16 type row (tosa.md §2), and its attributes are present;
//   - each output shape equals the shape inferred from the inputs and attributes (InferShape,
//     including the ERROR_IF shape conditions);
//   - the 8K level limits (rank, kernel, stride, pad, resize scale, list size, tensor size).
//
// Operators outside that set only get the structural checks. Errors name the operator index,
// op and tensor.
func (g *Graph) Validate() error {
	tensors := make(map[string]*Tensor, len(g.Tensors))
	for i, t := range g.Tensors {
		if t == nil {
			return fmt.Errorf("tosa: tensor %d is nil", i)
		}
		if t.Name == "" {
			return fmt.Errorf("tosa: tensor %d has an empty name", i)
		}
		if _, dup := tensors[t.Name]; dup {
			return fmt.Errorf("tosa: duplicate tensor %q", t.Name)
		}
		if !t.Type.Valid() {
			return fmt.Errorf("tosa: tensor %q: unknown type %v", t.Name, t.Type)
		}
		if len(t.Shape) > Level8K.MaxRank {
			return fmt.Errorf("tosa: tensor %q: rank %d exceeds the 8K level MAX_RANK %d", t.Name, len(t.Shape), Level8K.MaxRank)
		}
		size := int64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("tosa: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			size *= int64(d)
			if size > 1<<Level8K.MaxLog2Size {
				break
			}
		}
		if bytes := int64(t.Type.DataSize(1)) * size; bytes >= 1<<Level8K.MaxLog2Size {
			return fmt.Errorf("tosa: tensor %q: shape %v of %v exceeds the 8K level size 2^%d", t.Name, t.Shape, t.Type, Level8K.MaxLog2Size)
		}
		if t.Data != nil {
			if need := t.Type.DataSize(NumElements(t.Shape)); len(t.Data) != need {
				return fmt.Errorf("tosa: tensor %q: %d data bytes, shape %v of %v needs %d", t.Name, len(t.Data), t.Shape, t.Type, need)
			}
		}
		tensors[t.Name] = t
	}
	avail := map[string]bool{}
	for _, n := range g.Inputs {
		t := tensors[n]
		if t == nil {
			return fmt.Errorf("tosa: graph input %q is not a tensor of the block", n)
		}
		if avail[n] {
			return fmt.Errorf("tosa: graph input %q listed twice", n)
		}
		avail[n] = true
	}
	isConst := map[string]bool{}
	for i, op := range g.Ops {
		if op == nil {
			return fmt.Errorf("tosa: op %d is nil", i)
		}
		for _, in := range op.Inputs {
			if tensors[in] == nil {
				return fmt.Errorf("tosa: op %d %v: input %q is not a tensor of the block", i, op.Op, in)
			}
			if !avail[in] {
				return fmt.Errorf("tosa: op %d %v: input %q is used before it is produced (operators must be in topological order)", i, op.Op, in)
			}
		}
		for _, o := range op.Outputs {
			if tensors[o] == nil {
				return fmt.Errorf("tosa: op %d %v: output %q is not a tensor of the block", i, op.Op, o)
			}
			if avail[o] {
				return fmt.Errorf("tosa: op %d %v: output %q is already produced (or a graph input)", i, op.Op, o)
			}
			avail[o] = true
			if op.Op == OpConst || op.Op == OpConstShape {
				isConst[o] = true
			}
		}
		if err := checkOp(g, tensors, isConst, op); err != nil {
			return fmt.Errorf("tosa: op %d %v: %w", i, op.Op, err)
		}
	}
	for _, n := range g.Outputs {
		if !avail[n] {
			return fmt.Errorf("tosa: graph output %q is not produced", n)
		}
	}
	return nil
}

// operand type sets
var (
	int8_16    = []DType{Int8, Int16}
	int8_16_32 = []DType{Int8, Int16, Int32}
	anyData    = []DType{Bool, Int8, Int16, Int32, Int48, FP32, FP16, BF16}
)

func typeIn(t DType, set []DType) bool { return slices.Contains(set, t) }

// opArity is the operand count of each checked op (-1: variadic, at least 1).
var opArity = map[Op][2]int{
	OpConst: {0, 1}, OpConstShape: {0, 1},
	OpConv2D: {5, 1}, OpDepthwiseConv2D: {5, 1}, OpTransposeConv2D: {5, 1},
	OpRescale: {5, 1}, OpResize: {4, 1}, OpClamp: {1, 1},
	OpAdd: {2, 1}, OpSub: {2, 1}, OpMaximum: {2, 1}, OpMinimum: {2, 1}, OpMul: {3, 1},
	OpArithmeticRightShift: {2, 1}, OpTable: {2, 1},
	OpAvgPool2D: {3, 1}, OpMaxPool2D: {1, 1},
	OpConcat: {-1, 1}, OpReshape: {2, 1}, OpTranspose: {1, 1}, OpPad: {3, 1}, OpSlice: {3, 1},
	OpCast: {1, 1}, OpIdentity: {1, 1},
}

// ctcOperands lists the operand indices that must be compile-time constants.
var ctcOperands = map[Op][]int{
	OpConv2D: {3, 4}, OpDepthwiseConv2D: {3, 4}, OpTransposeConv2D: {3, 4},
	OpRescale: {1, 2, 3, 4}, OpResize: {1, 2, 3}, OpMul: {2}, OpTable: {1},
	OpAvgPool2D: {1, 2}, OpReshape: {1}, OpPad: {1, 2}, OpSlice: {1, 2},
}

// scalarOperands lists the operand indices that are one-element [1] tensors (zero points,
// MUL shift, PAD pad_const).
var scalarOperands = map[Op][]int{
	OpConv2D: {3, 4}, OpDepthwiseConv2D: {3, 4}, OpTransposeConv2D: {3, 4},
	OpRescale: {3, 4}, OpMul: {2}, OpAvgPool2D: {1, 2}, OpPad: {2},
}

func checkOp(g *Graph, tensors map[string]*Tensor, isConst map[string]bool, op *Operator) error {
	ar, known := opArity[op.Op]
	if !known {
		return nil // structural checks only
	}
	if ar[0] >= 0 && len(op.Inputs) != ar[0] {
		return fmt.Errorf("%d inputs, want %d", len(op.Inputs), ar[0])
	}
	if ar[0] < 0 && len(op.Inputs) < 1 {
		return errors.New("no inputs")
	}
	if len(op.Outputs) != ar[1] {
		return fmt.Errorf("%d outputs, want %d", len(op.Outputs), ar[1])
	}
	for _, k := range ctcOperands[op.Op] {
		if !isConst[op.Inputs[k]] {
			return fmt.Errorf("input %d %q must be a compile-time constant (CONST/CONST_SHAPE)", k, op.Inputs[k])
		}
	}
	in := make([]*Tensor, len(op.Inputs))
	for k, n := range op.Inputs {
		in[k] = tensors[n]
	}
	for _, k := range scalarOperands[op.Op] {
		if len(in[k].Shape) != 1 || in[k].Shape[0] != 1 {
			return fmt.Errorf("input %d %q has shape %v, want [1]", k, in[k].Name, in[k].Shape)
		}
	}
	out := tensors[op.Outputs[0]]
	if err := checkTypes(op, in, out); err != nil {
		return err
	}
	if err := checkLevels(op, in); err != nil {
		return err
	}
	if op.Op == OpConst || op.Op == OpConstShape {
		return nil
	}
	shape, err := inferShape(g, tensors, op)
	if err != nil {
		return err
	}
	if !slices.Equal(shape, out.Shape) {
		return fmt.Errorf("output %q has shape %v, inferred %v", out.Name, out.Shape, shape)
	}
	return nil
}

func want(t *Tensor, role string, set ...DType) error {
	if !typeIn(t.Type, set) {
		return fmt.Errorf("%s %q has type %v, want one of %v", role, t.Name, t.Type, set)
	}
	return nil
}

func same(t *Tensor, role string, ty DType) error {
	if t.Type != ty {
		return fmt.Errorf("%s %q has type %v, want %v", role, t.Name, t.Type, ty)
	}
	return nil
}

func checkTypes(op *Operator, in []*Tensor, out *Tensor) error {
	a := &op.Attr
	switch op.Op {
	case OpConst:
		if out.Data == nil {
			return fmt.Errorf("constant %q has no data", out.Name)
		}
		if out.Type == Shape {
			return fmt.Errorf("constant %q has type SHAPE; use CONST_SHAPE", out.Name)
		}
	case OpConstShape:
		if out.Data == nil {
			return fmt.Errorf("shape constant %q has no data", out.Name)
		}
		if out.Type != Shape || len(out.Shape) != 1 {
			return fmt.Errorf("shape constant %q must be a rank-1 SHAPE tensor, is %v %v", out.Name, out.Type, out.Shape)
		}
	case OpConv2D, OpDepthwiseConv2D, OpTransposeConv2D:
		// rows: i8 x i8 -> i32 (PRO-INT), i8 x i4 -> i32 (EXT-INT4), i16 x i8 -> i48 (EXT-INT16)
		if err := want(in[0], "input", Int8, Int16); err != nil {
			return err
		}
		wt, acc := Int8, Int32
		if in[0].Type == Int16 {
			acc = Int48
		} else if in[1].Type == Int4 {
			wt = Int4
		}
		if err := same(in[1], "weight", wt); err != nil {
			return err
		}
		if err := same(in[2], "bias", acc); err != nil {
			return err
		}
		if err := same(in[3], "input_zp", in[0].Type); err != nil {
			return err
		}
		if err := same(in[4], "weight_zp", wt); err != nil {
			return err
		}
		if err := same(out, "output", acc); err != nil {
			return err
		}
		if a.AccType != acc {
			return fmt.Errorf("acc_type %v, want %v", a.AccType, acc)
		}
	case OpRescale:
		if err := want(in[0], "input", Int8, Int16, Int32, Int48); err != nil {
			return err
		}
		if err := want(out, "output", int8_16_32...); err != nil {
			return err
		}
		mt := Int16
		if a.Scale32 {
			mt = Int32
		}
		if err := same(in[1], "multiplier", mt); err != nil {
			return err
		}
		if err := same(in[2], "shift", Int8); err != nil {
			return err
		}
		if err := same(in[3], "input_zp", in[0].Type); err != nil {
			return err
		}
		if err := same(in[4], "output_zp", out.Type); err != nil {
			return err
		}
		if a.RoundingMode != SingleRound && a.RoundingMode != DoubleRound && a.RoundingMode != InexactRound {
			return fmt.Errorf("rounding_mode %v", a.RoundingMode)
		}
	case OpResize:
		if err := want(in[0], "input", Int8, Int16); err != nil {
			return err
		}
		for k := 1; k < 4; k++ {
			if err := same(in[k], "shape operand", Shape); err != nil {
				return err
			}
		}
		switch a.Mode {
		case ResizeNearest:
			return same(out, "output", in[0].Type)
		case ResizeBilinear:
			if in[0].Type == Int8 {
				return same(out, "output", Int32)
			}
			return same(out, "output", Int48)
		default:
			return fmt.Errorf("mode %v", a.Mode)
		}
	case OpClamp:
		if err := want(in[0], "input", Int8, Int16); err != nil {
			return err
		}
		if err := same(out, "output", in[0].Type); err != nil {
			return err
		}
		n := in[0].Type.DataSize(1)
		if len(a.ClampMin) < n || len(a.ClampMax) < n {
			return fmt.Errorf("min_val/max_val have %d/%d bytes, want at least %d", len(a.ClampMin), len(a.ClampMax), n)
		}
	case OpAdd, OpSub, OpMaximum, OpMinimum:
		for k := range in {
			if err := same(in[k], "input", Int32); err != nil {
				return err
			}
		}
		return same(out, "output", Int32)
	case OpMul:
		if err := want(in[0], "input1", int8_16_32...); err != nil {
			return err
		}
		if err := same(in[1], "input2", in[0].Type); err != nil {
			return err
		}
		if err := same(in[2], "shift", Int8); err != nil {
			return err
		}
		return same(out, "output", Int32)
	case OpArithmeticRightShift:
		if err := want(in[0], "input1", int8_16_32...); err != nil {
			return err
		}
		if err := same(in[1], "input2", in[0].Type); err != nil {
			return err
		}
		return same(out, "output", in[0].Type)
	case OpTable:
		if err := want(in[0], "input", Int8, Int16); err != nil {
			return err
		}
		if err := same(in[1], "table", in[0].Type); err != nil {
			return err
		}
		n, ot := 256, Int8
		if in[0].Type == Int16 {
			n, ot = 513, Int32
		}
		if len(in[1].Shape) != 1 || in[1].Shape[0] != n {
			return fmt.Errorf("table %q has shape %v, want [%d]", in[1].Name, in[1].Shape, n)
		}
		return same(out, "output", ot)
	case OpAvgPool2D:
		if err := want(in[0], "input", int8_16...); err != nil {
			return err
		}
		if err := same(in[1], "input_zp", in[0].Type); err != nil {
			return err
		}
		if err := same(in[2], "output_zp", in[0].Type); err != nil {
			return err
		}
		if a.AccType != Int32 {
			return fmt.Errorf("acc_type %v, want INT32", a.AccType)
		}
		return same(out, "output", in[0].Type)
	case OpMaxPool2D:
		if err := want(in[0], "input", int8_16...); err != nil {
			return err
		}
		return same(out, "output", in[0].Type)
	case OpConcat:
		if len(in) > Level8K.MaxTensorListSize {
			return fmt.Errorf("%d inputs exceed the 8K level MAX_TENSOR_LIST_SIZE %d", len(in), Level8K.MaxTensorListSize)
		}
		if err := want(in[0], "input", Bool, Int8, Int16, Int32); err != nil {
			return err
		}
		for k := range in {
			if err := same(in[k], "input", in[0].Type); err != nil {
				return err
			}
		}
		return same(out, "output", in[0].Type)
	case OpReshape, OpPad, OpSlice, OpTranspose, OpIdentity:
		if err := want(in[0], "input", anyData...); err != nil {
			return err
		}
		for k := 1; k < len(in); k++ {
			if op.Op == OpPad && k == 2 {
				if err := same(in[k], "pad_const", in[0].Type); err != nil {
					return err
				}
				continue
			}
			if err := same(in[k], "shape operand", Shape); err != nil {
				return err
			}
		}
		return same(out, "output", in[0].Type)
	case OpCast:
		ok := false
		switch in[0].Type {
		case Bool:
			ok = typeIn(out.Type, int8_16_32)
		case Int8:
			ok = typeIn(out.Type, []DType{Bool, Int16, Int32})
		case Int16:
			ok = typeIn(out.Type, []DType{Bool, Int8, Int32})
		case Int32:
			ok = typeIn(out.Type, []DType{Bool, Int8, Int16})
		}
		if !ok {
			return fmt.Errorf("CAST %v -> %v is not an integer-profile type pair", in[0].Type, out.Type)
		}
	}
	return nil
}

func checkLevels(op *Operator, in []*Tensor) error {
	a := &op.Attr
	lim := func(what string, v []int, max int) error {
		for _, x := range v {
			if x > max {
				return fmt.Errorf("%s %v exceeds the 8K level limit %d", what, v, max)
			}
		}
		return nil
	}
	switch op.Op {
	case OpConv2D, OpDepthwiseConv2D:
		if len(in[1].Shape) != 4 || len(a.Dilation) != 2 {
			return nil // reported by shape inference
		}
		kh, kw := in[1].Shape[1], in[1].Shape[2]
		if op.Op == OpDepthwiseConv2D {
			kh, kw = in[1].Shape[0], in[1].Shape[1]
		}
		if err := lim("dilation*kernel", []int{a.Dilation[0] * kh, a.Dilation[1] * kw}, Level8K.MaxKernel); err != nil {
			return err
		}
		if err := lim("pad", a.Pad, Level8K.MaxKernel); err != nil {
			return err
		}
		return lim("stride", a.Stride, Level8K.MaxStride)
	case OpTransposeConv2D:
		if len(in[1].Shape) == 4 {
			if err := lim("kernel", in[1].Shape[1:3], Level8K.MaxKernel); err != nil {
				return err
			}
		}
		if err := lim("out_pad", a.OutPad, Level8K.MaxKernel); err != nil {
			return err
		}
		return lim("stride", a.Stride, Level8K.MaxStride)
	case OpAvgPool2D, OpMaxPool2D:
		if err := lim("kernel", a.Kernel, Level8K.MaxKernel); err != nil {
			return err
		}
		if err := lim("pad", a.Pad, Level8K.MaxKernel); err != nil {
			return err
		}
		return lim("stride", a.Stride, Level8K.MaxStride)
	}
	return nil
}

// InferShape returns the output shape of op (one of the operators Validate checks) from its
// input tensors in g and its attributes, checking the spec's ERROR_IF conditions on shapes and
// attributes. CONST / CONST_SHAPE outputs are returned as declared.
func InferShape(g *Graph, op *Operator) ([]int, error) {
	tensors := g.TensorMap()
	for _, in := range op.Inputs {
		if tensors[in] == nil {
			return nil, fmt.Errorf("unknown input tensor %q", in)
		}
	}
	if ar, ok := opArity[op.Op]; ok && ar[0] >= 0 && len(op.Inputs) != ar[0] {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op.Op, len(op.Inputs), ar[0])
	}
	return inferShape(g, tensors, op)
}

// ShapeValues returns the int64 values of a SHAPE (or integer) constant tensor.
func ShapeValues(t *Tensor) ([]int64, error) {
	if t.Data == nil {
		return nil, fmt.Errorf("%q is not a constant", t.Name)
	}
	return t.Ints()
}

func idivCheck(a, b int, what string) (int, error) {
	if b == 0 || a%b != 0 {
		return 0, fmt.Errorf("%s: %d is not divisible by %d", what, a, b)
	}
	return a / b, nil
}

func need(v []int, n int, what string) error {
	if len(v) != n {
		return fmt.Errorf("attribute %s has %d values, want %d", what, len(v), n)
	}
	return nil
}

func rank(t *Tensor, r int, role string) error {
	if len(t.Shape) != r {
		return fmt.Errorf("%s %q has rank %d (shape %v), want %d", role, t.Name, len(t.Shape), t.Shape, r)
	}
	return nil
}

func inferShape(g *Graph, tensors map[string]*Tensor, op *Operator) ([]int, error) {
	a := &op.Attr
	in := make([]*Tensor, len(op.Inputs))
	for k, n := range op.Inputs {
		in[k] = tensors[n]
	}
	shapeArg := func(k, n int, role string) ([]int, error) {
		t := in[k]
		v, err := ShapeValues(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		if n >= 0 && len(v) != n {
			return nil, fmt.Errorf("%s %q has %d values, want %d", role, t.Name, len(v), n)
		}
		r := make([]int, len(v))
		for i, x := range v {
			if x < -(1<<40) || x > 1<<40 {
				return nil, fmt.Errorf("%s %q: value %d out of range", role, t.Name, x)
			}
			r[i] = int(x)
		}
		return r, nil
	}
	switch op.Op {
	case OpConst, OpConstShape:
		if len(op.Outputs) != 1 || tensors[op.Outputs[0]] == nil {
			return nil, errors.New("constant op needs one output tensor")
		}
		return slices.Clone(tensors[op.Outputs[0]].Shape), nil

	case OpConv2D, OpDepthwiseConv2D:
		if err := rank(in[0], 4, "input"); err != nil {
			return nil, err
		}
		if err := rank(in[1], 4, "weight"); err != nil {
			return nil, err
		}
		if err := rank(in[2], 1, "bias"); err != nil {
			return nil, err
		}
		if err := need(a.Pad, 4, "pad"); err != nil {
			return nil, err
		}
		if err := need(a.Stride, 2, "stride"); err != nil {
			return nil, err
		}
		if err := need(a.Dilation, 2, "dilation"); err != nil {
			return nil, err
		}
		for _, p := range a.Pad {
			if p < 0 {
				return nil, fmt.Errorf("negative pad %v", a.Pad)
			}
		}
		if a.Stride[0] < 1 || a.Stride[1] < 1 || a.Dilation[0] < 1 || a.Dilation[1] < 1 {
			return nil, fmt.Errorf("stride %v and dilation %v must be >= 1", a.Stride, a.Dilation)
		}
		n, ih, iw, ic := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], in[0].Shape[3]
		var kh, kw, oc int
		if op.Op == OpConv2D {
			oc, kh, kw = in[1].Shape[0], in[1].Shape[1], in[1].Shape[2]
			if in[1].Shape[3] != ic {
				return nil, fmt.Errorf("weight %q shape %v: IC %d, input has %d channels", in[1].Name, in[1].Shape, in[1].Shape[3], ic)
			}
		} else {
			kh, kw = in[1].Shape[0], in[1].Shape[1]
			if in[1].Shape[2] != ic {
				return nil, fmt.Errorf("weight %q shape %v: C %d, input has %d channels", in[1].Name, in[1].Shape, in[1].Shape[2], ic)
			}
			oc = ic * in[1].Shape[3]
		}
		if bc := in[2].Shape[0]; bc != oc && bc != 1 {
			return nil, fmt.Errorf("bias %q has %d values, want %d or 1", in[2].Name, bc, oc)
		}
		oh, err := idivCheck(ih-1+a.Pad[0]+a.Pad[1]-(kh-1)*a.Dilation[0], a.Stride[0], "output height")
		if err != nil {
			return nil, err
		}
		ow, err := idivCheck(iw-1+a.Pad[2]+a.Pad[3]-(kw-1)*a.Dilation[1], a.Stride[1], "output width")
		if err != nil {
			return nil, err
		}
		if oh+1 < 1 || ow+1 < 1 {
			return nil, fmt.Errorf("empty output %dx%d", oh+1, ow+1)
		}
		return []int{n, oh + 1, ow + 1, oc}, nil

	case OpTransposeConv2D:
		if err := rank(in[0], 4, "input"); err != nil {
			return nil, err
		}
		if err := rank(in[1], 4, "weight"); err != nil {
			return nil, err
		}
		if err := rank(in[2], 1, "bias"); err != nil {
			return nil, err
		}
		if err := need(a.OutPad, 4, "out_pad"); err != nil {
			return nil, err
		}
		if err := need(a.Stride, 2, "stride"); err != nil {
			return nil, err
		}
		oc, kh, kw := in[1].Shape[0], in[1].Shape[1], in[1].Shape[2]
		if in[1].Shape[3] != in[0].Shape[3] {
			return nil, fmt.Errorf("weight %q shape %v: IC does not match input %v", in[1].Name, in[1].Shape, in[0].Shape)
		}
		if a.Stride[0] < 1 || a.Stride[1] < 1 {
			return nil, fmt.Errorf("stride %v must be >= 1", a.Stride)
		}
		if a.OutPad[0] <= -kh || a.OutPad[1] <= -kh || a.OutPad[2] <= -kw || a.OutPad[3] <= -kw {
			return nil, fmt.Errorf("out_pad %v must be > -kernel (%dx%d)", a.OutPad, kh, kw)
		}
		if bc := in[2].Shape[0]; bc != oc && bc != 1 {
			return nil, fmt.Errorf("bias %q has %d values, want %d or 1", in[2].Name, bc, oc)
		}
		oh := (in[0].Shape[1]-1)*a.Stride[0] + a.OutPad[0] + a.OutPad[1] + kh
		ow := (in[0].Shape[2]-1)*a.Stride[1] + a.OutPad[2] + a.OutPad[3] + kw
		return []int{in[0].Shape[0], oh, ow, oc}, nil

	case OpRescale:
		nc := 1
		if a.PerChannel {
			if len(in[0].Shape) < 1 {
				return nil, errors.New("per_channel needs rank >= 1")
			}
			nc = in[0].Shape[len(in[0].Shape)-1]
		}
		if len(in[1].Shape) != 1 || in[1].Shape[0] != nc || len(in[2].Shape) != 1 || in[2].Shape[0] != nc {
			return nil, fmt.Errorf("multiplier %v / shift %v must have shape [%d]", in[1].Shape, in[2].Shape, nc)
		}
		return slices.Clone(in[0].Shape), nil

	case OpResize:
		if err := rank(in[0], 4, "input"); err != nil {
			return nil, err
		}
		scale, err := shapeArg(1, 4, "scale")
		if err != nil {
			return nil, err
		}
		offset, err := shapeArg(2, 2, "offset")
		if err != nil {
			return nil, err
		}
		border, err := shapeArg(3, 2, "border")
		if err != nil {
			return nil, err
		}
		oh, ow, err := ResizeOutputSize(in[0].Shape[1], in[0].Shape[2], scale, offset, border)
		if err != nil {
			return nil, err
		}
		return []int{in[0].Shape[0], oh, ow, in[0].Shape[3]}, nil

	case OpClamp, OpIdentity, OpCast, OpTable:
		return slices.Clone(in[0].Shape), nil

	case OpAdd, OpSub, OpMaximum, OpMinimum, OpMul, OpArithmeticRightShift:
		if op.Op == OpMul {
			if len(in[2].Shape) != 1 || in[2].Shape[0] != 1 {
				return nil, fmt.Errorf("shift %q has shape %v, want [1]", in[2].Name, in[2].Shape)
			}
		}
		return BroadcastShape(in[0].Shape, in[1].Shape)

	case OpAvgPool2D, OpMaxPool2D:
		if err := rank(in[0], 4, "input"); err != nil {
			return nil, err
		}
		if err := need(a.Kernel, 2, "kernel"); err != nil {
			return nil, err
		}
		if err := need(a.Stride, 2, "stride"); err != nil {
			return nil, err
		}
		if err := need(a.Pad, 4, "pad"); err != nil {
			return nil, err
		}
		if a.Kernel[0] < 1 || a.Kernel[1] < 1 || a.Stride[0] < 1 || a.Stride[1] < 1 {
			return nil, fmt.Errorf("kernel %v and stride %v must be >= 1", a.Kernel, a.Stride)
		}
		for _, p := range a.Pad {
			if p < 0 {
				return nil, fmt.Errorf("negative pad %v", a.Pad)
			}
		}
		if a.Pad[0] >= a.Kernel[0] || a.Pad[1] >= a.Kernel[0] || a.Pad[2] >= a.Kernel[1] || a.Pad[3] >= a.Kernel[1] {
			return nil, fmt.Errorf("pad %v must be smaller than the kernel %v", a.Pad, a.Kernel)
		}
		oh, err := idivCheck(in[0].Shape[1]+a.Pad[0]+a.Pad[1]-a.Kernel[0], a.Stride[0], "output height")
		if err != nil {
			return nil, err
		}
		ow, err := idivCheck(in[0].Shape[2]+a.Pad[2]+a.Pad[3]-a.Kernel[1], a.Stride[1], "output width")
		if err != nil {
			return nil, err
		}
		if oh < 0 || ow < 0 {
			return nil, errors.New("kernel larger than the padded input")
		}
		return []int{in[0].Shape[0], oh + 1, ow + 1, in[0].Shape[3]}, nil

	case OpConcat:
		r := len(in[0].Shape)
		if a.Axis < 0 || a.Axis >= r {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a.Axis, r)
		}
		out := slices.Clone(in[0].Shape)
		out[a.Axis] = 0
		for _, t := range in {
			if len(t.Shape) != r {
				return nil, fmt.Errorf("input %q has rank %d, want %d", t.Name, len(t.Shape), r)
			}
			for d := range r {
				if d != a.Axis && t.Shape[d] != out[d] {
					return nil, fmt.Errorf("input %q shape %v differs from %v outside axis %d", t.Name, t.Shape, in[0].Shape, a.Axis)
				}
			}
			out[a.Axis] += t.Shape[a.Axis]
		}
		return out, nil

	case OpReshape:
		s, err := shapeArg(1, -1, "shape")
		if err != nil {
			return nil, err
		}
		n := 1
		for _, d := range s {
			if d < 0 {
				return nil, fmt.Errorf("shape %v has a negative dimension", s)
			}
			n *= d
		}
		if n != in[0].NumElements() {
			return nil, fmt.Errorf("shape %v has %d elements, input %v has %d", s, n, in[0].Shape, in[0].NumElements())
		}
		return s, nil

	case OpTranspose:
		r := len(in[0].Shape)
		if len(a.Perms) != r {
			return nil, fmt.Errorf("perms %v, want %d values", a.Perms, r)
		}
		seen := make([]bool, r)
		out := make([]int, r)
		for i, p := range a.Perms {
			if p < 0 || p >= r || seen[p] {
				return nil, fmt.Errorf("perms %v is not a permutation", a.Perms)
			}
			seen[p] = true
			out[i] = in[0].Shape[p]
		}
		return out, nil

	case OpPad:
		r := len(in[0].Shape)
		p, err := shapeArg(1, 2*r, "padding")
		if err != nil {
			return nil, err
		}
		if in[2].NumElements() != 1 {
			return nil, fmt.Errorf("pad_const %q has shape %v, want one element", in[2].Name, in[2].Shape)
		}
		out := make([]int, r)
		for d := range r {
			if p[2*d] < 0 || p[2*d+1] < 0 {
				return nil, fmt.Errorf("negative padding %v", p)
			}
			out[d] = in[0].Shape[d] + p[2*d] + p[2*d+1]
		}
		return out, nil

	case OpSlice:
		r := len(in[0].Shape)
		start, err := shapeArg(1, r, "start")
		if err != nil {
			return nil, err
		}
		size, err := shapeArg(2, r, "size")
		if err != nil {
			return nil, err
		}
		for d := range r {
			if start[d] < 0 || size[d] <= 0 || start[d]+size[d] > in[0].Shape[d] {
				return nil, fmt.Errorf("start %v size %v out of range for input %v", start, size, in[0].Shape)
			}
		}
		return size, nil
	}
	return nil, fmt.Errorf("no shape inference for %v", op.Op)
}

// BroadcastShape returns the shape of an elementwise result: equal ranks, and each dimension
// equal or 1 on one side.
func BroadcastShape(a, b []int) ([]int, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("broadcast needs equal ranks: %v and %v", a, b)
	}
	out := make([]int, len(a))
	for i := range a {
		switch {
		case a[i] == b[i]:
			out[i] = a[i]
		case a[i] == 1:
			out[i] = b[i]
		case b[i] == 1:
			out[i] = a[i]
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// ResizeOutputSize checks RESIZE's scale/offset/border ERROR_IF conditions and the 8K level
// MAX_SCALE and returns the output height and width.
func ResizeOutputSize(ih, iw int, scale, offset, border []int) (oh, ow int, err error) {
	syn, syd, sxn, sxd := scale[0], scale[1], scale[2], scale[3]
	if syn <= 0 || syd <= 0 || sxn <= 0 || sxd <= 0 {
		return 0, 0, fmt.Errorf("scale %v must be positive", scale)
	}
	if syn > 1<<11 || sxn > 1<<11 {
		return 0, 0, fmt.Errorf("scale numerators %v exceed 2048", scale)
	}
	if syd >= 16*syn || sxd >= 16*sxn {
		return 0, 0, fmt.Errorf("scale %v downscales by 16 or more", scale)
	}
	if offset[0] < -syn || offset[0] >= 16*syn || offset[1] < -sxn || offset[1] >= 16*sxn {
		return 0, 0, fmt.Errorf("offset %v out of range for scale %v", offset, scale)
	}
	if border[0] < -16*syn || border[0] >= syn || border[1] < -16*sxn || border[1] >= sxn {
		return 0, 0, fmt.Errorf("border %v out of range for scale %v", border, scale)
	}
	if syn/gcd(syn, syd) > Level8K.MaxScale*(syd/gcd(syn, syd)) || sxn/gcd(sxn, sxd) > Level8K.MaxScale*(sxd/gcd(sxn, sxd)) {
		return 0, 0, fmt.Errorf("scale %v exceeds the 8K level MAX_SCALE %d", scale, Level8K.MaxScale)
	}
	h, err := idivCheck((ih-1)*syn-offset[0]+border[0], syd, "output height")
	if err != nil {
		return 0, 0, err
	}
	w, err := idivCheck((iw-1)*sxn-offset[1]+border[1], sxd, "output width")
	if err != nil {
		return 0, 0, err
	}
	oh, ow = h+1, w+1
	if oh < 1 || ow < 1 {
		return 0, 0, fmt.Errorf("empty output %dx%d", oh, ow)
	}
	if max(oh, ow, ih, iw) >= 16384 {
		return 0, 0, fmt.Errorf("input %dx%d / output %dx%d reach 16384", ih, iw, oh, ow)
	}
	return oh, ow, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	if a < 0 {
		return -a
	}
	return a
}
