package spirv

import (
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// fixtureCase is the TOSA graph equivalent to one fixture module, with the writer options
// that reproduce it.
type fixtureCase struct {
	build func(b *tosa.Builder)
	opt   Options
	// exact: the writer reproduces the .spv word for word. Otherwise (hand-ordered fixtures)
	// the output is compared after canonical structural renumbering (canonicalForm).
	exact bool
}

func pattern8(n int, seed int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(i*7 + seed*13 + 1)
	}
	return d
}

func i8(v ...int8) []byte       { return tosa.Int8Data(v) }
func i32(v ...int32) []byte     { return tosa.Int32Data(v) }
func nhwc(n, h, w, c int) []int { return []int{n, h, w, c} }

var fixtureCases = map[string]fixtureCase{
	"clamp_i8": {exact: true, opt: Options{DebugNames: true}, build: func(b *tosa.Builder) {
		x := b.Input("input_0", tosa.Int8, 1, 4, 4, 3)
		y := b.AddOpShaped(tosa.OpClamp, tosa.Attr{ClampMin: i8(-128), ClampMax: i8(100), NanMode: tosa.NanPropagate},
			[]string{x}, "output_0", tosa.Int8, nhwc(1, 4, 4, 3))
		b.Output(y)
	}},
	"conv2d_rescale_i8": {build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		w := b.AddConst("weights", tosa.Int8, []int{8, 1, 1, 3}, pattern8(24, 1))
		bias := b.AddConst("bias", tosa.Int32, []int{8}, i32(0, 5, -10, 100, 0, 5, -10, 100))
		izp := b.AddConst("input_zp", tosa.Int8, []int{1}, i8(-1))
		wzp := b.AddConst("weight_zp", tosa.Int8, []int{1}, i8(0))
		acc := b.AddOpShaped(tosa.OpConv2D, tosa.Attr{Pad: []int{0, 0, 0, 0}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
			[]string{x, w, bias, izp, wzp}, "acc", tosa.Int32, nhwc(1, 4, 4, 8))
		m0, m1 := int32(1073741824), int32(1518500250)
		mult := b.AddConst("multiplier", tosa.Int32, []int{8}, i32(m0, m1, m0, m1, m0, m1, m0, m1))
		shift := b.AddConst("shift", tosa.Int8, []int{8}, i8(38, 39, 38, 39, 38, 39, 38, 39))
		rizp := b.AddConst("rs_input_zp", tosa.Int32, []int{1}, i32(0))
		rozp := b.AddConst("rs_output_zp", tosa.Int8, []int{1}, i8(5))
		y := b.AddOpShaped(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound, PerChannel: true},
			[]string{acc, mult, shift, rizp, rozp}, "y", tosa.Int8, nhwc(1, 4, 4, 8))
		b.Output(y)
	}},
	"ops/add_i32": {exact: true, build: func(b *tosa.Builder) {
		a := b.Input("a", tosa.Int32, 1, 4, 4, 3)
		c := b.Input("b", tosa.Int32, 1, 1, 1, 3)
		b.Output(b.AddOpShaped(tosa.OpAdd, tosa.Attr{}, []string{a, c}, "y", tosa.Int32, nhwc(1, 4, 4, 3)))
	}},
	"ops/avg_pool2d_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		izp := b.AddConst("izp", tosa.Int8, []int{1}, i8(-3))
		ozp := b.AddConst("ozp", tosa.Int8, []int{1}, i8(-3))
		b.Output(b.AddOpShaped(tosa.OpAvgPool2D, tosa.Attr{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 0, 0, 0}, AccType: tosa.Int32},
			[]string{x, izp, ozp}, "y", tosa.Int8, nhwc(1, 2, 2, 3)))
	}},
	"ops/concat_i8": {exact: true, build: func(b *tosa.Builder) {
		a := b.Input("a", tosa.Int8, 1, 4, 4, 3)
		c := b.Input("b", tosa.Int8, 1, 4, 4, 3)
		b.Output(b.AddOpShaped(tosa.OpConcat, tosa.Attr{Axis: 3}, []string{a, c}, "y", tosa.Int8, nhwc(1, 4, 4, 6)))
	}},
	"ops/conv2d_f32": {exact: true,
		// The fixture makes the 8-element bias a graph constant too.
		opt: Options{GraphConstant: func(t *tosa.Tensor) bool { return t.Name == "bias" }},
		build: func(b *tosa.Builder) {
			x := b.Input("x", tosa.FP32, 1, 4, 4, 3)
			ws := make([]float32, 8*3*3*3)
			for i := range ws {
				ws[i] = float32(i%7) - 3
			}
			w := b.AddConst("w", tosa.FP32, []int{8, 3, 3, 3}, tosa.FP32Data(ws))
			bias := b.AddConst("bias", tosa.FP32, []int{8}, tosa.FP32Data([]float32{1, 2, 3, 4, 5, 6, 7, 8}))
			zp := b.AddConst("zp", tosa.FP32, []int{1}, tosa.FP32Data([]float32{0}))
			b.Output(b.AddOpShaped(tosa.OpConv2D, tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.FP32},
				[]string{x, w, bias, zp, zp}, "y", tosa.FP32, nhwc(1, 4, 4, 8)))
		}},
	"ops/depthwise_conv2d_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		w := b.AddConst("w", tosa.Int8, []int{3, 3, 3, 1}, pattern8(27, 2))
		bias := b.AddConst("bias", tosa.Int32, []int{3}, i32(1, 2, 3))
		izp := b.AddConst("izp", tosa.Int8, []int{1}, i8(-128))
		wzp := b.AddConst("wzp", tosa.Int8, []int{1}, i8(0))
		b.Output(b.AddOpShaped(tosa.OpDepthwiseConv2D, tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
			[]string{x, w, bias, izp, wzp}, "y", tosa.Int32, nhwc(1, 4, 4, 3)))
	}},
	"ops/max_pool2d_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		b.Output(b.AddOpShaped(tosa.OpMaxPool2D, tosa.Attr{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 0, 0, 0}, NanMode: tosa.NanPropagate},
			[]string{x}, "y", tosa.Int8, nhwc(1, 2, 2, 3)))
	}},
	"ops/mul_i8": {exact: true, build: func(b *tosa.Builder) {
		a := b.Input("a", tosa.Int8, 1, 4, 4, 3)
		c := b.Input("b", tosa.Int8, 1, 4, 4, 3)
		shift := b.AddConst("shift", tosa.Int8, []int{1}, i8(0))
		b.Output(b.AddOpShaped(tosa.OpMul, tosa.Attr{}, []string{a, c, shift}, "y", tosa.Int32, nhwc(1, 4, 4, 3)))
	}},
	"ops/pad_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		p := b.AddConstShape("padding", 0, 0, 1, 1, 1, 1, 0, 0)
		pc := b.AddConst("pad_const", tosa.Int8, []int{1}, i8(-128))
		b.Output(b.AddOpShaped(tosa.OpPad, tosa.Attr{}, []string{x, p, pc}, "y", tosa.Int8, nhwc(1, 6, 6, 3)))
	}},
	"ops/reshape_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		s := b.AddConstShape("new_shape", 1, 48)
		b.Output(b.AddOpShaped(tosa.OpReshape, tosa.Attr{}, []string{x, s}, "y", tosa.Int8, []int{1, 48}))
	}},
	"ops/resize_bilinear_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		sc := b.AddConstShape("scale", 2, 1, 2, 1)
		off := b.AddConstShape("offset", 0, 0)
		bo := b.AddConstShape("border", 1, 1)
		b.Output(b.AddOpShaped(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeBilinear}, []string{x, sc, off, bo}, "y", tosa.Int32, nhwc(1, 8, 8, 3)))
	}},
	"ops/resize_nearest_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		sc := b.AddConstShape("scale", 4, 2, 4, 2)
		off := b.AddConstShape("offset", -1, -1)
		bo := b.AddConstShape("border", 1, 1)
		b.Output(b.AddOpShaped(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeNearest}, []string{x, sc, off, bo}, "y", tosa.Int8, nhwc(1, 8, 8, 3)))
	}},
	"ops/table_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		tb := b.AddConst("table", tosa.Int8, []int{256}, pattern8(256, 3))
		b.Output(b.AddOpShaped(tosa.OpTable, tosa.Attr{}, []string{x, tb}, "y", tosa.Int8, nhwc(1, 4, 4, 3)))
	}},
	"ops/transpose_conv2d_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		w := b.AddConst("w", tosa.Int8, []int{8, 3, 3, 3}, pattern8(216, 4))
		bias := b.AddConst("bias", tosa.Int32, []int{8}, make([]byte, 32))
		zp := b.AddConst("zp", tosa.Int8, []int{1}, i8(0))
		b.Output(b.AddOpShaped(tosa.OpTransposeConv2D, tosa.Attr{OutPad: []int{0, 0, 0, 0}, Stride: []int{2, 2}, AccType: tosa.Int32},
			[]string{x, w, bias, zp, zp}, "y", tosa.Int32, nhwc(1, 9, 9, 8)))
	}},
	"ops/transpose_i8": {exact: true, build: func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 4, 4, 3)
		b.Output(b.AddOpShaped(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 3, 1, 2}}, []string{x}, "y", tosa.Int8, nhwc(1, 3, 4, 4)))
	}},
}

// fixtureGraph builds the graph of a fixture case (without tosa validation, which is not the
// subject here).
func fixtureGraph(t testing.TB, name string) *tosa.Graph {
	t.Helper()
	c, ok := fixtureCases[name]
	if !ok {
		t.Fatalf("no graph for fixture %s", name)
	}
	b := tosa.NewBuilder()
	c.build(b)
	if err := b.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.Graph()
}
