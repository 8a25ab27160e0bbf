package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMultiplierShiftDocExamples(t *testing.T) {
	for _, c := range []struct {
		scale float64
		m     int32
		sh    int
	}{
		{0.0625, 1073741824, 34}, // the RESIZE 1/16 RESCALE of spec §4.3
		{3.7e-4, 1627277209, 42},
		{0.0123456, 1696766344, 37},
	} {
		m, sh, err := MultiplierShift(c.scale, 32)
		if err != nil || m != c.m || sh != c.sh {
			t.Errorf("MultiplierShift(%v) = (%d, %d, %v), want (%d, %d)", c.scale, m, sh, err, c.m, c.sh)
		}
	}
}

func TestMultiplierShiftRanges(t *testing.T) {
	// mantissa rounding up to 2^31 -> 2^30 with shift one less
	m, sh, err := MultiplierShift(math.Nextafter(1, 0)/2, 32) // 0.5 - tiny: rounds to 2^31
	if err != nil || m != 1<<30 || sh != 31 {
		t.Errorf("round-up case: (%d, %d, %v), want (%d, 31)", m, sh, err, 1<<30)
	}
	// tiny scales: shift clamped to 62, multiplier shifted right
	m, sh, err = MultiplierShift(math.Ldexp(0.75, -40), 32) // e = -40 -> sh = 71 -> M >>= 9
	if err != nil || sh != 62 || m != int32(math.RoundToEven(0.75*(1<<31)))>>9 {
		t.Errorf("tiny: (%d, %d, %v)", m, sh, err)
	}
	m, sh, err = MultiplierShift(1e-30, 32) // shift - 62 > 31: multiplier >> 31 = 0
	if err != nil || sh != 62 || m != 0 {
		t.Errorf("1e-30: (%d, %d, %v)", m, sh, err)
	}
	if m, sh, err = MultiplierShift(0, 32); err != nil || m != 0 || sh != 31 {
		t.Errorf("0: (%d, %d, %v)", m, sh, err)
	}
	// largest allowed: shift 2 <=> e = 29
	if _, sh, err = MultiplierShift(math.Ldexp(0.9, 29), 32); err != nil || sh != 2 {
		t.Errorf("2^29*0.9: shift %d, %v", sh, err)
	}
	for _, bad := range []float64{math.Ldexp(0.5, 30), -1, math.NaN(), math.Inf(1)} {
		if _, _, err := MultiplierShift(bad, 32); err == nil {
			t.Errorf("MultiplierShift(%v): no error", bad)
		}
	}
	if m, sh, err := MultiplierShift(0.0625, 16); err != nil || m != 1<<14 || sh != 18 {
		t.Errorf("width 16: (%d, %d, %v)", m, sh, err)
	}
	// property: M in [2^30, 2^31-1] and |M*2^-sh - s| <= 2^-31 * 2^e
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		s := math.Exp(r.Float64()*30 - 25)
		m, sh, err := MultiplierShift(s, 32)
		if err != nil {
			t.Fatal(s, err)
		}
		if m < 1<<30 && sh < 62 {
			t.Fatalf("%v: multiplier %d < 2^30", s, m)
		}
		if d := math.Abs(math.Ldexp(float64(m), -sh) - s); d > math.Ldexp(1, -sh) {
			t.Fatalf("%v: M=%d sh=%d off by %v", s, m, sh, d)
		}
	}
	ms, shs, err := MultipliersShifts(ConvRescaleScales(0.01, []float32{0.002, 0.004}, 0.05), 32)
	if err != nil || len(ms) != 2 || shs[0] != shs[1]+1 || ms[0] != ms[1] {
		t.Errorf("per-channel: %v %v %v", ms, shs, err)
	}
	if _, _, err := MultipliersShifts([]float64{0.1, -1}, 32); err == nil {
		t.Error("per-channel: no error for a negative scale")
	}
}

func TestApplyRescale32(t *testing.T) {
	m, sh, _ := MultiplierShift(0.0625, 32)
	for acc := int32(-2048); acc <= 2032; acc++ { // RESIZE accumulators: (acc + 8) >> 4
		want := (acc + 8) >> 4
		if want < -128 {
			want = -128
		}
		if want > 127 {
			want = 127
		}
		if got := ApplyRescale32(acc, 0, m, sh, 0, -128, 127); got != want {
			t.Fatalf("rescale(%d) = %d, want %d", acc, got, want)
		}
	}
}

func TestQParamsFormulas(t *testing.T) {
	inf := float32(math.Inf(1))
	if s, z := AffineQParams(inf, -inf, -128, 127, Eps16); s != 1 || z != 0 {
		t.Errorf("uninitialised: (%v, %d)", s, z)
	}
	// ReLU-like: zp = -128, scale = max/255
	if s, z := AffineQParams(0, 2.55, -128, 127, Eps16); z != -128 || s != float32(2.55)/255 {
		t.Errorf("relu: (%v, %d)", s, z)
	}
	// eps clamp
	if s, _ := AffineQParams(0, 1e-9, -128, 127, Eps12); s != Eps12 {
		t.Errorf("eps12: %v", s)
	}
	if s, z := SymmetricQParams(-1.27, 0.5, -127, 127, Eps16); z != 0 || s != float32(1.27)/127 {
		t.Errorf("symmetric: (%v, %d)", s, z)
	}
}

func TestQuantizeBiasAndWeights(t *testing.T) {
	sIn := float32(0.02)
	sW := []float32{0.001, 0.5}
	q, sc, err := QuantizeBias([]float32{0.3, -1e9}, sIn, sW)
	if err != nil {
		t.Fatal(err)
	}
	if sc[0] != sIn*sW[0] || q[0] != int32(math.RoundToEven(float64(0.3*(1/sc[0])))) {
		t.Errorf("bias: %v %v", q, sc)
	}
	if q[1] != BiasQMin {
		t.Errorf("saturation: %d", q[1])
	}
	w := []float32{0.5, -0.25, 1, 0.004, -0.008, 0.002}
	qw, err := QuantizeWeightsInt8(w, []int{2, 3}, []float32{1.0 / 127, 0.008 / 127})
	if err != nil {
		t.Fatal(err)
	}
	want := []int8{64, -32, 127, 64, -127, 32}
	for i := range want {
		if qw[i] != want[i] {
			t.Errorf("weights %v, want %v", qw, want)
			break
		}
	}
	if _, err := QuantizeWeightsInt8(w, []int{4, 3}, []float32{1, 1, 1, 1}); err == nil {
		t.Error("shape mismatch accepted")
	}
	// Quantize / Dequantize round trip, half-even ties
	if Quantize(0.5, 1, 0, -128, 127) != 0 || Quantize(1.5, 1, 0, -128, 127) != 2 || Quantize(-2.5, 1, 3, -128, 127) != 1 {
		t.Error("Quantize ties not half-even")
	}
	if Dequantize(Quantize(0.3, 0.1, -5, -128, 127), 0.1, -5) != float32(3)*0.1 {
		t.Error("Dequantize")
	}
}

func TestObserverNaNAndShapes(t *testing.T) {
	nan := float32(math.NaN())
	for _, o := range []Observer{NewMinMax(ActInt8), NewMovingAverageMinMax(ActInt8), NewPerChannelMinMax(WeightInt8, 0),
		NewMovingAveragePerChannelMinMax(WeightInt8, 0), NewHistogram(ActInt8)} {
		if err := o.Observe([]float32{1, 2}, []int{2}); err != nil {
			t.Fatal(err)
		}
		err := o.Observe([]float32{1, nan}, []int{2})
		if !errors.Is(err, ErrNaN) {
			t.Errorf("%T: NaN gave %v", o, err)
		}
		mn, mx := o.MinMax()
		if mx[len(mx)-1] != 2 || mn[0] != 1 {
			t.Errorf("%T: state changed by a rejected tensor: %v %v", o, mn, mx)
		}
		if err := o.Observe(nil, nil); err != nil {
			t.Errorf("%T: empty tensor: %v", o, err)
		}
	}
	if err := NewPerChannelMinMax(WeightInt8, 2).Observe([]float32{1, 2}, []int{2}); err == nil {
		t.Error("bad axis accepted")
	}
	o := NewPerChannelMinMax(WeightInt8, 0)
	_ = o.Observe([]float32{1, 2}, []int{2})
	if err := o.Observe([]float32{1, 2, 3}, []int{3}); err == nil {
		t.Error("channel count change accepted")
	}
	if s, z := NewHistogram(ActInt8).QParams(); s[0] != 1 || z[0] != 0 {
		t.Error("empty histogram qparams")
	}
	h := NewHistogram(ActInt8)
	inf := float32(math.Inf(1))
	_ = h.Observe([]float32{inf, -inf}, nil)
	if !uninitialised(h.Min, h.Max) {
		t.Error("inf-only tensor initialised the histogram")
	}
}

// normalish returns n pseudo-normal values (sum of uniforms) plus a few outliers.
func normalish(r *rand.Rand, n int, outliers int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.Float64() + r.Float64() + r.Float64() + r.Float64() - 2)
	}
	for i := 0; i < outliers; i++ {
		x[r.IntN(n)] = float32(20 + r.Float64()*10)
	}
	return x
}

func TestCalibrators(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram(ActInt8)
	for i := 0; i < 10; i++ { // Laplace(1): long tails, max ~ 10
		x := make([]float32, 4096)
		for k := range x {
			x[k] = float32(r.ExpFloat64())
			if r.IntN(2) == 0 {
				x[k] = -x[k]
			}
		}
		if err := h.Observe(x, nil); err != nil {
			t.Fatal(err)
		}
	}
	l2lo, l2hi := h.Range()
	h.SetCalibration(Calibration{Kind: CalibPercentile, Percentile: 99.9})
	plo, phi := h.Range()
	h.SetCalibration(Calibration{Kind: CalibMSE})
	mlo, mhi := h.Range()
	t.Logf("range: max [%v,%v] L2 [%v,%v] p99.9 [%v,%v] MSE [%v,%v]", h.Min, h.Max, l2lo, l2hi, plo, phi, mlo, mhi)
	// Laplace(1) 99.9% / 0.1% quantiles: ±ln(500) = ±6.2
	if math.Abs(float64(phi)-6.2) > 0.5 || math.Abs(float64(plo)+6.2) > 0.5 {
		t.Errorf("percentile range [%v, %v], want about ±6.2", plo, phi)
	}
	// MSE-optimal 8-bit clipping of Laplace(1) is about ±10 (T e^T = 3*255^2/4 ... ≈ 9.9)
	if !(mhi < h.Max && mhi > 7 && mlo > h.Min && mlo < -7) {
		t.Errorf("MSE range [%v, %v] does not clip the tails of [%v, %v]", mlo, mhi, h.Min, h.Max)
	}
	obj := h.mseObjective()
	if e, full, l2 := obj(mlo, mhi), obj(h.Min, h.Max), obj(l2lo, l2hi); e > full || e > l2 {
		t.Errorf("MSE objective %v, full range %v, L2 range %v", e, full, l2)
	}
	if s, z := h.QParams(); s[0] <= 0 || z[0] < -128 || z[0] > 127 {
		t.Errorf("MSE qparams (%v, %d)", s[0], z[0])
	}
	h.SetCalibration(Calibration{})
	if lo, hi := h.Range(); lo != l2lo || hi != l2hi {
		t.Error("back to default changed the L2 result")
	}
}

func TestSum32Small(t *testing.T) {
	x := []float32{1, 2, 3}
	if sum32(x, 8) != 6 || sum32(nil, 8) != 0 {
		t.Error("sum32")
	}
}

// upscalerActivation is a ReLU-like 1x32x32x32 activation.
func upscalerActivation(r *rand.Rand) []float32 {
	x := make([]float32, 32*32*32)
	for i := range x {
		v := float32(r.NormFloat64())
		if v < 0 {
			v = 0
		}
		x[i] = v
	}
	return x
}

// BenchmarkHistogramObserve: one Observe of a 1x32x32x32 activation into a warmed-up histogram
// (range already covering it: the common "plain add" path).
func BenchmarkHistogramObserve(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	x := upscalerActivation(r)
	h := NewHistogram(ActInt8)
	_ = h.Observe(x, nil)
	b.SetBytes(int64(4 * len(x)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.Observe(x, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistogramObserveGrowing: every Observe widens the range, so each one re-bins the
// histogram (the worst case: histc + upscale of 32768 fine bins).
func BenchmarkHistogramObserveGrowing(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	x := upscalerActivation(r)
	h := NewHistogram(ActInt8)
	_ = h.Observe(x, nil)
	y := make([]float32, len(x))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g := float32(1 + 1e-3*float64(i%1000+1))
		for k, v := range x {
			y[k] = v * g
		}
		if i%1000 == 0 {
			h = NewHistogram(ActInt8)
			_ = h.Observe(x, nil)
		}
		b.StartTimer()
		_ = h.Observe(y, nil)
	}
}

// BenchmarkHistogramQParams: the L2 search on a histogram of 50 activations.
func BenchmarkHistogramQParams(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	h := NewHistogram(ActInt8)
	for i := 0; i < 50; i++ {
		_ = h.Observe(upscalerActivation(r), nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.QParams()
	}
}

// BenchmarkCalibrationUpscaler500 models the PTQ observer work of 500 calibration images of the
// upscaler: per image G_in (x 1x3x16x16 then up(x) 1x3x32x32), relu1 and relu2 (1x32x32x32),
// conv3 (1x3x32x32), then the four searches.
func BenchmarkCalibrationUpscaler500(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	const imgs = 8 // distinct data, cycled
	var in, up, a1, a2, out [imgs][]float32
	for i := 0; i < imgs; i++ {
		in[i] = make([]float32, 3*16*16)
		for k := range in[i] {
			in[i][k] = float32(r.Float64())
		}
		up[i] = make([]float32, 3*32*32)
		for k := range up[i] {
			up[i][k] = in[i][(k/4)%len(in[i])]
		}
		a1[i] = upscalerActivation(r)
		a2[i] = upscalerActivation(r)
		out[i] = normalish(r, 3*32*32, 0)
	}
	for n := 0; n < b.N; n++ {
		gIn, g1, g2, gOut := NewHistogram(ActInt8), NewHistogram(ActInt8), NewHistogram(ActInt8), NewHistogram(ActInt8)
		for i := 0; i < 500; i++ {
			k := i % imgs
			_ = gIn.Observe(in[k], nil)
			_ = gIn.Observe(up[k], nil)
			_ = g1.Observe(a1[k], nil)
			_ = g2.Observe(a2[k], nil)
			_ = gOut.Observe(out[k], nil)
		}
		for _, h := range []*Histogram{gIn, g1, g2, gOut} {
			h.QParams()
		}
	}
}
