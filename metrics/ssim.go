package metrics

import (
	"fmt"
	"math"
)

// SSIM parameters (Wang et al. 2004 constants, skimage Gaussian-window
// defaults, data range 1).
const (
	SSIMSigma   = 1.5                         // Gaussian window standard deviation
	SSIMRadius  = 5                           // int(3.5*SSIMSigma + 0.5): scipy truncate=3.5
	SSIMWinSize = 2*SSIMRadius + 1            // 11x11 window
	SSIMK1      = 0.01                        // luminance constant factor
	SSIMK2      = 0.03                        // contrast constant factor
	ssimC1      = (SSIMK1 * 1) * (SSIMK1 * 1) // (K1*data_range)^2
	ssimC2      = (SSIMK2 * 1) * (SSIMK2 * 1) // (K2*data_range)^2
)

// ssimKernel is the normalised 1-D Gaussian, built like
// scipy.ndimage._gaussian_kernel1d(sigma=1.5, order=0, radius=5).
var ssimKernel = func() [SSIMWinSize]float64 {
	var k [SSIMWinSize]float64
	var sum float64
	for i := range k {
		x := float64(i - SSIMRadius)
		k[i] = math.Exp(-0.5 / (SSIMSigma * SSIMSigma) * x * x)
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// SSIM returns the mean structural similarity index of Wang et al. (2004)
// between pred and target, NCHW batches of n images with c channels of h x w
// pixels and data range 1.
//
// The definition is exactly that of
//
//	skimage.metrics.structural_similarity(target_i, pred_i, data_range=1.0,
//	    channel_axis=0, gaussian_weights=True, sigma=1.5,
//	    use_sample_covariance=False)
//
// evaluated per image and averaged over the n images:
//
//   - window: separable Gaussian, sigma 1.5, truncate 3.5, so radius 5 and
//     an 11x11 window, weights exp(-k²/(2σ²)) normalised to sum 1;
//   - local statistics ux, uy, uxx, uyy, uxy are the Gaussian-filtered
//     x, y, x², y², x·y (scipy.ndimage.gaussian_filter, mode 'reflect' =
//     half-sample symmetric extension, over the full image);
//   - vx = uxx-ux², vy = uyy-uy², vxy = uxy-ux·uy (population covariance);
//   - C1 = (0.01)², C2 = (0.03)²;
//   - S = (2·ux·uy+C1)(2·vxy+C2) / ((ux²+uy²+C1)(vx+vy+C2)) per pixel;
//   - mean of S over the valid region left after cropping (win_size-1)/2 = 5
//     pixels from every border ((h-10)x(w-10), e.g. 22x22 for 32x32 input);
//   - mean over channels, then mean over images.
//
// Because the crop equals the window radius, no retained pixel's window
// reaches outside the image, so the padding mode does not affect the result
// (it is the same for the 'nearest' default of skimage.filters.gaussian, and
// for newer skimage releases' padding_mode=None default, which also crops);
// the implementation therefore filters only the valid region. All arithmetic
// is in float64, which matches skimage called with float64 arrays; called
// with float32 arrays, skimage rounds filter outputs and per-channel means to
// float32, which moves the result by roughly 1e-7..1e-6. The golden test
// compares against the plain-numpy reference tools/golden/ssim_ref.py, which
// filters the full image with explicit reflect padding.
//
// SSIM is symmetric in pred and target. It panics if the slices do not both
// have length n*c*h*w, if any dimension is non-positive, or if h or w is
// smaller than the 11-pixel window (skimage raises an error there too).
func SSIM(pred, target []float32, n, c, h, w int) float64 {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 {
		panic(fmt.Sprintf("metrics: SSIM invalid shape n=%d c=%d h=%d w=%d", n, c, h, w))
	}
	if h < SSIMWinSize || w < SSIMWinSize {
		panic(fmt.Sprintf("metrics: SSIM needs images of at least %dx%d pixels, got %dx%d", SSIMWinSize, SSIMWinSize, h, w))
	}
	size := n * c * h * w
	if len(pred) != size || len(target) != size {
		panic(fmt.Sprintf("metrics: SSIM length mismatch: pred %d, target %d, shape %dx%dx%dx%d = %d",
			len(pred), len(target), n, c, h, w, size))
	}
	s := newSSIMScratch(h, w)
	plane := h * w
	var total float64
	for i := 0; i < n; i++ {
		var img float64
		for k := 0; k < c; k++ {
			off := (i*c + k) * plane
			img += s.channel(pred[off:off+plane], target[off:off+plane])
		}
		total += img / float64(c)
	}
	return total / float64(n)
}

// ssimScratch holds the working buffers for one channel: the vertically
// filtered statistics for the rows of the valid region (all columns) and one
// row of fully filtered statistics.
type ssimScratch struct {
	h, w                  int
	mx, my, mxx, myy, mxy []float64 // (h-2r) x w, vertically filtered
	ux, uy, uxx, uyy, uxy []float64 // one valid row, fully filtered
}

func newSSIMScratch(h, w int) *ssimScratch {
	m := (h - 2*SSIMRadius) * w
	v := w - 2*SSIMRadius
	buf := make([]float64, 5*m+5*v)
	next := func(k int) []float64 {
		b := buf[:k:k]
		buf = buf[k:]
		return b
	}
	return &ssimScratch{
		h: h, w: w,
		mx: next(m), my: next(m), mxx: next(m), myy: next(m), mxy: next(m),
		ux: next(v), uy: next(v), uxx: next(v), uyy: next(v), uxy: next(v),
	}
}

// channel returns the mean SSIM map value of one h x w channel over the valid
// region.
func (s *ssimScratch) channel(x, y []float32) float64 {
	h, w := s.h, s.w
	g := &ssimKernel
	vh := h - 2*SSIMRadius
	// Vertical pass: output rows r..h-r-1 need input rows 0..h-1 only. Rows
	// are accumulated tap by tap (taps in window order, as scipy does) so the
	// inner loop carries no dependency between columns.
	for i := 0; i < vh; i++ {
		o := i * w
		mx, my := s.mx[o:o+w], s.my[o:o+w]
		mxx, myy, mxy := s.mxx[o:o+w], s.myy[o:o+w], s.mxy[o:o+w]
		clear(mx)
		clear(my)
		clear(mxx)
		clear(myy)
		clear(mxy)
		for t := 0; t < SSIMWinSize; t++ {
			gt := g[t]
			xr := x[(i+t)*w : (i+t+1)*w]
			yr := y[(i+t)*w : (i+t+1)*w]
			for j := range xr {
				a, b := float64(xr[j]), float64(yr[j])
				mx[j] += gt * a
				my[j] += gt * b
				mxx[j] += gt * (a * a)
				myy[j] += gt * (b * b)
				mxy[j] += gt * (a * b)
			}
		}
	}
	// Horizontal pass on the valid columns, one row at a time, then the SSIM
	// map.
	vw := w - 2*SSIMRadius
	ux, uy, uxx, uyy, uxy := s.ux, s.uy, s.uxx, s.uyy, s.uxy
	var sum float64
	for i := 0; i < vh; i++ {
		o := i * w
		clear(ux)
		clear(uy)
		clear(uxx)
		clear(uyy)
		clear(uxy)
		for t := 0; t < SSIMWinSize; t++ {
			gt := g[t]
			mx, my := s.mx[o+t:o+t+vw], s.my[o+t:o+t+vw]
			mxx, myy, mxy := s.mxx[o+t:o+t+vw], s.myy[o+t:o+t+vw], s.mxy[o+t:o+t+vw]
			for j := range ux {
				ux[j] += gt * mx[j]
				uy[j] += gt * my[j]
				uxx[j] += gt * mxx[j]
				uyy[j] += gt * myy[j]
				uxy[j] += gt * mxy[j]
			}
		}
		for j := range ux {
			vx := uxx[j] - ux[j]*ux[j]
			vy := uyy[j] - uy[j]*uy[j]
			vxy := uxy[j] - ux[j]*uy[j]
			num := (2*ux[j]*uy[j] + ssimC1) * (2*vxy + ssimC2)
			den := (ux[j]*ux[j] + uy[j]*uy[j] + ssimC1) * (vx + vy + ssimC2)
			sum += num / den
		}
	}
	return sum / float64(vh*(w-2*SSIMRadius))
}
