// Package metrics implements image-quality metrics (MSE, PSNR, SSIM) for
// float32 image batches in NCHW layout with values nominally in [0, 1]
// (data range 1). Batches are passed as flat slices; SSIM additionally takes
// the n, c, h, w shape.
//
// The definitions are chosen to match the usual Python tooling so numbers are
// comparable with published results: MSE follows PyTorch F.mse_loss
// (reduction "mean"), PSNR is 10*log10(1/MSE), and SSIM follows
// skimage.metrics.structural_similarity with Gaussian weights. See each
// function for the exact definition and numerical details.
package metrics

import (
	"fmt"
	"math"
)

// MaxPSNR is the value, in dB, that PSNR reports for a zero MSE (identical
// inputs), where 10*log10(1/MSE) would be +Inf. PSNR values are capped at
// MaxPSNR so the result is finite, monotone in MSE, and safe to average.
const MaxPSNR = 100.0

// MSE returns the mean squared error between pred and target, computed like
// PyTorch F.mse_loss(pred, target) with reduction "mean" on float32 tensors:
// each difference and its square are computed in float32, the squares are
// summed in float64 (more accurate than PyTorch's float32 pairwise sum; the
// two agree to float32 rounding) and the mean is rounded to float32 before
// being returned as a float64.
//
// MSE panics if the slices differ in length or are empty.
func MSE(pred, target []float32) float64 {
	if len(pred) != len(target) {
		panic(fmt.Sprintf("metrics: MSE length mismatch: pred %d, target %d", len(pred), len(target)))
	}
	if len(pred) == 0 {
		panic("metrics: MSE of empty slices")
	}
	target = target[:len(pred)]
	var sum float64
	for i, p := range pred {
		d := p - target[i]
		sum += float64(d * d)
	}
	return float64(float32(sum / float64(len(pred))))
}

// PSNR returns the peak signal-to-noise ratio in dB for data range 1:
// 10*log10(1/MSE(pred, target)), evaluated in float64. A zero MSE, and any
// MSE small enough to exceed it, yields MaxPSNR (100 dB) instead of +Inf.
//
// PSNR of a whole batch is the PSNR of the batch-mean MSE (not the mean of
// per-image PSNRs); use PSNRMeter to average batch PSNRs over an epoch.
//
// PSNR panics if the slices differ in length or are empty.
func PSNR(pred, target []float32) float64 {
	return PSNRFromMSE(MSE(pred, target))
}

// PSNRFromMSE converts a mean squared error (data range 1) to PSNR in dB,
// 10*log10(1/mse), capped at MaxPSNR. A NaN mse yields NaN.
func PSNRFromMSE(mse float64) float64 {
	if mse <= 0 {
		if math.IsNaN(mse) {
			return mse
		}
		return MaxPSNR
	}
	return math.Min(10*math.Log10(1/mse), MaxPSNR)
}

// PSNRMeter averages per-batch PSNR values: each call to Add computes the PSNR
// of one batch (10*log10(1/MSE) of the batch-mean MSE) and Mean returns the
// unweighted average over batches. This is the metric reported by the
// reference tutorial's evaluation loop; note that it weights a short last
// batch the same as a full one. The zero value is ready to use.
type PSNRMeter struct {
	sum   float64
	count int
}

// Add computes the PSNR of one batch, records it and returns it.
// It panics like PSNR on mismatched or empty inputs.
func (m *PSNRMeter) Add(pred, target []float32) float64 {
	v := PSNR(pred, target)
	m.AddValue(v)
	return v
}

// AddValue records an already computed batch PSNR in dB.
func (m *PSNRMeter) AddValue(psnr float64) {
	m.sum += psnr
	m.count++
}

// Mean returns the average of the recorded batch PSNRs, or NaN if nothing
// has been recorded.
func (m *PSNRMeter) Mean() float64 {
	if m.count == 0 {
		return math.NaN()
	}
	return m.sum / float64(m.count)
}

// Count returns the number of batches recorded.
func (m *PSNRMeter) Count() int { return m.count }

// Reset forgets all recorded values.
func (m *PSNRMeter) Reset() { *m = PSNRMeter{} }
