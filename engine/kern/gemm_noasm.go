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

// indKernelBlocks is indKernelRows over nblk blocks of 16 columns (block j: B at
// src[boffs[2j]:] and src[boffs[2j+1]:], C at c[16j:]).
func indKernelBlocks(mr, nblk, k int, a, src []float32, boffs, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	for j := 0; j < nblk; j++ {
		indKernelRows(mr, k, a, src, boffs[2*j], boffs[2*j+1], offs, c[16*j:], ldc, accum, bias)
	}
}

// indBlocksNative: no indirect kernels.
const indBlocksNative = false
