package fast

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var useAVX2 = cpu.X86.HasAVX2

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
