package quant

import (
	"fmt"
	"math"
)

// MultiplierShift decomposes a requantization scale into the TOSA RESCALE multiplier and right
// shift exactly like ExecuTorch's _compute_multiplier_and_shift (spec §4.5), for width 32
// (scale32: multiplier in [2^30, 2^31-1]) or 16 (INT48 inputs: multiplier in [2^14, 2^15-1]):
//
//	m, e = frexp(scale)                  // scale = m * 2^e, m in [0.5, 1)
//	M    = round_half_even(m * 2^off)    // off = 31 (width 32) or 15 (width 16)
//	if M == 2^off { M = 2^(off-1); e++ }
//	sh   = off - e
//	if sh > 62 { M >>= min(31, sh-62); sh = 62 }
//
// so that scale ≈ M * 2^-sh. It fails where ExecuTorch's asserts fail: a negative or non-finite
// scale, or a shift outside [2, 62] (scale >= 2^(off-1) roughly); scale 0 gives (0, off).
func MultiplierShift(scale float64, width int) (multiplier int32, shift int, err error) {
	var off int
	switch width {
	case 32:
		off = 31
	case 16:
		off = 15
	default:
		return 0, 0, fmt.Errorf("quant: unsupported RESCALE scale width %d (16 or 32)", width)
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || scale < 0 {
		return 0, 0, fmt.Errorf("quant: RESCALE scale %v must be finite and non-negative", scale)
	}
	m, e := math.Frexp(scale)
	limit := int64(1) << off
	M := int64(math.RoundToEven(m * float64(limit))) // exact: m*2^off is a power-of-two scaling
	if M == limit {
		M /= 2
		e++
	}
	sh := off - e
	if sh > 62 {
		d := sh - 62
		if d > 31 {
			d = 31
		}
		M >>= uint(d)
		sh = 62
	}
	if sh < 2 || sh > 62 {
		return 0, 0, fmt.Errorf("quant: RESCALE scale %v needs shift %d outside [2, 62]", scale, sh)
	}
	return int32(M), sh, nil
}

// MultipliersShifts applies MultiplierShift to every scale (per-channel RESCALE).
func MultipliersShifts(scales []float64, width int) (multipliers []int32, shifts []int, err error) {
	multipliers = make([]int32, len(scales))
	shifts = make([]int, len(scales))
	for i, s := range scales {
		if multipliers[i], shifts[i], err = MultiplierShift(s, width); err != nil {
			return nil, nil, fmt.Errorf("channel %d: %w", i, err)
		}
	}
	return multipliers, shifts, nil
}

// ConvRescaleScales returns the per-output-channel requantization scales of a quantized conv,
// computed in Python doubles as RewriteConvPass does: (s_in * s_w[c]) / s_out.
func ConvRescaleScales(sIn float32, sW []float32, sOut float32) []float64 {
	out := make([]float64, len(sW))
	for c, w := range sW {
		out[c] = (float64(sIn) * float64(w)) / float64(sOut)
	}
	return out
}

// ApplyRescale32 is TOSA 1.0 RESCALE (apply_scale_32, SINGLE_ROUND) for one value:
// r = (int64(v - inZp) * M + 2^(sh-1)) >> sh (arithmetic), out = clamp(r + outZp, qmin, qmax).
func ApplyRescale32(v, inZp, multiplier int32, shift int, outZp, qmin, qmax int32) int32 {
	x := int64(v) - int64(inZp)
	r := (x*int64(multiplier) + int64(1)<<(shift-1)) >> uint(shift)
	r += int64(outZp)
	if r < int64(qmin) {
		return qmin
	}
	if r > int64(qmax) {
		return qmax
	}
	return int32(r)
}
