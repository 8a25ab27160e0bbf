package quant

import (
	"fmt"
	"math"
)

// Observer eps values (spec §0): ExecuTorch >= 1.2 passes 2^-16, ExecuTorch <= 1.1 hard-codes 2^-12.
const (
	Eps16 float32 = 1.0 / 65536 // default
	Eps12 float32 = 1.0 / 4096  // ExecuTorch <= 1.1
)

// Scheme is a quantization spec: integer range, symmetric or affine, and the observer eps.
type Scheme struct {
	QMin, QMax int32
	Symmetric  bool    // symmetric: zp = 0, scale = amax / ((QMax-QMin)/2)
	Eps        float32 // lower bound of the scale
}

// The two schemes of get_symmetric_quantization_config (spec §1), with eps 2^-16.
var (
	ActInt8    = Scheme{QMin: -128, QMax: 127, Eps: Eps16}                  // activations: per-tensor affine
	WeightInt8 = Scheme{QMin: -127, QMax: 127, Symmetric: true, Eps: Eps16} // weights: per-channel symmetric
	// ActInt16 is the activation spec of ExecuTorch's get_symmetric_a16w8_quantization_config:
	// torch.int16, [-32767, 32767], per-tensor symmetric, HistogramObserver with eps 2^-12 (that
	// function's default epsilon, independent of the int8 config's).
	ActInt16 = Scheme{QMin: -32767, QMax: 32767, Symmetric: true, Eps: Eps12}
)

// dstBins is the HistogramObserver's dst_nbins = 2^bits of the observer dtype: 256 for an 8-bit
// range, 65536 for int16.
func (s Scheme) dstBins() int {
	if s.QMin < -128 || s.QMax > 255 {
		return 1 << 16
	}
	return 1 << 8
}

// WithEps returns s with another eps (e.g. Eps12 for ExecuTorch <= 1.1).
func (s Scheme) WithEps(eps float32) Scheme { s.Eps = eps; return s }

func (s Scheme) validate() error {
	if !(s.QMin <= 0 && 0 <= s.QMax && s.QMin < s.QMax) {
		return fmt.Errorf("quant: bad range [%d,%d] (must contain 0, qmin < qmax)", s.QMin, s.QMax)
	}
	if !(s.Eps >= 0) {
		return fmt.Errorf("quant: bad eps %v", s.Eps)
	}
	return nil
}

// QParams computes (scale, zero point) from an observed range like
// UniformQuantizationObserverBase._calculate_qparams (spec §1.1). min = +inf and max = -inf
// (never observed) gives (1, 0).
func (s Scheme) QParams(min, max float32) (float32, int32) {
	if s.Symmetric {
		return SymmetricQParams(min, max, int(s.QMin), int(s.QMax), s.Eps)
	}
	return AffineQParams(min, max, int(s.QMin), int(s.QMax), s.Eps)
}

func uninitialised(min, max float32) bool {
	return math.IsInf(float64(min), 1) && math.IsInf(float64(max), -1)
}

// AffineQParams is the per-tensor/per-channel affine branch of §1.1:
//
//	scale = max(fl32(fl32(max(max,0) - min(min,0)) / fl32(qmax-qmin)), eps)
//	zp    = clamp(qmin - round_half_even(fl32(min(min,0)/scale)), qmin, qmax)
func AffineQParams(min, max float32, qmin, qmax int, eps float32) (scale float32, zp int32) {
	if uninitialised(min, max) {
		return 1, 0
	}
	minNeg := min32(min, 0)
	maxPos := max32(max, 0)
	scale = float32(maxPos-minNeg) / float32(qmax-qmin)
	scale = max32(scale, eps)
	r := roundHalfEven32(minNeg / scale)
	// torch: quant_min - round(...).to(torch.int) in int32 (wrapping), then clamp.
	z := int32(qmin) - toInt32(r)
	if z < int32(qmin) {
		z = int32(qmin)
	}
	if z > int32(qmax) {
		z = int32(qmax)
	}
	return scale, z
}

// SymmetricQParams is the symmetric branch of §1.1: scale = max(fl32(amax / ((qmax-qmin)/2)), eps),
// zp = 0, with amax = max(-min(min,0), max(max,0)). For [-127,127] the divisor is 127.
func SymmetricQParams(min, max float32, qmin, qmax int, eps float32) (scale float32, zp int32) {
	if uninitialised(min, max) {
		return 1, 0
	}
	minNeg := min32(min, 0)
	maxPos := max32(max, 0)
	amax := max32(-minNeg, maxPos)
	scale = amax / float32(float64(qmax-qmin)/2)
	return max32(scale, eps), 0
}

// min32 / max32 follow ATen's minimum/maximum: NaN propagates, otherwise the ordinary comparison.
func min32(a, b float32) float32 {
	if a != a {
		return a
	}
	if b != b {
		return b
	}
	if a < b {
		return a
	}
	return b
}

func max32(a, b float32) float32 {
	if a != a {
		return a
	}
	if b != b {
		return b
	}
	if a > b {
		return a
	}
	return b
}

// roundHalfEven32 is torch.round / std::nearbyint (default rounding mode) on a float32.
func roundHalfEven32(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// toInt32 converts like x86's cvttss2si: truncation, NaN and out-of-range give math.MinInt32.
func toInt32(x float32) int32 {
	if x != x || x >= 2147483648 || x < -2147483648 {
		return math.MinInt32
	}
	return int32(x)
}

// Quantize maps x to clamp(round_half_even(fl32(x * fl32(1/scale))) + zp, qmin, qmax) (spec §1.6).
// The same arithmetic serves convert-time constant folding (quantized_decomposed), the ExecuTorch
// portable quantize kernel and the fake-quant kernels.
func Quantize(x, scale float32, zp, qmin, qmax int32) int32 {
	inv := 1 / scale
	q := float64(zp) + float64(roundHalfEven32(x*inv))
	if q < float64(qmin) {
		return qmin
	}
	if q > float64(qmax) {
		return qmax
	}
	return int32(q)
}

// Dequantize is fl32(float32(q - zp) * scale).
func Dequantize(q int32, scale float32, zp int32) float32 {
	return float32(q-zp) * scale
}

// FakeQuant is torch.fake_quantize_per_tensor_affine's forward value for one element, and inRange
// its straight-through-estimator mask (dy/dx = 1 iff qmin <= zp + round(x/scale) <= qmax):
//
//	inv = 1.0f/scale; qv = zp + nearbyint(fl32(x*inv)) (float32); y = fl32((clamp(qv) - zp) * scale)
func FakeQuant(x, scale float32, zp, qmin, qmax int32) (y float32, inRange bool) {
	inv := 1 / scale
	qf := float32(zp) + roundHalfEven32(x*inv) // float32 add, as ATen (int64 + float -> float)
	qv := fakeToInt64(qf)
	c := qv
	if c < int64(qmin) {
		c = int64(qmin)
	}
	if c > int64(qmax) {
		c = int64(qmax)
	}
	// (double(clamped) - zp) * float(scale), rounded to float32: exact product, one rounding.
	y = float32(float64(c-int64(zp)) * float64(scale))
	return y, int64(qmin) <= qv && qv <= int64(qmax)
}

// fakeToInt64 is static_cast<int64_t>(float) as on x86 (cvttss2si 64-bit: NaN/overflow -> MinInt64).
// fakeBig is the float32 bound beyond which fakeToInt64 gives math.MinInt64.
const fakeBig = float32(9.223372e18)

// forceScalarFakeQuant makes FakeQuantTensor skip the AVX path (tests).
var forceScalarFakeQuant bool

func fakeToInt64(x float32) int64 {
	if x != x || x >= fakeBig || x < -fakeBig {
		return math.MinInt64
	}
	return int64(x)
}

// FakeQuantTensor applies per-tensor fake quantization to x (in place into dst, which may be x)
// and returns dst. mask (if non-nil, same length) receives the STE mask.
func FakeQuantTensor(dst, x []float32, scale float32, zp, qmin, qmax int32, mask []bool) []float32 {
	if dst == nil {
		dst = make([]float32, len(x))
	}
	// FakeQuant with the reciprocal hoisted: the same float32 operations per element.
	inv := 1 / scale
	zf, lo, hi := float32(zp), int64(qmin), int64(qmax)
	// AVX for whole groups of 8 (the same results; qmin/qmax and the zero point are small
	// integers, exact in float32).
	out := dst
	if k := fakeQuantFast(dst, x, inv, zf, float32(qmin), float32(qmax), scale, mask); k > 0 {
		x, dst = x[k:], dst[k:]
		if mask != nil {
			mask = mask[k:]
		}
	}
	for i, v := range x {
		qv := fakeToInt64(zf + roundHalfEven32(v*inv))
		c := min(max(qv, lo), hi)
		dst[i] = float32(float64(c-int64(zp)) * float64(scale))
		if mask != nil {
			mask[i] = lo <= qv && qv <= hi
		}
	}
	return out
}

// channelLayout returns (outer, channels, inner) for a row-major tensor of the given shape split at axis.
func channelLayout(n int, shape []int, axis int) (outer, ch, inner int, err error) {
	if axis < 0 || axis >= len(shape) {
		return 0, 0, 0, fmt.Errorf("quant: channel axis %d out of range for shape %v", axis, shape)
	}
	outer, inner = 1, 1
	for i, d := range shape {
		if d < 0 {
			return 0, 0, 0, fmt.Errorf("quant: bad shape %v", shape)
		}
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	ch = shape[axis]
	if outer*ch*inner != n {
		return 0, 0, 0, fmt.Errorf("quant: shape %v does not match %d elements", shape, n)
	}
	return outer, ch, inner, nil
}

// FakeQuantPerChannel is torch.fake_quantize_per_channel_affine: channel c (along axis) uses
// scales[c], zps[c]. mask may be nil.
func FakeQuantPerChannel(dst, x []float32, shape []int, axis int, scales []float32, zps []int32, qmin, qmax int32, mask []bool) ([]float32, error) {
	outer, ch, inner, err := channelLayout(len(x), shape, axis)
	if err != nil {
		return nil, err
	}
	if len(scales) != ch || len(zps) != ch {
		return nil, fmt.Errorf("quant: %d scales / %d zero points for %d channels", len(scales), len(zps), ch)
	}
	if dst == nil {
		dst = make([]float32, len(x))
	}
	i := 0
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			s, z := scales[c], zps[c]
			for k := 0; k < inner; k++ {
				y, in := FakeQuant(x[i], s, z, qmin, qmax)
				dst[i] = y
				if mask != nil {
					mask[i] = in
				}
				i++
			}
		}
	}
	return dst, nil
}

// QuantizePerChannel quantizes a weight tensor per channel along axis with zero points zps
// (nil = all zero), as convert_pt2e's constant folding (quantize_per_channel) does.
func QuantizePerChannel(w []float32, shape []int, axis int, scales []float32, zps []int32, qmin, qmax int32) ([]int32, error) {
	outer, ch, inner, err := channelLayout(len(w), shape, axis)
	if err != nil {
		return nil, err
	}
	if len(scales) != ch || (zps != nil && len(zps) != ch) {
		return nil, fmt.Errorf("quant: %d scales for %d channels", len(scales), ch)
	}
	q := make([]int32, len(w))
	i := 0
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			var z int32
			if zps != nil {
				z = zps[c]
			}
			for k := 0; k < inner; k++ {
				q[i] = Quantize(w[i], scales[c], z, qmin, qmax)
				i++
			}
		}
	}
	return q, nil
}

// QuantizeWeightsInt8 quantizes conv weights (OIHW, out-channel axis 0) to symmetric int8 in
// [-127,127] with the per-channel scales of a PerChannelMinMax observer.
func QuantizeWeightsInt8(w []float32, shape []int, scales []float32) ([]int8, error) {
	q, err := QuantizePerChannel(w, shape, 0, scales, nil, -127, 127)
	if err != nil {
		return nil, err
	}
	out := make([]int8, len(q))
	for i, v := range q {
		out[i] = int8(v)
	}
	return out, nil
}

// Int32 bias range of get_bias_qspec's conv branch.
const (
	BiasQMin = -(1<<31 - 1)
	BiasQMax = 1<<31 - 1
)

// BiasScales returns scale_b[c] = fl32(sIn * sW[c]) (the DerivedQuantizationSpec, float32 product).
func BiasScales(sIn float32, sW []float32) []float32 {
	out := make([]float32, len(sW))
	for c, w := range sW {
		out[c] = sIn * w
	}
	return out
}

// QuantizeBias quantizes a conv bias to int32 with scale_b[c] = fl32(sIn*sW[c]), zp 0:
// q = clamp(round_half_even(fl32(b * fl32(1/scale_b))), -(2^31-1), 2^31-1). It returns the
// scales too. (torch clamps in float32, where 2^31-1 rounds to 2^31, and then converts; an
// overflowing |b/scale| >= 2^31 would wrap there. Here it saturates.)
func QuantizeBias(b []float32, sIn float32, sW []float32) (q []int32, scales []float32, err error) {
	if len(b) != len(sW) {
		return nil, nil, fmt.Errorf("quant: bias has %d channels, weight scales %d", len(b), len(sW))
	}
	scales = BiasScales(sIn, sW)
	q = make([]int32, len(b))
	for c, v := range b {
		r := float64(roundHalfEven32(v * (1 / scales[c])))
		switch {
		case r != r:
			return nil, nil, fmt.Errorf("quant: bias[%d] = %v / scale %v is NaN", c, v, scales[c])
		case r < BiasQMin:
			q[c] = BiasQMin
		case r > BiasQMax:
			q[c] = BiasQMax
		default:
			q[c] = int32(r)
		}
	}
	return q, scales, nil
}
