//go:build !amd64 && !arm64

package kern

const hasAsmKernel = false

func copyRows16(dst, src []float32, offs []int, off1 int) {
	copyRows16Generic(dst, src, offs, off1)
}

func transposeRows16(dst, src []float32, offs *[16]int, n int) {
	transposeRows16Generic(dst, src, offs, n)
}

func asmKernelRows(mr, k int, a, b, c []float32, ldc int, accum bool, bias *float32) {
	panic("kern: no assembly kernel on this architecture")
}

const hasIndKernel = false

func indKernelRows(mr, k int, a, src []float32, off0, off1 int, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	panic("kern: no assembly kernel on this architecture")
}

// indReadsImage: no indirect kernels.
const indReadsImage = false
