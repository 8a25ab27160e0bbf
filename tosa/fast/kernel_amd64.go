package fast

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var useAVX2 = cpu.X86.HasAVX2

// useVNNI selects the AVX-512 VNNI CONV2D path (VPDPBUSD micro-kernels, AVX-512 RESCALE
// epilogue) when the CPU has it; tests switch it off to exercise the other paths.
var useVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// kernel4x16AVX2 computes a 4×16 block of int32 dot products of int16 pairs (VPMADDWD):
// c[r·ldc + ch] = Σ_{j<kp} Σ_e a[r·lda + 2j + e]·w[(j·16 + ch)·2 + e]. lda and ldc are in
// bytes; kp ≥ 1.
//
//go:noescape
func kernel4x16AVX2(a *int16, lda uintptr, w *int16, kp int, c *int32, ldc uintptr)

func kernel4x16(a []int16, lda int, w []int16, kp int, c []int32, ldc int) {
	if !useAVX2 {
		kernel4x16Go(a, lda, w, kp, c, ldc)
		return
	}
	// bounds the assembly relies on
	_ = a[3*lda+2*kp-1]
	_ = w[kp*2*nr-1]
	_ = c[3*ldc+nr-1]
	kernel4x16AVX2(unsafe.SliceData(a), uintptr(lda)*2, unsafe.SliceData(w), kp, unsafe.SliceData(c), uintptr(ldc)*4)
}

// dotVNNIAsm[nb-1][rows-1] are the generated VPDPBUSD micro-kernels (vnni_amd64.s).
var dotVNNIAsm = [2][vnniMR]func(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, c *int32, ldc uintptr){
	{dotVNNI1x1, dotVNNI2x1, dotVNNI3x1, dotVNNI4x1, dotVNNI5x1, dotVNNI6x1, dotVNNI7x1, dotVNNI8x1, dotVNNI9x1, dotVNNI10x1, dotVNNI11x1, dotVNNI12x1},
	{dotVNNI1x2, dotVNNI2x2, dotVNNI3x2, dotVNNI4x2, dotVNNI5x2, dotVNNI6x2, dotVNNI7x2, dotVNNI8x2, dotVNNI9x2, dotVNNI10x2, dotVNNI11x2, dotVNNI12x2},
}

// dotVNNI runs the micro-kernel for rows pixels × 16·nb channels (see dotVNNIGo) with the
// assembly kernel when the CPU has AVX-512 VNNI.
func dotVNNI(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	if !useVNNI {
		dotVNNIGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
		return
	}
	// bounds the assembly relies on
	_ = a[aOff+(segs-1)*segStride+(rows-1)*lda+4*nq-1]
	_ = w[segs*nq*nb*64-1]
	_ = c[cOff+(rows-1)*ldc+nb*16-1]
	dotVNNIAsm[nb-1][rows-1](&a[aOff], uintptr(lda), segs, uintptr(segStride), nq, unsafe.SliceData(w), &c[cOff], uintptr(ldc)*4)
}

//go:noescape
func requantSingleAVX512(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, nblk int, tail uint64, ozp int32, out *int8, ldo uintptr)

//go:noescape
func requantAVX512(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, nblk int, tail uint64, ozp int32, out *int8, ldo uintptr)

// requantRows applies a proven-safe fused RESCALE to rows × oc accumulators (see
// requantAVX512); it reports false when the assembly is not available.
func requantRows(c []int32, ldc, rows int, corr []int32, prm []int64, single bool, oc int, ozp int32, out []int8, ldo int) bool {
	if !useVNNI || rows == 0 || oc == 0 {
		return false
	}
	nblk := (oc + 15) / 16
	_ = c[(rows-1)*ldc+nblk*16-1]
	_ = corr[nblk*16-1]
	_ = prm[nblk*64-1]
	_ = out[(rows-1)*ldo+oc-1]
	tail := uint64(1)<<(oc-(nblk-1)*16) - 1
	if single {
		requantSingleAVX512(&c[0], uintptr(ldc)*4, rows, &corr[0], &prm[0], nblk, tail, ozp, &out[0], uintptr(ldo))
		return true
	}
	requantAVX512(&c[0], uintptr(ldc)*4, rows, &corr[0], &prm[0], nblk, tail, ozp, &out[0], uintptr(ldo))
	return true
}

//go:noescape
func xor80AVX2(dst *byte, src *int8, n int)

// xor80 stores x + 128 as uint8 (x XOR 0x80) for each int8 x of src into dst.
func xor80(dst []byte, src []int8) {
	n := len(src) &^ 31
	if !useAVX2 || n == 0 {
		xor80Go(dst, src)
		return
	}
	_ = dst[len(src)-1]
	xor80AVX2(&dst[0], &src[0], n)
	xor80Go(dst[n:], src[n:])
}

var dotOC4Asm = [vnniMR]func(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, c *int32, ldc uintptr){
	dotVNNI1xOC4, dotVNNI2xOC4, dotVNNI3xOC4, dotVNNI4xOC4, dotVNNI5xOC4, dotVNNI6xOC4,
	dotVNNI7xOC4, dotVNNI8xOC4, dotVNNI9xOC4, dotVNNI10xOC4, dotVNNI11xOC4, dotVNNI12xOC4,
}

// dotOC4 runs the micro-kernel for at most 4 channels (see dotOC4Go).
func dotOC4(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	if !useVNNI {
		dotOC4Go(rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
		return
	}
	_ = a[aOff+(segs-1)*segStride+(rows-1)*lda+4*nq-1]
	_ = w[segs*nq*16-1]
	_ = c[(rows-1)*ldc+3]
	dotOC4Asm[rows-1](&a[aOff], uintptr(lda), segs, uintptr(segStride), nq, unsafe.SliceData(w), &c[0], uintptr(ldc)*4)
}

//go:noescape
func requantOC4AVX512(c *int32, rows int, corr *int32, prm *int64, shuf *byte, mask uint64, ozp int32, out *int8, ldo uintptr)

// requantOC4 applies the fused RESCALE to rows pixels of the 4-channel kernel (c: 4 int32 per
// pixel), storing oc ≤ 4 bytes per pixel; false when the assembly is not available.
func requantOC4(c []int32, rows int, corr []int32, prm []int64, shuf *[16]byte, oc int, ozp int32, out []int8) bool {
	if !useVNNI || rows == 0 {
		return false
	}
	groups := (rows + 3) / 4
	_ = c[groups*16-1]
	_ = corr[15]
	_ = prm[63]
	_ = out[rows*oc-1]
	full := rows / 4
	if full > 0 {
		requantOC4AVX512(&c[0], full, &corr[0], &prm[0], &shuf[0], 1<<(4*oc)-1, ozp, &out[0], uintptr(4*oc))
	}
	if rem := rows - 4*full; rem > 0 {
		requantOC4AVX512(&c[16*full], 1, &corr[0], &prm[0], &shuf[0], 1<<(rem*oc)-1, ozp, &out[4*full*oc], 0)
	}
	return true
}

// useSDOT: see kernel_arm64.go; there is no SDOT kernel on this architecture.
var useSDOT = false

func dotSDOT(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	dotSDOTGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
}

func dotSDOTOC4(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	dotSDOTOC4Go(rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
}

//go:noescape
func dwAcc8AVX2(acc *int32, x *int8, w *int32, izp int32, n int)

//go:noescape
func dwAcc32AVX2(acc, x, w *int32, n int)

// dwAcc8 does acc[i] += (x[i] - izp)·w[i] (int32, wrapping) for i < len(acc), with AVX2 for
// whole groups of 8.
func dwAcc8(acc []int32, x []int8, w []int32, izp int32) {
	n := 0
	if useAVX2 {
		n = len(acc) &^ 7
	}
	if n > 0 {
		_, _ = x[n-1], w[n-1]
		dwAcc8AVX2(&acc[0], &x[0], &w[0], izp, n)
	}
	dwAcc8Go(acc[n:], x[n:], w[n:], izp)
}

// dwAcc32 does acc[i] += x[i]·w[i] (int32, wrapping) for i < len(acc), with AVX2 for whole
// groups of 8.
func dwAcc32(acc, x, w []int32) {
	n := 0
	if useAVX2 {
		n = len(acc) &^ 7
	}
	if n > 0 {
		_, _ = x[n-1], w[n-1]
		dwAcc32AVX2(&acc[0], &x[0], &w[0], n)
	}
	dwAcc32Go(acc[n:], x[n:], w[n:])
}

//go:noescape
func dwPixelAVX2(acc *int32, x *int8, offs *int, w *int32, ntaps, c8 int, wstride uintptr, izp int32)

// dwPixel does, for an output pixel whose taps are all inside the image (multiplier 1),
// acc[c] += Σ_t (x[base + offs[t] + c] - izp)·w[t·C + c] for c < C = len(acc) (wrapping int32),
// with AVX2 for whole groups of 8 channels; it reports false (nothing done) without AVX2 or
// with fewer than 8 channels.
func dwPixel(acc []int32, x []int8, base int, offs []int, w []int32, izp int32) bool {
	C := len(acc)
	c8 := C &^ 7
	if !useAVX2 || c8 == 0 || len(offs) == 0 {
		return false
	}
	// bounds the assembly relies on (offs are increasing)
	_ = x[base+offs[len(offs)-1]+C-1]
	_ = x[base]
	_ = w[len(offs)*C-1]
	dwPixelAVX2(&acc[0], &x[base], &offs[0], &w[0], len(offs), c8, uintptr(C)*4, izp)
	for c := c8; c < C; c++ {
		a := acc[c]
		for t, o := range offs {
			a += (int32(x[base+o+c]) - izp) * w[t*C+c]
		}
		acc[c] = a
	}
	return true
}

func requantRowsN(c []int32, ldc, rows int, corr []int32, prmN []int64, r *rescalePlan, oc int, out []int8, ldo int) bool {
	return false
}

//go:noescape
func resizeRowAVX2(dst, r0, r1, off0, off1, wx0, wx1 *int32, n int, wy0, wy1 int32)

// resizeRowFast does resizeRow on the longest prefix that is a multiple of 8 with AVX2 gathers
// and returns its length (0 without AVX2).
func resizeRowFast(dst, r0, r1 []int32, c *resizeCols, wy0, wy1 int32) int {
	n := len(dst) &^ 7
	if n == 0 || !useAVX2 || forceGoResize {
		return 0
	}
	_, _, _, _ = c.off0[n-1], c.off1[n-1], c.wx0[n-1], c.wx1[n-1]
	resizeRowAVX2(&dst[0], &r0[0], &r1[0], &c.off0[0], &c.off1[0], &c.wx0[0], &c.wx1[0], n, wy0, wy1)
	return n
}
