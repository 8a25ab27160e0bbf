//go:build amd64

package quant

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func fakeQuantAVX(dst, x *float32, n int, mask *bool, p *[8]float32)

var hasAVX = cpu.X86.HasAVX

// fakeQuantFast runs FakeQuantTensor on the longest prefix that is a multiple of 8 with AVX
// and returns its length (0 without AVX).
func fakeQuantFast(dst, x []float32, inv, zf, lo, hi, scale float32, mask []bool) int {
	n := len(x) &^ 7
	if n == 0 || !hasAVX || forceScalarFakeQuant {
		return 0
	}
	_ = dst[n-1]
	var mp *bool
	if mask != nil {
		_ = mask[n-1]
		mp = unsafe.SliceData(mask)
	}
	p := [8]float32{inv, zf, lo, hi, scale, fakeBig}
	fakeQuantAVX(&dst[0], &x[0], n, mp, &p)
	return n
}

//go:noescape
func minMaxAVX(x *float32, n int, out *[3]float32)

// minMaxFast returns a minimum and a maximum of the longest prefix of x that is a multiple of 8
// (which of ±0 is not defined) and whether it holds a NaN, with AVX; k = 0 without AVX.
func minMaxFast(x []float32) (mn, mx float32, nan bool, k int) {
	k = len(x) &^ 7
	if k == 0 || !hasAVX || forceScalarFakeQuant {
		return 0, 0, false, 0
	}
	var out [3]float32
	minMaxAVX(&x[0], k, &out)
	return out[0], out[1], math.Float32bits(out[2]) != 0, k
}

//go:noescape
func histBinsAVX(x *float32, n int, bins *int32, p *[4]float32)

// histBinsFast writes the histc bins of the longest prefix of x that is a multiple of 8 into
// bins (2048 for values outside [a, b]) with AVX and returns its length (0 without AVX).
func histBinsFast(x []float32, a, b, w float32, bins []int32) int {
	n := min(len(x), len(bins)) &^ 7
	if n == 0 || !hasAVX || forceScalarFakeQuant {
		return 0
	}
	p := [4]float32{a, b, HistBins, w}
	histBinsAVX(&x[0], n, &bins[0], &p)
	return n
}
