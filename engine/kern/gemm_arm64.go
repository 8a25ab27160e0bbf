//go:build arm64

package kern

//go:generate go run mkneon.go

import "golang.org/x/sys/cpu"

// hasAsmKernel: the NEON FMLA micro-kernels (gemm_arm64.s) need only Advanced SIMD, which every
// arm64 Linux CPU has.
var hasAsmKernel = cpu.ARM64.HasASIMD

// asmKernelRows runs the NEON micro-kernel for the first mr (1..6) rows of a tile (bias, if not
// nil, points at mr row biases): c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i]*b[l*16+j].
func asmKernelRows(mr, k int, a, b, c []float32, ldc int, accum bool, bias *float32) {
	acc := 0
	if accum {
		acc = 1
	}
	_ = c[(mr-1)*ldc+gemmNR-1]
	_ = a[k*gemmMR-1]
	_ = b[k*gemmNR-1]
	pa, pb, pc := &a[0], &b[0], &c[0]
	switch mr {
	case 1:
		sgemmNeon1x16(k, pa, pb, pc, ldc, acc, bias)
	case 2:
		sgemmNeon2x16(k, pa, pb, pc, ldc, acc, bias)
	case 3:
		sgemmNeon3x16(k, pa, pb, pc, ldc, acc, bias)
	case 4:
		sgemmNeon4x16(k, pa, pb, pc, ldc, acc, bias)
	case 5:
		sgemmNeon5x16(k, pa, pb, pc, ldc, acc, bias)
	default:
		sgemmNeon6x16(k, pa, pb, pc, ldc, acc, bias)
	}
}

func copyRows16(dst, src []float32, offs []int, off1 int) {
	copyRows16Generic(dst, src, offs, off1)
}

func transposeRows16(dst, src []float32, offs *[16]int, n int) {
	transposeRows16Generic(dst, src, offs, n)
}

// There are no indirect (unpacked-B) kernels on arm64: convolutions pack B.
const hasIndKernel = false

func indKernelRows(mr, k int, a, src []float32, off0, off1 int, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	panic("kern: no indirect kernel on this architecture")
}
