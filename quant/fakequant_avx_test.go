package quant

import (
	"math"
	"math/rand"
	"testing"
)

// TestFakeQuantTensorFastSameBits: the AVX FakeQuantTensor gives the scalar loop's values and
// straight-through masks bit for bit: random values around the grid, exact ties (x/scale =
// k + 0.5), ±0, NaN, ±Inf, values beyond the int64 range, denormals, several ranges (int8,
// uint8, int16) and zero points, every length's vector body and tail, with and without a mask.
func TestFakeQuantTensorFastSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		1e30, -1e30, 9.3e18, -9.3e18, 1e-45, -1e-45, 3e38}
	for it := 0; it < 400; it++ {
		ranges := [][2]int32{{-128, 127}, {0, 255}, {-32767, 32767}, {-127, 127}}
		qr := ranges[r.Intn(len(ranges))]
		zp := qr[0] + r.Int31n(qr[1]-qr[0]+1)
		scale := float32(math.Exp(r.Float64()*12 - 9))
		n := r.Intn(70)
		x := make([]float32, n)
		for i := range x {
			switch r.Intn(6) {
			case 0:
				x[i] = specials[r.Intn(len(specials))]
			case 1: // a tie of the rounding
				x[i] = (float32(r.Intn(400)-200) + 0.5) * scale
			default:
				x[i] = float32(r.NormFloat64()) * scale * float32(r.Intn(300)+1)
			}
		}
		withMask := r.Intn(2) == 0
		var gm, wm []bool
		if withMask {
			gm, wm = make([]bool, n), make([]bool, n)
			for i := range gm {
				gm[i], wm[i] = r.Intn(2) == 0, r.Intn(2) == 0 // must be overwritten
			}
		}
		got := FakeQuantTensor(make([]float32, n), x, scale, zp, qr[0], qr[1], gm)
		forceScalarFakeQuant = true
		want := FakeQuantTensor(make([]float32, n), x, scale, zp, qr[0], qr[1], wm)
		forceScalarFakeQuant = false
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("scale %g zp %d range %v: x %v -> %v (bits %#x), scalar %v (bits %#x)", scale, zp, qr, x[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			if withMask && gm[i] != wm[i] {
				t.Fatalf("scale %g zp %d range %v: x %v mask %v, scalar %v", scale, zp, qr, x[i], gm[i], wm[i])
			}
		}
	}
}

// TestChunkMinMaxSameBits: the AVX min/max gives the scan's values bit for bit, including the
// sign of a zero extreme (the first zero's), and reports NaNs, for every length.
func TestChunkMinMaxSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(16))
	negZero := float32(math.Copysign(0, -1))
	scan := func(part []float32) (mn, mx float32, nan bool) {
		mn, mx = part[0], part[0]
		for _, v := range part {
			if v < mn {
				mn = v
			}
			if v > mx {
				mx = v
			}
			if v != v {
				nan = true
			}
		}
		return
	}
	for it := 0; it < 2000; it++ {
		n := 1 + r.Intn(70)
		x := make([]float32, n)
		sign := float32([]int{-1, 1, 0}[r.Intn(3)])
		for i := range x {
			switch r.Intn(5) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = negZero
			default:
				v := float32(r.NormFloat64())
				if sign != 0 {
					v = sign * float32(math.Abs(float64(v)))
				}
				x[i] = v
			}
		}
		if r.Intn(10) == 0 {
			x[r.Intn(n)] = float32(math.NaN())
		}
		gmn, gmx, gnan := chunkMinMax(x)
		wmn, wmx, wnan := scan(x)
		if gnan != wnan {
			t.Fatalf("%v: NaN %v, want %v", x, gnan, wnan)
		}
		if !wnan && (math.Float32bits(gmn) != math.Float32bits(wmn) || math.Float32bits(gmx) != math.Float32bits(wmx)) {
			t.Fatalf("%v: min/max %v %v (bits %#x %#x), want %v %v (bits %#x %#x)", x, gmn, gmx, math.Float32bits(gmn), math.Float32bits(gmx), wmn, wmx, math.Float32bits(wmn), math.Float32bits(wmx))
		}
	}
}

// TestHistogramParallelSameBits: Observe on tensors large enough for the parallel passes (with
// the AVX min/max) gives the serial scalar result exactly: histogram, range (with the sign of zero extremes), re-binning over
// several calls, ±inf dropped, and the index of the first NaN.
func TestHistogramParallelSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	negZero := float32(math.Copysign(0, -1))
	for it := 0; it < 12; it++ {
		par, ser := NewHistogram(ActInt8), NewHistogram(ActInt8)
		for call := 0; call < 3; call++ {
			n := 2*histChunk + r.Intn(3*histChunk)
			x := make([]float32, n)
			scale := float32(math.Exp(r.Float64()*4 - 2))
			for i := range x {
				x[i] = float32(r.NormFloat64()) * scale
				if it%3 == 0 {
					x[i] = float32(math.Abs(float64(x[i]))) // ReLU-like: zero is the minimum
				}
			}
			for k := 0; k < 200; k++ {
				switch r.Intn(4) {
				case 0:
					x[r.Intn(n)] = 0
				case 1:
					x[r.Intn(n)] = negZero
				case 2:
					if it%2 == 1 && k%20 == 0 { // chunks with an inf take the scalar scan
						x[r.Intn(n)] = float32(math.Inf(1 - 2*r.Intn(2)))
					}
				}
			}
			if it == 5 && call == 2 {
				x[r.Intn(n)] = float32(math.NaN())
				x[n-1] = float32(math.NaN())
			}
			gerr := par.Observe(x, nil)
			histSerial, forceScalarFakeQuant = true, true // the plain scalar scan
			werr := ser.Observe(x, nil)
			histSerial, forceScalarFakeQuant = false, false
			if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
				t.Fatalf("it %d call %d: error %v, serial %v", it, call, gerr, werr)
			}
			if math.Float32bits(par.Min) != math.Float32bits(ser.Min) || math.Float32bits(par.Max) != math.Float32bits(ser.Max) {
				t.Fatalf("it %d call %d: range [%v, %v], serial [%v, %v]", it, call, par.Min, par.Max, ser.Min, ser.Max)
			}
			for i := range par.Hist {
				if math.Float32bits(par.Hist[i]) != math.Float32bits(ser.Hist[i]) {
					t.Fatalf("it %d call %d: bin %d = %v, serial %v", it, call, i, par.Hist[i], ser.Hist[i])
				}
			}
		}
	}
}

// TestHasInf: hasInf finds a single +inf or -inf anywhere (with and without NaNs around, in
// the vector part, the tail, small and chunked tensors) and reports none in finite tensors.
func TestHasInf(t *testing.T) {
	r := rand.New(rand.NewSource(19))
	for it := 0; it < 300; it++ {
		n := 1 + r.Intn(40)
		if it%10 == 0 {
			n = 2*histChunk + r.Intn(histChunk)
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 1e30
		}
		if r.Intn(3) == 0 {
			x[r.Intn(n)] = float32(math.NaN())
		}
		want := r.Intn(2) == 0
		if want {
			x[r.Intn(n)] = float32(math.Inf(1 - 2*r.Intn(2)))
		}
		if got := hasInf(x); got != want {
			t.Fatalf("n %d: hasInf %v, want %v", n, got, want)
		}
	}
}

// TestHistcFastSameCounts: the AVX binning gives the scalar histc's counts for values at the
// range ends, just inside them, outside them, ±0, ±inf, degenerate (a == b) and overflowing
// (b - a = inf) ranges, and random data.
func TestHistcFastSameCounts(t *testing.T) {
	r := rand.New(rand.NewSource(20))
	for it := 0; it < 300; it++ {
		var a, b float32
		switch it % 4 {
		case 0:
			a, b = -3e38, 3e38
		case 1:
			a = float32(r.NormFloat64())
			b = a
		default:
			a, b = float32(r.NormFloat64()), float32(r.NormFloat64())
			if a > b {
				a, b = b, a
			}
		}
		n := r.Intn(200)
		x := make([]float32, n)
		for i := range x {
			switch r.Intn(8) {
			case 0:
				x[i] = a
			case 1:
				x[i] = b
			case 2:
				x[i] = math.Nextafter32(b, -1e38)
			case 3:
				x[i] = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38}[r.Intn(6)]
			default:
				x[i] = a + (b-a)*float32(r.Float64()*1.2-0.1)
			}
		}
		h1, h2 := NewHistogram(ActInt8), NewHistogram(ActInt8)
		h1.histc(x, a, b)
		forceScalarFakeQuant = true
		h2.histc(x, a, b)
		forceScalarFakeQuant = false
		if h1.counts != h2.counts {
			for i := range h1.counts {
				if h1.counts[i] != h2.counts[i] {
					t.Fatalf("it %d [%v, %v]: bin %d count %d, scalar %d", it, a, b, i, h1.counts[i], h2.counts[i])
				}
			}
		}
	}
}
