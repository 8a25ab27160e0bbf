package metrics

import (
	"fmt"
	"math"
)

// Luma coefficients of ITU-R BT.601 for R, G, B in [0, 1] giving Y in [16, 235] (the
// "studio swing" luma that MATLAB's rgb2ycbcr returns and super-resolution papers score on).
const (
	LumaOffset = 16.0
	LumaR      = 65.481
	LumaG      = 128.553
	LumaB      = 24.966
)

// Luma returns Y = 16 + 65.481 R + 128.553 G + 24.966 B of every pixel of one 3 x h x w RGB image
// (CHW, values nominally in [0, 1]) divided by 255, so that a data range of 1 corresponds to
// the peak of 255 that papers use: PSNR on these values equals 10 log10(255² / MSE) on Y in
// [0, 255]. The border of shave pixels is cut off on every side (papers shave the upscaling
// factor). Values are computed in float64, without rounding to 8 bits and without clamping
// (the model's float output is scored as it is, like the RGB metric).
func Luma(rgb []float32, h, w, shave int) (y []float64, yh, yw int) {
	if shave < 0 || 2*shave >= h || 2*shave >= w {
		panic(fmt.Sprintf("metrics: shaving %d pixels leaves nothing of a %dx%d image", shave, h, w))
	}
	if len(rgb) != 3*h*w {
		panic(fmt.Sprintf("metrics: Luma of %d values, want 3*%d*%d", len(rgb), h, w))
	}
	yh, yw = h-2*shave, w-2*shave
	y = make([]float64, 0, yh*yw)
	plane := h * w
	for r := shave; r < h-shave; r++ {
		for c := shave; c < w-shave; c++ {
			i := r*w + c
			v := LumaOffset + LumaR*float64(rgb[i]) + LumaG*float64(rgb[plane+i]) + LumaB*float64(rgb[2*plane+i])
			y = append(y, v/255)
		}
	}
	return y, yh, yw
}

// PSNRY returns the mean over the n images of an NCHW RGB batch (c = 3) of the per-image PSNR on
// the BT.601 Y channel with shave border pixels cut off (see Luma): 10 log10(1 / MSE_Y), capped
// at MaxPSNR. This is the number super-resolution papers report on Set5 / Set14 / BSD100 (a
// mean of per-image PSNRs, not the PSNR of the mean MSE).
func PSNRY(pred, target []float32, n, h, w, shave int) float64 {
	checkBatch("PSNRY", pred, target, n, 3, h, w)
	img := 3 * h * w
	var sum float64
	for i := 0; i < n; i++ {
		yp, _, _ := Luma(pred[i*img:(i+1)*img], h, w, shave)
		yt, _, _ := Luma(target[i*img:(i+1)*img], h, w, shave)
		var se float64
		for k := range yp {
			d := yp[k] - yt[k]
			se += d * d
		}
		mse := se / float64(len(yp))
		if mse <= 0 {
			sum += MaxPSNR
		} else {
			sum += math.Min(10*math.Log10(1/mse), MaxPSNR)
		}
	}
	return sum / float64(n)
}

// SSIMY returns the mean over the n images of an NCHW RGB batch of SSIM (as SSIM, data range 1)
// on the BT.601 Y channel divided by 255 with shave border pixels cut off. The shaved image
// must still be at least SSIMWinSize pixels on each side.
func SSIMY(pred, target []float32, n, h, w, shave int) float64 {
	checkBatch("SSIMY", pred, target, n, 3, h, w)
	img := 3 * h * w
	var sum float64
	for i := 0; i < n; i++ {
		yp, yh, yw := Luma(pred[i*img:(i+1)*img], h, w, shave)
		yt, _, _ := Luma(target[i*img:(i+1)*img], h, w, shave)
		sum += SSIM(to32(yp), to32(yt), 1, 1, yh, yw)
	}
	return sum / float64(n)
}

func to32(v []float64) []float32 {
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

func checkBatch(name string, pred, target []float32, n, c, h, w int) {
	if n <= 0 || h <= 0 || w <= 0 {
		panic(fmt.Sprintf("metrics: %s invalid shape n=%d h=%d w=%d", name, n, h, w))
	}
	if len(pred) != n*c*h*w || len(target) != n*c*h*w {
		panic(fmt.Sprintf("metrics: %s length mismatch: pred %d, target %d, shape %dx%dx%dx%d", name, len(pred), len(target), n, c, h, w))
	}
}
