package ref

import (
	"errors"
	"slices"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// EXT-INT16 rows used by a16w8 graphs, against values computed by hand from the TOSA 1.0
// pseudocode (tosa.md §2): CONV2D i16×i8 → i48 (accumulator beyond int32, the int48 REQUIRE),
// RESCALE i48 → i16 with apply_scale_16 (round half up, saturation, the int32 REQUIRE), RESCALE
// i16 → i8 with scale32, RESIZE BILINEAR i16 → i48, CLAMP i16, and the zero-point ERROR_IF.

func run1(t *testing.T, build func(b *tosa.Builder) string, in *tosa.Tensor) ([]int64, error) {
	t.Helper()
	b := tosa.NewBuilder()
	b.Input(in.Name, in.Type, in.Shape...)
	b.Output(build(b))
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(g, map[string]*tosa.Tensor{in.Name: in})
	if err != nil {
		return nil, err
	}
	return out[g.Outputs[0]].Ints()
}

func i16t(shape []int, v ...int16) *tosa.Tensor {
	return &tosa.Tensor{Name: "x", Shape: shape, Type: tosa.Int16, Data: tosa.Int16Data(v)}
}

func TestInt16Conv2D(t *testing.T) {
	conv := func(bias int64, izp int16) func(b *tosa.Builder) string {
		return func(b *tosa.Builder) string {
			w := b.AddConst("w", tosa.Int8, []int{1, 1, 1, 2}, tosa.Int8Data([]int8{127, -128}))
			bs := b.AddConst("b", tosa.Int48, []int{1}, tosa.Int48Data([]int64{bias}))
			iz := b.AddConst("izp", tosa.Int16, []int{1}, tosa.Int16Data([]int16{izp}))
			wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
			return b.AddOp(tosa.OpConv2D, tosa.Attr{Pad: []int{0, 0, 0, 0}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int48},
				[]string{"x", w, bs, iz, wz}, "y", tosa.Int48)
		}
	}
	x := i16t([]int{1, 1, 1, 2}, 32767, -32768)
	// 32767·127 + (-32768)·(-128) + 2^40 = 4161409 + 4194304 + 1099511627776
	got, err := run1(t, conv(1<<40, 0), x)
	if err != nil || !slices.Equal(got, []int64{1099519983489}) {
		t.Errorf("conv i16: %v %v", got, err)
	}
	// bias 2^47 - 1 - 8355712: the sum reaches 2^47 + 1 and the int48 REQUIRE fails
	_, err = run1(t, conv(1<<47-1-8355712, 0), x)
	var oe *OpError
	if !errors.As(err, &oe) || oe.Status != Unpredictable {
		t.Errorf("int48 overflow: %v", err)
	}
	// ... while one less fits exactly: 2^47 - 1
	if got, err := run1(t, conv(1<<47-1-8355713, 0), x); err != nil || got[0] != 1<<47-1 {
		t.Errorf("int48 max: %v %v", got, err)
	}
	// a nonzero int16 input zero point is an ERROR_IF
	if _, err := run1(t, conv(0, 1), x); !errors.As(err, &oe) || oe.Status != Error {
		t.Errorf("int16 input_zp 1: %v", err)
	}
}

func TestInt16Rescale(t *testing.T) {
	rescale := func(inT, outT tosa.DType, scale32 bool, mul int64, shift int8, ozp int64) func(b *tosa.Builder) string {
		return func(b *tosa.Builder) string {
			var m string
			if scale32 {
				m = b.AddConst("m", tosa.Int32, []int{1}, tosa.Int32Data([]int32{int32(mul)}))
			} else {
				m = b.AddConst("m", tosa.Int16, []int{1}, tosa.Int16Data([]int16{int16(mul)}))
			}
			s := b.AddConst("s", tosa.Int8, []int{1}, tosa.Int8Data([]int8{shift}))
			iz := b.AddConst("iz", inT, []int{1}, mustData(inT, 0))
			oz := b.AddConst("oz", outT, []int{1}, mustData(outT, ozp))
			return b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: scale32, RoundingMode: tosa.SingleRound}, []string{"x", m, s, iz, oz}, "y", outT)
		}
	}
	x48 := &tosa.Tensor{Name: "x", Shape: []int{6}, Type: tosa.Int48,
		Data: tosa.Int48Data([]int64{1099519983489, -1099519983489, -3 << 29, -1 << 29, 1 << 46, -(1 << 46)})}
	// apply_scale_16 with multiplier 2^14, shift 44: round_half_up(v / 2^30), then clip to int16
	// 1099519983489/2^30 = 1024.0077 → 1024; -1024.0077 → -1024; -1.5 → -1 (half up);
	// -0.5 → 0; 2^16 → 32767; -2^16 → -32768
	got, err := run1(t, rescale(tosa.Int48, tosa.Int16, false, 1<<14, 44, 0), x48)
	if err != nil || !slices.Equal(got, []int64{1024, -1024, -1, 0, 32767, -32768}) {
		t.Errorf("rescale i48→i16: %v %v", got, err)
	}
	// shift 14 leaves 2^46 beyond int32: REQUIRE fails
	var oe *OpError
	if _, err := run1(t, rescale(tosa.Int48, tosa.Int16, false, 1<<14, 14, 0), x48); !errors.As(err, &oe) || oe.Status != Unpredictable {
		t.Errorf("apply_scale_16 result beyond int32: %v", err)
	}
	// scale32 with an INT48 input is an ERROR_IF
	if _, err := run1(t, rescale(tosa.Int48, tosa.Int16, true, 1<<30, 44, 0), x48); !errors.As(err, &oe) || oe.Status != Error {
		t.Errorf("scale32 INT48: %v", err)
	}
	// i16 → i8, scale32, multiplier 2^30, shift 33 (1/8), output zero point -5:
	// 1000/8 = 125 → 120; -1000/8 → -130 → -128 (clip); 12/8 = 1.5 → 2 → -3; -12/8 = -1.5 → -1 → -6
	got, err = run1(t, rescale(tosa.Int16, tosa.Int8, true, 1<<30, 33, -5), i16t([]int{4}, 1000, -1000, 12, -12))
	if err != nil || !slices.Equal(got, []int64{120, -128, -3, -6}) {
		t.Errorf("rescale i16→i8: %v %v", got, err)
	}
}

func mustData(t tosa.DType, v int64) []byte {
	d, err := tosa.IntData(t, []int64{v})
	if err != nil {
		panic(err)
	}
	return d
}

func TestInt16ResizeClamp(t *testing.T) {
	x := i16t([]int{1, 2, 2, 1}, -32768, 32767, 0, 100)
	// 2x bilinear, half-pixel: scale [4,2,4,2], offset [-1,-1], border [1,1]
	got, err := run1(t, func(b *tosa.Builder) string {
		sc := b.AddConstShape("sc", 4, 2, 4, 2)
		of := b.AddConstShape("of", -1, -1)
		bo := b.AddConstShape("bo", 1, 1)
		return b.AddOp(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeBilinear}, []string{"x", sc, of, bo}, "y", tosa.Int48)
	}, x)
	if err != nil || len(got) != 16 {
		t.Fatalf("resize: %v %v", got, err)
	}
	// (0,0): y = x = -1 → iy = ix = -1, dy = dx = 3, all four taps in[0,0]: -32768·16
	// (1,1): y = x = 1 → iy = ix = 0, dy = dx = 1: 9·(-32768) + 3·32767 + 3·0 + 1·100
	// (0,3): y = -1 (row 0 twice, dy 3), x = 5 → ix = 1, dx = 1, ix1 = min(2, 1) = 1: in[0,1]·16
	want := map[int]int64{0: -524288, 5: -196511, 3: 32767 * 16}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("resize output %d: %d, want %d", i, got[i], w)
		}
	}
	got, err = run1(t, func(b *tosa.Builder) string {
		return b.AddOp(tosa.OpClamp, tosa.Attr{ClampMin: tosa.Int16Data([]int16{-300}), ClampMax: tosa.Int16Data([]int16{20000}), NanMode: tosa.NanPropagate},
			[]string{"x"}, "y", tosa.Int16)
	}, x)
	if err != nil || !slices.Equal(got, []int64{-300, 20000, 0, 100}) {
		t.Errorf("clamp i16: %v %v", got, err)
	}
}
