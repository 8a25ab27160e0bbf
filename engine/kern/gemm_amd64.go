//go:build amd64

package kern

import "golang.org/x/sys/cpu"

// sgemmKernel6x16 is the AVX2+FMA micro-kernel (gemm_amd64.s): c[i*ldc+j] (+)= bias[i] +
// sum_l a[l*6+i]*b[l*16+j] for a 6x16 tile, a and b packed; accum != 0 adds into c; bias may
// be nil.
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, accum int, bias *float32)

var hasAsmKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gather16 copies, for l < n, the 8 floats at src[offs[l]:] to dst[l*16:] and the 8 at
// src[offs[l]+off1:] to dst[l*16+8:] (gemm_amd64.s).
//
//go:noescape
func gather16(dst, src *float32, offs *int, n int, off1 int)

// copyRows16 sets dst[l*16:l*16+8] = src[offs[l]:offs[l]+8] and
// dst[l*16+8:l*16+16] = src[offs[l]+off1:offs[l]+off1+8] for l < len(offs) (off1 = 8 copies
// 16 contiguous floats).
func copyRows16(dst, src []float32, offs []int, off1 int) {
	if len(offs) == 0 {
		return
	}
	if !hasAvx || forceGeneric {
		copyRows16Generic(dst, src, offs, off1)
		return
	}
	_ = dst[len(offs)*16-1]
	for _, o := range offs {
		_ = src[o+7]
		_ = src[o+off1+7]
		_ = src[o+off1]
	}
	gather16(&dst[0], &src[0], &offs[0], len(offs), off1)
}

var hasAvx = cpu.X86.HasAVX

// transpose16x8 writes, for b < nb, t < 8, j < 16, dst[(b*8+t)*16+j] = src[offs[j]+b*8+t]
// (gemm_amd64.s).
//
//go:noescape
func transpose16x8(dst, src *float32, offs *int, nb int)

// transposeRows16 sets dst[t*16+j] = src[offs[j]+t] for t < n, j < 16.
func transposeRows16(dst, src []float32, offs *[16]int, n int) {
	nb := n / 8
	if nb > 0 && hasAvx && !forceGeneric {
		_ = dst[nb*8*16-1]
		for _, o := range offs {
			_ = src[o+nb*8-1]
		}
		transpose16x8(&dst[0], &src[0], &offs[0], nb)
		transposeRows16Generic(dst[nb*8*16:], src[nb*8:], offs, n-nb*8)
		return
	}
	transposeRows16Generic(dst, src, offs, n)
}
