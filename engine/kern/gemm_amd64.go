//go:build amd64

package kern

import "golang.org/x/sys/cpu"

// sgemmKernel6x16 is the AVX2+FMA micro-kernel (gemm_amd64.s): c[i*ldc+j] (+)= sum_l
// a[l*6+i]*b[l*16+j] for a 6x16 tile, a and b packed; accum != 0 adds into c.
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, accum int)

var hasAsmKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func asmKernel6x16(k int, a, b, c []float32, ldc int, accum bool) {
	acc := 0
	if accum {
		acc = 1
	}
	sgemmKernel6x16(k, &a[0], &b[0], &c[0], ldc, acc)
}

// gather16 copies, for l < n, the 16 floats at src[offs[l]:] to dst[l*16:] (gemm_amd64.s).
//
//go:noescape
func gather16(dst, src *float32, offs *int, n int)

// copyRows16 sets dst[l*16:l*16+16] = src[offs[l]:offs[l]+16] for l < len(offs).
func copyRows16(dst, src []float32, offs []int) {
	if len(offs) == 0 {
		return
	}
	if !hasAvx {
		copyRows16Generic(dst, src, offs)
		return
	}
	_ = dst[len(offs)*16-1]
	for _, o := range offs {
		_ = src[o+15]
	}
	gather16(&dst[0], &src[0], &offs[0], len(offs))
}

var hasAvx = cpu.X86.HasAVX
