package ref

import (
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// bigScale32 is apply_scale_32 computed with arbitrary precision: floor((v*m + round) / 2^s).
func bigScale32(v, m int32, s int8, dbl bool) int64 {
	round := new(big.Int).Lsh(big.NewInt(1), uint(s-1))
	if dbl && s > 31 {
		c := big.NewInt(1 << 30)
		if v < 0 {
			c.Neg(c)
		}
		round.Add(round, c)
	}
	p := new(big.Int).Mul(big.NewInt(int64(v)), big.NewInt(int64(m)))
	p.Add(p, round)
	d := new(big.Int).Lsh(big.NewInt(1), uint(s))
	q := new(big.Int).Div(p, d) // Euclidean; d > 0 so this is floor
	return q.Int64()
}

func TestApplyScale32Edges(t *testing.T) {
	cases := []struct {
		v, m  int32
		s     int8
		dbl   bool
		want  int32
		fails bool
	}{
		{5, 1 << 30, 30, false, 5, false},             // unity
		{-7, 1 << 30, 30, true, -7, false},            // unity, double round is a no-op for shift <= 31
		{3, 1 << 30, 31, false, 2, false},             // 1.5 -> 2 (half up)
		{-3, 1 << 30, 31, false, -1, false},           // -1.5 -> -1 (half up, not away from zero)
		{-3, 1 << 30, 31, true, -1, false},            // shift 31: no double-round correction
		{1, 1 << 30, 32, false, 0, false},             // 0.25 -> 0
		{1, 1 << 30, 32, true, 1, false},              // double round: (1*2^30 + 2^31 + 2^30) >> 32 = 1
		{-2, 1 << 30, 32, false, 0, false},            // -0.5 -> 0
		{-2, 1 << 30, 32, true, -1, false},            // double round: correction follows the sign of value
		{math.MaxInt32, 1 << 30, 62, false, 0, false}, // tiny scale
		{math.MinInt32, math.MaxInt32, 62, true, -1, false},
		{math.MaxInt32, math.MaxInt32, 32, false, 1073741823, false},
		{math.MinInt32, 1 << 30, 32, false, -(1 << 29), false},
		{1, -1, 30, false, 0, true},            // multiplier < 0
		{1, 1 << 30, 1, false, 0, true},        // shift < 2
		{1, 1 << 30, 63, false, 0, true},       // shift > 62
		{1 << 29, 1 << 30, 30, false, 0, true}, // value >= 2^(shift-1)
		{-(1 << 29), 1 << 30, 30, false, -(1 << 29), false},
		{-(1 << 29) - 1, 1 << 30, 30, false, 0, true}, // value < -2^(shift-1)
		{math.MaxInt32, 1 << 30, 31, false, 0, true},
	}
	for _, c := range cases {
		got, err := ApplyScale32(c.v, c.m, c.s, c.dbl)
		if c.fails {
			if err == nil {
				t.Errorf("apply_scale_32(%d, %d, %d, %v) = %d, want a REQUIRE failure", c.v, c.m, c.s, c.dbl, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("apply_scale_32(%d, %d, %d, %v) = %d, %v; want %d", c.v, c.m, c.s, c.dbl, got, err, c.want)
		}
		if b := bigScale32(c.v, c.m, c.s, c.dbl); int64(got) != b {
			t.Errorf("apply_scale_32(%d, %d, %d, %v) = %d, exact %d", c.v, c.m, c.s, c.dbl, got, b)
		}
	}
}

func TestApplyScale32Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := int8(2 + rng.IntN(61))
		m := int32(rng.Uint32() >> 1)
		var v int32
		if s <= 32 {
			lim := int64(1) << (s - 1)
			v = int32(rng.Int64N(2*lim) - lim)
		} else {
			v = int32(rng.Uint32())
		}
		dbl := rng.IntN(2) == 0
		want := bigScale32(v, m, s, dbl)
		got, err := ApplyScale32(v, m, s, dbl)
		if want < math.MinInt32 || want > math.MaxInt32 {
			if err == nil {
				t.Fatalf("apply_scale_32(%d, %d, %d, %v): no REQUIRE failure for %d", v, m, s, dbl, want)
			}
			continue
		}
		if err != nil || int64(got) != want {
			t.Fatalf("apply_scale_32(%d, %d, %d, %v) = %d, %v; want %d", v, m, s, dbl, got, err, want)
		}
	}
}

func TestApplyScale16(t *testing.T) {
	if r, err := ApplyScale16(12345, 1<<14, 14); err != nil || r != 12345 {
		t.Errorf("unity: %d, %v", r, err)
	}
	if r, err := ApplyScale16(-3, 1<<14, 15); err != nil || r != -1 {
		t.Errorf("-1.5: %d, %v", r, err)
	}
	if r, err := ApplyScale16(1<<46, 1<<14, 14); err == nil {
		t.Errorf("int32 overflow not reported: %d", r)
	}
	if _, err := ApplyScale16(1, -1, 14); err == nil {
		t.Error("negative multiplier accepted")
	}
}

func TestReciprocalScale(t *testing.T) {
	known := []struct {
		count int
		m     int32
		s     int8
	}{
		{1, 1<<30 + 1, 30},
		{2, 1<<30 + 1, 31},
		{3, int32(((int64(1)<<30 + 1) << 2) / 3), 32},
		{9, int32(((int64(1)<<30 + 1) << 4) / 9), 34},
	}
	for _, k := range known {
		if m, s := ReciprocalScale(k.count); m != k.m || s != k.s {
			t.Errorf("reciprocal_scale(%d) = %d, %d; want %d, %d", k.count, m, s, k.m, k.s)
		}
	}
	// multiplier in [2^30, 2^31), and averaging count equal values returns that value
	for count := 1; count <= 4096; count++ {
		m, s := ReciprocalScale(count)
		if m < 1<<30 || int64(m) >= 1<<31 || int(s) != 30+bits.Len(uint(count-1)) {
			t.Fatalf("reciprocal_scale(%d) = %d, %d", count, m, s)
		}
		for _, v := range []int32{-255, -128, -1, 0, 1, 127, 255} {
			got, err := ApplyScale32(v*int32(count), m, s, false)
			if err != nil || got != v {
				t.Fatalf("mean of %d x %d = %d, %v", count, v, got, err)
			}
		}
	}
}

func rescaleGraph(t *testing.T, attr tosa.Attr, inT, outT tosa.DType, mult, shift int64, izp, ozp int64) *tosa.Graph {
	t.Helper()
	b := tosa.NewBuilder()
	x := b.Input("x", inT, 1, 4)
	mt := tosa.Int16
	if attr.Scale32 {
		mt = tosa.Int32
	}
	md, _ := tosa.IntData(mt, []int64{mult})
	m := b.AddConst("m", mt, []int{1}, md)
	s := b.AddConst("s", tosa.Int8, []int{1}, tosa.Int8Data([]int8{int8(shift)}))
	izd, _ := tosa.IntData(inT, []int64{izp})
	ozd, _ := tosa.IntData(outT, []int64{ozp})
	iz := b.AddConst("izp", inT, []int{1}, izd)
	oz := b.AddConst("ozp", outT, []int{1}, ozd)
	y := b.AddOp(tosa.OpRescale, attr, []string{x, m, s, iz, oz}, "y", outT)
	b.Output(y)
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRescaleErrors(t *testing.T) {
	x := &Value{Shape: []int{1, 4}, Type: tosa.Int8, Data: []int64{-128, -1, 0, 127}}
	// DOUBLE_ROUND without scale32 is an ERROR
	g := rescaleGraph(t, tosa.Attr{RoundingMode: tosa.DoubleRound}, tosa.Int8, tosa.Int8, 1<<14, 14, 0, 0)
	_, err := RunValues(g, map[string]*Value{"x": x})
	var oe *OpError
	if err == nil || !asOpError(err, &oe) || oe.Status != Error || oe.Op != tosa.OpRescale || !strings.Contains(err.Error(), "RESCALE") {
		t.Errorf("DOUBLE_ROUND without scale32: %v", err)
	}
	// a nonzero int32 input_zp is an ERROR
	x32 := &Value{Shape: []int{1, 4}, Type: tosa.Int32, Data: []int64{1, 2, 3, 4}}
	g = rescaleGraph(t, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound}, tosa.Int32, tosa.Int8, 1<<30, 30, 5, 0)
	if _, err := RunValues(g, map[string]*Value{"x": x32}); err == nil || !asOpError(err, &oe) || oe.Status != Error {
		t.Errorf("int32 input_zp: %v", err)
	}
	// uint8 in -> int8 out: 200 (stored as -56) with zp 128 -> 72
	g = rescaleGraph(t, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound, InputUnsigned: true}, tosa.Int8, tosa.Int8, 1<<30, 30, -128, 0)
	res, err := RunValues(g, map[string]*Value{"x": {Shape: []int{1, 4}, Type: tosa.Int8, Data: []int64{-56, 0, -1, 127}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res["y"].Data; got[0] != 72 || got[1] != -128 || got[2] != 127 || got[3] != -1 {
		t.Errorf("uint8 rescale: %v", got)
	}
	// int8 -> uint8 out with zp 128 (stored as -128): -1 -> 127; 127 -> 255 (stored -1)
	g = rescaleGraph(t, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound, OutputUnsigned: true}, tosa.Int8, tosa.Int8, 1<<30, 30, 0, -128)
	res, err = RunValues(g, map[string]*Value{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if got := res["y"].Data; got[0] != 0 || got[1] != 127 || got[2] != -128 || got[3] != -1 {
		t.Errorf("uint8 output rescale: %v", got)
	}
	// a shift out of range is UNPREDICTABLE
	g = rescaleGraph(t, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound}, tosa.Int8, tosa.Int8, 1<<30, 1, 0, 0)
	if _, err := RunValues(g, map[string]*Value{"x": x}); err == nil || !asOpError(err, &oe) || oe.Status != Unpredictable {
		t.Errorf("shift 1: %v", err)
	}
}

func asOpError(err error, p **OpError) bool {
	e, ok := err.(*OpError)
	*p = e
	return ok
}

func TestRunInputErrors(t *testing.T) {
	g := rescaleGraph(t, tosa.Attr{Scale32: true, RoundingMode: tosa.SingleRound}, tosa.Int8, tosa.Int8, 1<<30, 30, 0, 0)
	if _, err := RunValues(g, nil); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("missing input: %v", err)
	}
	bad := &Value{Shape: []int{1, 3}, Type: tosa.Int8, Data: []int64{1, 2, 3}}
	if _, err := RunValues(g, map[string]*Value{"x": bad}); err == nil {
		t.Error("wrong shape accepted")
	}
	bad = &Value{Shape: []int{1, 4}, Type: tosa.Int8, Data: []int64{1, 2, 3, 300}}
	if _, err := RunValues(g, map[string]*Value{"x": bad}); err == nil {
		t.Error("out-of-range value accepted")
	}
}

func BenchmarkSmallUpscaler(b *testing.B) {
	root := fixturesDir(b)
	fc := loadCase(b, root, filepath.Join(root, "small_upscaler", "00_izpm128_sr"))
	in, err := readNpy(filepath.Join(fc.dir, fc.c.Inputs[0]), fc.c.InputName)
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]*tosa.Tensor{fc.c.InputName: in}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(fc.g, inputs); err != nil {
			b.Fatal(err)
		}
	}
}
