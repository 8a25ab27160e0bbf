//go:build arm64

package kern

//go:generate go run mkneon.go

import (
	"sync"

	"golang.org/x/sys/cpu"
)

// hasAsmKernel: the NEON FMLA micro-kernels (gemm_arm64.s) need only Advanced SIMD, which every
// arm64 Linux CPU has.
var hasAsmKernel = cpu.ARM64.HasASIMD

// asmKernelRows runs the NEON micro-kernel for the first mr (1..6) rows of a tile (bias, if not
// nil, points at mr row biases): c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i]*b[l*16+j].
func asmKernelRows(mr, k int, a, b, c []float32, ldc int, accum bool, bias *float32) {
	_ = c[(mr-1)*ldc+gemmNR-1]
	_ = a[k*gemmMR-1]
	_ = b[k*gemmNR-1]
	pa, pb, pc := &a[0], &b[0], &c[0]
	neonKernels[min(mr, gemmMR)-1](k, pa, pb, pc, ldc, boolInt(accum), bias)
}

func copyRows16(dst, src []float32, offs []int, off1 int) {
	copyRows16Generic(dst, src, offs, off1)
}

func transposeRows16(dst, src []float32, offs *[16]int, n int) {
	transposeRows16Generic(dst, src, offs, n)
}

// hasIndKernel: on arm64 the "indirect" kernel packs the 16-wide B tile of the whole k (from
// the image, as the amd64 kernels read it) and runs the packed NEON kernel on it. That is the
// same arithmetic as the amd64 indirect kernels (one pass over all of k, no KC blocking), so a
// convolution with at most 6 outputs per group computes the same float32 values on both.
const hasIndKernel = true

var indPool = sync.Pool{New: func() any { return new([]float32) }}

// indKernelRows computes, for the first mr rows of the packed A panel a (k x 6),
// c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i] * src[off0+offs[l]+j] (j < 8) or
// src[off1+offs[l]+j-8] (8 <= j < 16).
func indKernelRows(mr, k int, a, src []float32, off0, off1 int, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	p := indPool.Get().(*[]float32)
	if cap(*p) < k*gemmNR {
		*p = make([]float32, k*gemmNR)
	}
	b := (*p)[:k*gemmNR]
	copyRows16(b, src[off0:], offs[:k], off1-off0)
	asmKernelRows(mr, k, a, b, c, ldc, accum, bias)
	indPool.Put(p)
}

// indReadsImage: the weight gradient's blocked-image path needs indirect kernels with A read
// from rows (amd64 only); on arm64 the weight gradient packs, with the same bits.
const indReadsImage = false

// indBlocksNative: the blocked indirect NEON kernels (sgemmNeonIndB*, mkneon.go) read B rows
// straight from the image, so the forward convolutions use fwdIndirect here too.
const indBlocksNative = true

var neonIndBKernels = [...]func(nblk, k int, a, src *float32, boffs, offs *int, c *float32, ldc int, accum int, bias *float32){
	sgemmNeonIndB1x16, sgemmNeonIndB2x16, sgemmNeonIndB3x16, sgemmNeonIndB4x16, sgemmNeonIndB5x16, sgemmNeonIndB6x16}

// indKernelBlocks runs indKernelRows over nblk blocks of 16 columns in one call: block j reads
// B at src[boffs[2j]:] and src[boffs[2j+1]:] and writes c[16j:]. Same arithmetic per block as
// the packed NEON kernel over all of k.
func indKernelBlocks(mr, nblk, k int, a, src []float32, boffs, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	if nblk == 0 {
		return
	}
	_ = boffs[2*nblk-1]
	_ = c[(mr-1)*ldc+16*nblk-1]
	_ = a[k*gemmMR-1]
	neonIndBKernels[min(mr, gemmMR)-1](nblk, k, &a[0], &src[0], &boffs[0], &offs[0], &c[0], ldc, boolInt(accum), bias)
}

// neonKernels are the packed micro-kernels by tile height (index mr-1).
var neonKernels = [...]func(k int, a, b, c *float32, ldc int, accum int, bias *float32){
	sgemmNeon1x16, sgemmNeon2x16, sgemmNeon3x16, sgemmNeon4x16, sgemmNeon5x16, sgemmNeon6x16}
