package quant

import (
	"fmt"
	"math"

	"github.com/vgfq/vgfq/engine/kern"
)

// SmallScaleThreshold is ATen's SMALL_SCALE_THRESHOLD (6.1e-5f, fp16's smallest normal).
const SmallScaleThreshold float32 = 6.1e-5

// ChooseQuantizationParams is ATen's quant_utils::ChooseQuantizationParams with
// preserve_sparsity = false, force_scale_power_of_two = false, reduce_range = false: the
// qparams that fused_moving_avg_obs_fake_quant computes during QAT training (spec §1.5). It is
// NOT the observer formula of §1.1 used at export: the scale is computed in double without eps,
// tiny scales are raised to 6.1e-5, and the zero point comes from whichever end of the range
// gives the smaller rounding error. The scale is returned rounded to float32, as the fake-quant
// module stores it. min > max (or NaN) is an error, as ATen's TORCH_CHECK.
func ChooseQuantizationParams(min, max float32, qmin, qmax int32) (float32, int32, error) {
	if !(min <= max) {
		return 0, 0, fmt.Errorf("quant: ChooseQuantizationParams: min %v > max %v (or NaN)", min, max)
	}
	if qmin >= qmax {
		return 0, 0, fmt.Errorf("quant: ChooseQuantizationParams: qmin %d >= qmax %d", qmin, qmax)
	}
	if 0 < min { // std::min(min, 0.f)
		min = 0
	}
	if max < 0 { // std::max(max, 0.f)
		max = 0
	}
	scale := (float64(max) - float64(min)) / float64(qmax-qmin)
	if f := float32(scale); f == 0 || math.IsInf(float64(float32(1)/f), 0) {
		scale = 0.1
	}
	if scale < float64(SmallScaleThreshold) {
		org := float32(scale)
		scale = float64(SmallScaleThreshold)
		switch {
		case min == 0:
			max = SmallScaleThreshold * float32(qmax-qmin)
		case max == 0:
			min = -SmallScaleThreshold * float32(qmax-qmin)
		default:
			amp := SmallScaleThreshold / org
			min *= amp
			max *= amp
		}
	}
	zpFromMin := float64(qmin) - float64(min)/scale
	zpFromMax := float64(qmax) - float64(max)/scale
	errMin := math.Abs(float64(qmin)) - math.Abs(float64(min)/scale)
	errMax := math.Abs(float64(qmax)) - math.Abs(float64(max)/scale)
	zp0 := zpFromMax
	if errMin < errMax {
		zp0 = zpFromMin
	}
	var zp int32
	switch {
	case zp0 < float64(qmin):
		zp = qmin
	case zp0 > float64(qmax):
		zp = qmax
	default:
		zp = int32(math.RoundToEven(zp0))
	}
	return float32(scale), zp, nil
}

// FusedFakeQuant is TorchAO's FusedMovingAvgObsFakeQuantize for per-tensor affine activations
// (spec §1.5, §3): each call (1) if ObserverEnabled, updates the running min/max with the
// moving average of ATen's fused_moving_avg_obs_fake_quant (first call, or a running value that
// is ±inf: take the batch extreme; otherwise min += fl32(C * fl32(cur - min)), float32), then
// (2) if FakeQuantEnabled, recomputes Scale/ZP with [ChooseQuantizationParams] from the running
// min/max and fake-quantizes; otherwise the input passes unchanged with an all-true mask.
//
// Scale/ZP are the training-time qparams (the module's buffers); [FusedFakeQuant.ExportQParams]
// are the ones convert_pt2e exports (the observer's §1.1 formula with eps), which differ by an
// ulp in about one case in five.
type FusedFakeQuant struct {
	QMin, QMax       int32
	C                float32 // averaging constant (0.01)
	Eps              float32 // the observer eps, used only by ExportQParams
	Min, Max         float32 // running range; +inf/-inf before the first observation
	Scale            float32 // training-time qparams; (1, 0) before the first fake-quant
	ZP               int32
	ObserverEnabled  bool
	FakeQuantEnabled bool
	Calls            int64 // observations so far
}

// NewFusedFakeQuant returns the activation fake-quant of get_symmetric_quantization_config(
// is_qat=True): int8 [-128, 127], averaging constant 0.01, observer and fake-quant enabled.
func NewFusedFakeQuant(eps float32) *FusedFakeQuant {
	if eps == 0 {
		eps = Eps16
	}
	return &FusedFakeQuant{QMin: -128, QMax: 127, C: AveragingConstant, Eps: eps,
		Min: float32(math.Inf(1)), Max: float32(math.Inf(-1)), Scale: 1, ObserverEnabled: true, FakeQuantEnabled: true}
}

// Forward applies the module to x, writing the output into y and the straight-through mask
// (qmin <= zp + round(x/scale) <= qmax) into mask (both len(x)). A NaN in x is an error
// ([ErrNaN]) and changes nothing (ATen would poison the running range and then fail).
func (f *FusedFakeQuant) Forward(x, y []float32, mask []bool) error {
	if f.ObserverEnabled && len(x) > 0 {
		mn, mx, err := parallelMinMax(x)
		if err != nil {
			return err
		}
		if math.IsInf(float64(f.Min), 0) {
			f.Min = mn
		} else {
			f.Min = f.Min + float32(f.C*float32(mn-f.Min))
		}
		if math.IsInf(float64(f.Max), 0) {
			f.Max = mx
		} else {
			f.Max = f.Max + float32(f.C*float32(mx-f.Max))
		}
		f.Calls++
	}
	if !f.FakeQuantEnabled {
		copy(y, x)
		for i := range mask[:len(x)] {
			mask[i] = true
		}
		return nil
	}
	s, zp, err := ChooseQuantizationParams(f.Min, f.Max, f.QMin, f.QMax)
	if err != nil {
		return err
	}
	f.Scale, f.ZP = s, zp
	kern.ParallelFor(len(x), 1<<14, func(lo, hi int) {
		FakeQuantTensor(y[lo:hi], x[lo:hi], s, zp, f.QMin, f.QMax, mask[lo:hi])
	})
	return nil
}

// parallelMinMax is aminmax over x in parallel chunks (min and max are exact in any order); a
// NaN is ErrNaN.
func parallelMinMax(x []float32) (float32, float32, error) {
	const chunk = 1 << 14
	n := (len(x) + chunk - 1) / chunk
	mins := make([]float32, n)
	maxs := make([]float32, n)
	nan := make([]bool, n)
	parallelChunks(x, chunk, func(c int, part []float32) {
		mins[c], maxs[c], nan[c] = chunkMinMax(part)
	})
	for c := range nan {
		if nan[c] {
			return 0, 0, checkNaN(x)
		}
	}
	mn, _ := aminmax(mins)
	_, mx := aminmax(maxs)
	return mn, mx, nil
}

// chunkMinMax returns what a scan of part keeping the first strictly smaller / greater value
// gives (so a zero extreme has the sign of the first zero), and whether part holds a NaN. With
// AVX the extremes come from vector min/max (exact values; min and max of numbers do not
// depend on the order) and a zero extreme takes the sign of part's first zero, as the scan does.
func chunkMinMax(part []float32) (mn, mx float32, nan bool) {
	mn, mx = part[0], part[0]
	vmn, vmx, vnan, k := minMaxFast(part)
	if k > 0 {
		mn, mx, nan = vmn, vmx, vnan
	}
	for _, v := range part[k:] {
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
	if k > 0 && !nan {
		mn, mx = firstZeroSign(part, mn, mx)
	}
	return mn, mx, nan
}

// firstZeroSign gives a zero extreme (mn or mx == ±0) the sign of the first zero of x, which is
// what a scan keeping strictly smaller / greater values returns; vector min/max may give either.
func firstZeroSign(x []float32, mn, mx float32) (float32, float32) {
	if mn != 0 && mx != 0 {
		return mn, mx
	}
	for _, v := range x {
		if v == 0 {
			if mn == 0 {
				mn = v
			}
			if mx == 0 {
				mx = v
			}
			break
		}
	}
	return mn, mx
}

// ExportQParams are the qparams convert_pt2e exports for this module:
// activation_post_process.calculate_qparams(), the §1.1 affine formula with eps on the running
// min/max (1, 0 if nothing was observed).
func (f *FusedFakeQuant) ExportQParams() (float32, int32) {
	return AffineQParams(f.Min, f.Max, int(f.QMin), int(f.QMax), f.Eps)
}

// WeightFakeQuant is TorchAO's FakeQuantize with a PerChannelMinMaxObserver for conv weights
// (per-channel symmetric int8 [-127, 127], spec §3): each call with ObserverEnabled observes the
// weight (running per-channel min/max since QAT started, never shrinking) and recomputes Scales
// with §1.1 (eps); with FakeQuantEnabled it applies fake_quantize_per_channel_affine(w, Scales,
// 0, axis, -127, 127). Disabling the observer freezes Scales.
type WeightFakeQuant struct {
	Obs              *PerChannelMinMax
	Scales           []float32
	ObserverEnabled  bool
	FakeQuantEnabled bool
}

// NewWeightFakeQuant returns the weight fake-quant for channel axis axis (0 for Conv2d OIHW,
// 1 for ConvTranspose2d).
func NewWeightFakeQuant(eps float32, axis int) *WeightFakeQuant {
	if eps == 0 {
		eps = Eps16
	}
	return &WeightFakeQuant{Obs: NewPerChannelMinMax(WeightInt8.WithEps(eps), axis), ObserverEnabled: true, FakeQuantEnabled: true}
}

// Forward fake-quantizes the weight w (shape shape) into y with the STE mask.
func (f *WeightFakeQuant) Forward(w []float32, shape []int, y []float32, mask []bool) error {
	if f.ObserverEnabled {
		if err := f.Obs.Observe(w, shape); err != nil {
			return err
		}
		f.Scales, _ = f.Obs.QParams()
	}
	if !f.FakeQuantEnabled {
		copy(y, w)
		for i := range mask[:len(w)] {
			mask[i] = true
		}
		return nil
	}
	if f.Scales == nil {
		return fmt.Errorf("quant: weight fake-quant has no scales (observer never ran)")
	}
	_, err := FakeQuantPerChannel(y, w, shape, f.Obs.Axis, f.Scales, make([]int32, len(f.Scales)), f.Obs.Scheme.QMin, f.Obs.Scheme.QMax, mask)
	return err
}
