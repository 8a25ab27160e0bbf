package fast

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var useAVX2 = false

// useVNNI: see kernel_amd64.go; there is no VNNI kernel on this architecture.
var useVNNI = false

// useSDOT selects the signed dot-product layout of the CONV2D with the NEON SDOT micro-kernels
// (sdot_arm64.s) when the CPU has the ASIMD dot product extension (Armv8.2 FEAT_DotProd); tests
// switch it off to exercise the other paths.
var useSDOT = cpu.ARM64.HasASIMDDP

func kernel4x16(a []int16, lda int, w []int16, kp int, c []int32, ldc int) {
	kernel4x16Go(a, lda, w, kp, c, ldc)
}

func dotVNNI(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	dotVNNIGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
}

func requantRows(c []int32, ldc, rows int, corr []int32, prm []int64, single bool, oc int, ozp int32, out []int8, ldo int) bool {
	return false
}

func xor80(dst []byte, src []int8) { xor80Go(dst, src) }

func dotOC4(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	dotOC4Go(rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
}

func requantOC4(c []int32, rows int, corr []int32, prm []int64, shuf *[16]byte, oc int, ozp int32, out []int8) bool {
	return false
}

const sdotMR = 4 // rows of the SDOT micro-kernels

// dotSDOTAsm[rows-1] and dotSDOTOC4Asm[rows-1] are the generated SDOT micro-kernels.
var (
	dotSDOTAsm = [sdotMR]func(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, wstride uintptr, c *int32, ldc uintptr){
		dotSDOT1x16, dotSDOT2x16, dotSDOT3x16, dotSDOT4x16,
	}
	dotSDOTOC4Asm = [sdotMR]func(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, c *int32, ldc uintptr){
		dotSDOT1xOC4, dotSDOT2xOC4, dotSDOT3xOC4, dotSDOT4xOC4,
	}
)

// dotSDOT is dotSDOTGo (signed bytes, same layout as dotVNNI), with the NEON kernels when the
// CPU has the dot product instructions: per 4 rows and 16-channel block.
func dotSDOT(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	if !useSDOT {
		dotSDOTGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
		return
	}
	// bounds the assembly relies on
	_ = a[aOff+(segs-1)*segStride+(rows-1)*lda+4*nq-1]
	_ = w[segs*nq*nb*64-1]
	_ = c[cOff+(rows-1)*ldc+nb*16-1]
	for r0 := 0; r0 < rows; r0 += sdotMR {
		k := dotSDOTAsm[min(sdotMR, rows-r0)-1]
		for b := range nb {
			k(&a[aOff+r0*lda], uintptr(lda), segs, uintptr(segStride), nq, &w[b*64], uintptr(nb*64), &c[cOff+r0*ldc+16*b], uintptr(ldc)*4)
		}
	}
}

// dotSDOTOC4 is dotSDOTOC4Go with the NEON kernels when available.
func dotSDOTOC4(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	if !useSDOT {
		dotSDOTOC4Go(rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
		return
	}
	_ = a[aOff+(segs-1)*segStride+(rows-1)*lda+4*nq-1]
	_ = w[segs*nq*16-1]
	_ = c[(rows-1)*ldc+3]
	for r0 := 0; r0 < rows; r0 += sdotMR {
		dotSDOTOC4Asm[min(sdotMR, rows-r0)-1](&a[aOff+r0*lda], uintptr(lda), segs, uintptr(segStride), nq, unsafe.SliceData(w), &c[r0*ldc], uintptr(ldc)*4)
	}
}

func dwAcc8(acc []int32, x []int8, w []int32, izp int32) { dwAcc8Go(acc, x, w, izp) }

func dwAcc32(acc, x, w []int32) { dwAcc32Go(acc, x, w) }

func dwPixel(acc []int32, x []int8, base int, offs []int, w []int32, izp int32) bool { return false }

// requantRowsN applies the proven-safe fused RESCALE of the signed (SDOT) layout to rows × oc
// accumulators c + corr: whole groups of 4 channels with NEON (requantNEON, parameters prmN),
// the other channels in Go. It reports false when the CPU path is off (tests).
func requantRowsN(c []int32, ldc, rows int, corr []int32, prmN []int64, r *rescalePlan, oc int, out []int8, ldo int) bool {
	if !useSDOT || rows == 0 || oc == 0 {
		return false
	}
	ng := oc / 4
	if ng > 0 {
		_ = c[(rows-1)*ldc+4*ng-1]
		_ = corr[4*ng-1]
		_ = prmN[ng*14-1]
		_ = out[(rows-1)*ldo+4*ng-1]
		requantNEON(&c[0], uintptr(ldc)*4, rows, &corr[0], &prmN[0], ng, int32(r.ozp), &out[0], uintptr(ldo))
	}
	requantSafeGo(c, ldc, rows, corr, r, 4*ng, oc, out, ldo)
	return true
}

func resizeRowFast(dst, r0, r1 []int32, c *resizeCols, wy0, wy1 int32) int { return 0 }
