package tosa

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// convGraph builds input -> CONV2D -> RESCALE with the builder.
func convGraph(t *testing.T) *Graph {
	t.Helper()
	b := NewBuilder()
	x := b.Input("x", Int8, 1, 5, 6, 2)
	w := b.AddConst("w", Int8, []int{3, 3, 3, 2}, Int8Data(make([]int8, 54)))
	bias := b.AddConst("bias", Int32, []int{3}, Int32Data([]int32{1, 2, 3}))
	izp := b.AddConst("izp", Int8, []int{1}, Int8Data([]int8{-128}))
	wzp := b.AddConst("wzp", Int8, []int{1}, Int8Data([]int8{0}))
	acc := b.AddOp(OpConv2D, Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{2, 1}, Dilation: []int{1, 1}, AccType: Int32},
		[]string{x, w, bias, izp, wzp}, "acc", Int32)
	m := b.AddConst("m", Int32, []int{3}, Int32Data([]int32{1 << 30, 1 << 30, 1 << 30}))
	s := b.AddConst("s", Int8, []int{3}, Int8Data([]int8{31, 32, 33}))
	i32zp := b.AddConst("i32zp", Int32, []int{1}, Int32Data([]int32{0}))
	ozp := b.AddConst("ozp", Int8, []int{1}, Int8Data([]int8{3}))
	y := b.AddOp(OpRescale, Attr{Scale32: true, PerChannel: true, RoundingMode: DoubleRound},
		[]string{acc, m, s, i32zp, ozp}, "y", Int8)
	sc := b.AddConstShape("scale", 4, 2, 4, 2)
	of := b.AddConstShape("offset", -1, -1)
	bo := b.AddConstShape("border", 1, 1)
	z := b.AddOp(OpResize, Attr{Mode: ResizeNearest}, []string{y, sc, of, bo}, "z", Int8)
	b.Output(z)
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestBuilderShapesAndRoundTrip(t *testing.T) {
	g := convGraph(t)
	if got := g.Tensor("acc").Shape; !reflect.DeepEqual(got, []int{1, 3, 6, 3}) {
		t.Errorf("conv shape %v", got)
	}
	if got := g.Tensor("z").Shape; !reflect.DeepEqual(got, []int{1, 6, 12, 3}) {
		t.Errorf("resize shape %v", got)
	}
	if i, p := g.Producer("y"); i != 9 || p.Op != OpRescale {
		t.Errorf("Producer(y) = %d %v", i, p)
	}
	if !g.IsConst("scale") || g.IsConst("y") {
		t.Error("IsConst")
	}
	buf, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, g2) {
		t.Errorf("builder graph round trip differs:\n%+v\n%+v", g, g2)
	}
	// data vectors are 8-byte aligned and padded: decode keeps exactly the element bytes
	if len(g2.Tensor("izp").Data) != 1 || len(g2.Tensor("scale").Data) != 32 {
		t.Error("data sizes after decode")
	}
}

func TestValidateErrors(t *testing.T) {
	mutate := []struct {
		name string
		f    func(g *Graph)
		want string
	}{
		{"order", func(g *Graph) { g.Ops[3], g.Ops[4] = g.Ops[4], g.Ops[3] }, "topological"},
		{"operands", func(g *Graph) { g.Ops[4].Inputs = g.Ops[4].Inputs[:4] }, "op 4 CONV2D: 4 inputs, want 5"},
		{"bias type", func(g *Graph) { g.Tensor("bias").Type = Int8; g.Tensor("bias").Data = make([]byte, 3) }, `bias "bias" has type INT8`},
		{"shape", func(g *Graph) { g.Tensor("acc").Shape = []int{1, 5, 6, 3} }, `output "acc" has shape [1 5 6 3], inferred [1 3 6 3]`},
		{"stride", func(g *Graph) { g.Ops[4].Attr.Stride = []int{3, 1} }, "not divisible"},
		{"acc_type", func(g *Graph) { g.Ops[4].Attr.AccType = DTypeUnknown }, "acc_type"},
		{"rounding", func(g *Graph) { g.Ops[9].Attr.RoundingMode = RoundingUnknown }, "RESCALE: rounding_mode UNKNOWN"},
		{"multiplier", func(g *Graph) { g.Ops[9].Attr.Scale32 = false }, `multiplier "m" has type INT32, want INT16`},
		{"ctc", func(g *Graph) { g.Ops[9].Inputs[1] = "acc" }, "compile-time constant"},
		{"unknown", func(g *Graph) { g.Ops[9].Inputs[0] = "nope" }, `"nope" is not a tensor`},
		{"dup", func(g *Graph) { g.Tensors = append(g.Tensors, &Tensor{Name: "x", Type: Int8}) }, `duplicate tensor "x"`},
		{"output", func(g *Graph) { g.Outputs = []string{"q"} }, `graph output "q"`},
		{"level", func(g *Graph) { g.Ops[4].Attr.Stride = []int{9000, 1} }, "8K level"},
		{"resize", func(g *Graph) { g.Tensor("scale").Data = ShapeData(4, 2, 4, 64) }, "downscales"},
		{"data", func(g *Graph) { g.Tensor("w").Data = g.Tensor("w").Data[:10] }, `tensor "w": 10 data bytes`},
		{"rank", func(g *Graph) { g.Tensor("x").Shape = []int{1, 1, 1, 1, 1, 5, 6, 2} }, "MAX_RANK"},
	}
	for _, m := range mutate {
		g := convGraph(t)
		m.f(g)
		err := g.Validate()
		if err == nil || !strings.Contains(err.Error(), m.want) {
			t.Errorf("%s: got %v, want an error containing %q", m.name, err, m.want)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	x := b.Input("x", Int8, 1, 4)
	b.AddOp(OpReshape, Attr{}, []string{x, b.AddConstShape("s", 3)}, "y", Int8)
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "RESHAPE") {
		t.Errorf("reshape element count: %v", err)
	}
	b = NewBuilder()
	b.Input("x", Int8, 1)
	b.Input("x", Int8, 1)
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate: %v", err)
	}
	b = NewBuilder()
	b.AddConst("c", Int32, []int{2}, []byte{1, 2, 3})
	if _, err := b.Build(); err == nil {
		t.Error("short const data accepted")
	}
}

func TestNames(t *testing.T) {
	if OpConv2D.String() != "CONV2D" || OpConstShape.String() != "CONST_SHAPE" || OpArithmeticRightShift.String() != "ARITHMETIC_RIGHT_SHIFT" {
		t.Error("op names")
	}
	if Int8.String() != "INT8" || Shape.String() != "SHAPE" || FP8E5M2.String() != "FP8E5M2" || DType(99).String() != "DType(99)" {
		t.Error("dtype names")
	}
	if op, ok := OpByName("RESCALE"); !ok || op != OpRescale || uint32(OpRescale) != 66 {
		t.Error("OpByName")
	}
	if DoubleRound.String() != "DOUBLE_ROUND" || ResizeBilinear.String() != "BILINEAR" || NanPropagate.String() != "PROPAGATE" {
		t.Error("enum names")
	}
}

func TestDataHelpers(t *testing.T) {
	tt := &Tensor{Name: "t", Shape: []int{3}, Type: Int48, Data: Int48Data([]int64{-1, 1 << 46, -(1 << 47)})}
	if v, err := tt.Int48s(); err != nil || !reflect.DeepEqual(v, []int64{-1, 1 << 46, -(1 << 47)}) {
		t.Errorf("int48: %v %v", v, err)
	}
	tt = &Tensor{Name: "t", Shape: []int{3}, Type: Int4, Data: Int4Data([]int8{-7, 7, -1})}
	if v, err := tt.Ints(); err != nil || !reflect.DeepEqual(v, []int64{-7, 7, -1}) || len(tt.Data) != 2 {
		t.Errorf("int4: %v %v", v, err)
	}
	tt = &Tensor{Name: "t", Shape: []int{2}, Type: FP32, Data: FP32Data([]float32{1.5, -2})}
	if v, err := tt.FP32s(); err != nil || v[0] != 1.5 || v[1] != -2 {
		t.Errorf("fp32: %v %v", v, err)
	}
	tt = &Tensor{Name: "t", Shape: []int{2}, Type: Int16, Data: Int16Data([]int16{-300, 300})}
	if v, err := tt.Int16s(); err != nil || v[0] != -300 || v[1] != 300 {
		t.Errorf("int16: %v %v", v, err)
	}
	if _, err := tt.Int32s(); err == nil {
		t.Error("Int32s on INT16 accepted")
	}
	tt.Data = tt.Data[:3]
	if _, err := tt.Int16s(); err == nil {
		t.Error("short data accepted")
	}
}

func TestDecodeVersion(t *testing.T) {
	buf, err := os.ReadFile(fixtureModels(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	// find the Version table: the root's field 0; patch its _major to 2
	r := &reader{b: enc}
	rp, _ := r.indirect(0, "root")
	root, _ := r.table(rp, "root")
	ver, _, _ := r.subTable(root, fGraphVersion, "version")
	p, _ := r.field(ver, fVerMajor, 4, "major")
	enc[p] = 2
	if _, err := Decode(enc); err == nil || !strings.Contains(err.Error(), "unsupported TOSA version 2.0.0") {
		t.Errorf("version 2: %v", err)
	}
}
