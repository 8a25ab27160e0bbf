//go:build !amd64

package quant

func fakeQuantFast(dst, x []float32, inv, zf, lo, hi, scale float32, mask []bool) int { return 0 }

func minMaxFast(x []float32) (mn, mx float32, nan bool, k int) { return 0, 0, false, 0 }

func histBinsFast(x []float32, a, b, w float32, bins []int32) int { return 0 }
