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
