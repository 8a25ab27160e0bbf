//go:build !amd64

package kern

// The kernels amd64 has in assembly that read operands in place, done here by packing first
// and running the packed kernels: the same arithmetic (and on arm64 the same NEON kernels).

// indKernelRowsStrided is indKernelRows with A read from rows lda apart (packed here first).
func indKernelRowsStrided(mr, k int, a []float32, lda int, src []float32, off0, off1 int, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	pa := make([]float32, gemmMR*k)
	packA(false, a, lda, 0, 0, mr, k, 1, pa)
	indKernelRows(mr, k, pa, src, off0, off1, offs, c, ldc, accum, bias)
}

// hasStridedKernel: no kernels reading A from rows here (sgemm packs A).
const hasStridedKernel = false

func stridedKernelRows(mr, k int, a []float32, lda int, b, c []float32, ldc int, accum bool) {
	panic("kern: no strided-A kernel on this architecture")
}
