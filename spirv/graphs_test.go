package spirv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// Larger graphs than the one-op fixtures: a complete int8 super-resolution network and graphs
// that exercise every element type, multi-output ops, shared and routed tensors.

func constI8(b *tosa.Builder, name string, shape []int, seed int) string {
	return b.AddConst(name, tosa.Int8, shape, pattern8(tosa.NumElements(shape), seed))
}

func constI32(b *tosa.Builder, name string, v ...int32) string {
	return b.AddConst(name, tosa.Int32, []int{len(v)}, i32(v...))
}

func fill32(n int, f func(i int) int32) []int32 {
	r := make([]int32, n)
	for i := range r {
		r[i] = f(i)
	}
	return r
}

// convRescale appends CONV2D (acc INT32) + per-channel RESCALE to int8.
func convRescale(b *tosa.Builder, p, x string, ic, oc, k, hw int, izp int8) string {
	w := constI8(b, p+"_w", []int{oc, k, k, ic}, oc+k)
	bias := b.AddConst(p+"_bias", tosa.Int32, []int{oc}, i32(fill32(oc, func(i int) int32 { return int32(i*37 - 100) })...))
	zin := b.AddConst(p+"_izp", tosa.Int8, []int{1}, i8(izp))
	zw := b.AddConst(p+"_wzp", tosa.Int8, []int{1}, i8(0))
	acc := b.AddOpShaped(tosa.OpConv2D, tosa.Attr{Pad: []int{k / 2, k / 2, k / 2, k / 2}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
		[]string{x, w, bias, zin, zw}, p+"_acc", tosa.Int32, nhwc(1, hw, hw, oc))
	mult := b.AddConst(p+"_mult", tosa.Int32, []int{oc}, i32(fill32(oc, func(i int) int32 { return 1<<30 + int32(i)*1000 })...))
	sh := make([]int8, oc)
	for i := range sh {
		sh[i] = int8(35 + i%4)
	}
	shift := b.AddConst(p+"_shift", tosa.Int8, []int{oc}, i8(sh...))
	rzi := b.AddConst(p+"_rs_izp", tosa.Int32, []int{1}, i32(0))
	rzo := b.AddConst(p+"_rs_ozp", tosa.Int8, []int{1}, i8(-128))
	return b.AddOpShaped(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.DoubleRound, PerChannel: true},
		[]string{acc, mult, shift, rzi, rzo}, p+"_out", tosa.Int8, nhwc(1, hw, hw, oc))
}

var extraGraphs = map[string]func(b *tosa.Builder){
	// ESPCN-like x2 upscaler: conv-relu, conv, depth-to-space (reshape/transpose/reshape), plus a
	// bilinear global residual added in int32.
	"upscaler_i8": func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int8, 1, 8, 8, 3)
		h := convRescale(b, "c1", x, 3, 16, 3, 8, -128)
		h = b.AddOpShaped(tosa.OpClamp, tosa.Attr{ClampMin: i8(-128), ClampMax: i8(127), NanMode: tosa.NanPropagate}, []string{h}, "relu1", tosa.Int8, nhwc(1, 8, 8, 16))
		h = convRescale(b, "c2", h, 16, 12, 3, 8, -128)
		r1 := b.AddOpShaped(tosa.OpReshape, tosa.Attr{}, []string{h, b.AddConstShape("s1", 1, 8, 8, 2, 2, 3)}, "d2s_r1", tosa.Int8, []int{1, 8, 8, 2, 2, 3})
		tr := b.AddOpShaped(tosa.OpTranspose, tosa.Attr{Perms: []int{0, 1, 3, 2, 4, 5}}, []string{r1}, "d2s_t", tosa.Int8, []int{1, 8, 2, 8, 2, 3})
		up := b.AddOpShaped(tosa.OpReshape, tosa.Attr{}, []string{tr, b.AddConstShape("s2", 1, 16, 16, 3)}, "d2s", tosa.Int8, nhwc(1, 16, 16, 3))
		bl := b.AddOpShaped(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeBilinear},
			[]string{x, b.AddConstShape("scale", 4, 2, 4, 2), b.AddConstShape("offset", -1, -1), b.AddConstShape("border", 1, 1)},
			"bilinear", tosa.Int32, nhwc(1, 16, 16, 3))
		one := b.AddConst("one", tosa.Int32, []int{1}, i32(1<<30))
		s30 := b.AddConst("s30", tosa.Int8, []int{1}, i8(32))
		z32 := b.AddConst("z32", tosa.Int32, []int{1}, i32(0))
		z8 := b.AddConst("z8", tosa.Int8, []int{1}, i8(-128))
		ri := b.AddOpShaped(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound},
			[]string{up, one, s30, z8, z32}, "up32", tosa.Int32, nhwc(1, 16, 16, 3))
		sum := b.AddOpShaped(tosa.OpAdd, tosa.Attr{}, []string{ri, bl}, "sum", tosa.Int32, nhwc(1, 16, 16, 3))
		y := b.AddOpShaped(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound},
			[]string{sum, one, s30, z32, z8}, "y", tosa.Int8, nhwc(1, 16, 16, 3))
		b.Output(y)
	},
	// int16 / int48 path: CONV2D i16 x i8 with an i48 bias and acc INT48, RESCALE i48 → i16,
	// TABLE i16, ARITHMETIC_RIGHT_SHIFT, MAX_POOL2D; the input is also routed to an output.
	"int16_i48": func(b *tosa.Builder) {
		x := b.Input("x", tosa.Int16, 1, 4, 4, 2)
		w := constI8(b, "w", []int{4, 1, 1, 2}, 7)
		bias := b.AddConst("bias48", tosa.Int48, []int{4}, tosa.Int48Data([]int64{-1, 1 << 40, -(1 << 46), 5}))
		zi := b.AddConst("zi", tosa.Int16, []int{1}, tosa.Int16Data([]int16{0}))
		zw := b.AddConst("zw", tosa.Int8, []int{1}, i8(0))
		acc := b.AddOpShaped(tosa.OpConv2D, tosa.Attr{Pad: []int{0, 0, 0, 0}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int48, LocalBound: true},
			[]string{x, w, bias, zi, zw}, "acc48", tosa.Int48, nhwc(1, 4, 4, 4))
		z48 := b.AddConst("z48", tosa.Int48, []int{1}, tosa.Int48Data([]int64{-3}))
		z16 := b.AddConst("z16", tosa.Int16, []int{1}, tosa.Int16Data([]int16{-300}))
		r := b.AddOpShaped(tosa.OpRescale, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound},
			[]string{acc, constI32(b, "m", 1<<30), b.AddConst("sh", tosa.Int8, []int{1}, i8(31)), z48, z16}, "r16", tosa.Int16, nhwc(1, 4, 4, 4))
		tbl := b.AddConst("table", tosa.Int16, []int{513}, tosa.Int16Data(func() []int16 {
			v := make([]int16, 513)
			for i := range v {
				v[i] = int16(i*64 - 16384)
			}
			return v
		}()))
		t32 := b.AddOpShaped(tosa.OpTable, tosa.Attr{}, []string{r, tbl}, "t32", tosa.Int32, nhwc(1, 4, 4, 4))
		sh := b.AddOpShaped(tosa.OpArithmeticRightShift, tosa.Attr{Round: true}, []string{t32, constI32(b, "k", 7, 7, 7, 7)}, "shr", tosa.Int32, nhwc(1, 4, 4, 4))
		mp := b.AddOpShaped(tosa.OpMaxPool2D, tosa.Attr{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 1, 0, 1}, NanMode: tosa.NanIgnore}, []string{sh}, "pool", tosa.Int32, nhwc(1, 2, 2, 4))
		b.Output(mp, x)
	},
	// Floating-point and bool types, FFT2D / RFFT2D (struct results split by
	// OpCompositeExtract), SELECT with an inline bool constant, IDENTITY, CONCAT of one tensor
	// twice, MATMUL with a constant operand, a graph output listed twice.
	"float_bool": func(b *tosa.Builder) {
		re := b.Input("re", tosa.FP32, 1, 4, 4)
		im := b.Input("im", tosa.FP32, 1, 4, 4)
		h := b.Input("h", tosa.FP16, 1, 3)
		fo := []string{"fft_re", "fft_im"}
		b.Graph().Tensors = append(b.Graph().Tensors, &tosa.Tensor{Name: fo[0], Shape: []int{1, 4, 4}, Type: tosa.FP32}, &tosa.Tensor{Name: fo[1], Shape: []int{1, 4, 4}, Type: tosa.FP32})
		b.Graph().Ops = append(b.Graph().Ops, &tosa.Operator{Op: tosa.OpFFT2D, Attr: tosa.Attr{Inverse: true}, Inputs: []string{re, im}, Outputs: fo})
		ro := []string{"rfft_re", "rfft_im"}
		b.Graph().Tensors = append(b.Graph().Tensors, &tosa.Tensor{Name: ro[0], Shape: []int{1, 4, 3}, Type: tosa.FP32}, &tosa.Tensor{Name: ro[1], Shape: []int{1, 4, 3}, Type: tosa.FP32})
		b.Graph().Ops = append(b.Graph().Ops, &tosa.Operator{Op: tosa.OpRFFT2D, Attr: tosa.Attr{LocalBound: true}, Inputs: []string{fo[1]}, Outputs: ro})
		cat := b.AddOpShaped(tosa.OpConcat, tosa.Attr{Axis: 2}, []string{ro[0], ro[0], ro[1]}, "cat", tosa.FP32, []int{1, 4, 9})
		bm := b.AddConst("bmat", tosa.FP32, []int{1, 9, 2}, tosa.FP32Data([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9}))
		zf := b.AddConst("zf", tosa.FP32, []int{1}, tosa.FP32Data([]float32{0}))
		mm := b.AddOpShaped(tosa.OpMatMul, tosa.Attr{}, []string{cat, bm, zf, zf}, "mm", tosa.FP32, []int{1, 4, 2})
		cl := b.AddOpShaped(tosa.OpClamp, tosa.Attr{ClampMin: []byte{0x00, 0xbc}, ClampMax: []byte{0x00, 0x3c}, NanMode: tosa.NanPropagate}, []string{h}, "hclamp", tosa.FP16, []int{1, 3})
		bf := b.AddOpShaped(tosa.OpCast, tosa.Attr{}, []string{cl}, "bf", tosa.BF16, []int{1, 3})
		f32 := b.AddOpShaped(tosa.OpCast, tosa.Attr{}, []string{bf}, "f32", tosa.FP32, []int{1, 3})
		gt := b.AddOpShaped(tosa.OpGreater, tosa.Attr{}, []string{f32, b.AddConst("thr", tosa.FP32, []int{1, 1}, tosa.FP32Data([]float32{0.25}))}, "gt", tosa.Bool, []int{1, 3})
		mask := b.AddConst("mask", tosa.Bool, []int{3}, tosa.BoolData([]bool{true, false, true}))
		both := b.AddOpShaped(tosa.OpLogicalAnd, tosa.Attr{}, []string{gt, b.AddOpShaped(tosa.OpReshape, tosa.Attr{}, []string{mask, b.AddConstShape("ms", 1, 3)}, "mask2", tosa.Bool, []int{1, 3})}, "both", tosa.Bool, []int{1, 3})
		sel := b.AddOpShaped(tosa.OpSelect, tosa.Attr{}, []string{both, f32, b.AddConst("alt", tosa.FP32, []int{1, 3}, tosa.FP32Data([]float32{9, 8, 7}))}, "sel", tosa.FP32, []int{1, 3})
		id := b.AddOpShaped(tosa.OpIdentity, tosa.Attr{}, []string{sel}, "sel_id", tosa.FP32, []int{1, 3})
		b.Output(mm, id, fo[0], mm)
	},
}

func buildExtra(t testing.TB, name string) *tosa.Graph {
	t.Helper()
	b := tosa.NewBuilder()
	extraGraphs[name](b)
	if err := b.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.Graph()
}

// TestRoundTripGraphs writes each graph (with and without debug names), validates the module,
// reads it back with the constants and checks the graph and a re-write. With SPIRV_DUMP_DIR set
// the modules are also written there (to run spirv-val on them).
func TestRoundTripGraphs(t *testing.T) {
	dump := os.Getenv("SPIRV_DUMP_DIR")
	for name := range extraGraphs {
		for _, names := range []bool{false, true} {
			g := buildExtra(t, name)
			res, err := Write(g, Options{DebugNames: names})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := Validate(res.Module); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, Disassemble(res.Module))
			}
			spv, _ := res.Bytes()
			if dump != "" {
				suffix := ""
				if names {
					suffix = "_names"
				}
				if err := os.WriteFile(filepath.Join(dump, name+suffix+".spv"), spv, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Determinism: the same graph writes the same words.
			again, _ := Write(buildExtra(t, name), Options{DebugNames: names})
			if b2, _ := again.Bytes(); !bytes.Equal(spv, b2) {
				t.Fatalf("%s: output is not deterministic", name)
			}
			var consts [][]byte
			for i, c := range res.Constants {
				if c.ID != uint32(i) {
					t.Fatalf("%s: graph constant %d has id %d (not dense)", name, i, c.ID)
				}
				consts = append(consts, c.Data)
			}
			d, err := Read(spv, ReadOptions{Constants: consts})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := graphsEquivalent(d.Graph, withoutIdentity(g)); err != nil {
				t.Errorf("%s (names %v): %v", name, names, err)
			}
			if names {
				for _, c := range res.Constants {
					if d.Graph.Tensor(c.Name) == nil {
						t.Errorf("%s: constant %q lost its name", name, c.Name)
					}
				}
			}
			res2, err := Write(d.Graph, d.WriteOptions())
			if err != nil {
				t.Fatalf("%s: re-write: %v", name, err)
			}
			if b2, _ := res2.Bytes(); !bytes.Equal(spv, b2) {
				t.Errorf("%s (names %v): re-write differs: %s", name, names, diffModules(res2.Module, res.Module))
			}
		}
	}
}

// withoutIdentity replaces IDENTITY operators by renaming (the writer aliases them).
func withoutIdentity(g *tosa.Graph) *tosa.Graph {
	alias := map[string]string{}
	out := &tosa.Graph{Tensors: g.Tensors, Inputs: g.Inputs}
	for _, op := range g.Ops {
		if op.Op == tosa.OpIdentity {
			alias[op.Outputs[0]] = op.Inputs[0]
			continue
		}
		c := *op
		c.Inputs = nil
		for _, in := range op.Inputs {
			if a, ok := alias[in]; ok {
				in = a
			}
			c.Inputs = append(c.Inputs, in)
		}
		out.Ops = append(out.Ops, &c)
	}
	for _, o := range g.Outputs {
		if a, ok := alias[o]; ok {
			o = a
		}
		out.Outputs = append(out.Outputs, o)
	}
	return out
}
