//go:build !amd64 && !arm64

package fast

var useAVX2 = false

// useVNNI: see kernel_amd64.go; there is no VNNI kernel on this architecture.
var useVNNI = false

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

// useSDOT: see kernel_arm64.go; there is no SDOT kernel on this architecture.
var useSDOT = false

func dotSDOT(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	dotSDOTGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
}

func dotSDOTOC4(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	dotSDOTOC4Go(rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
}

func dwAcc8(acc []int32, x []int8, w []int32, izp int32) { dwAcc8Go(acc, x, w, izp) }

func dwAcc32(acc, x, w []int32) { dwAcc32Go(acc, x, w) }

func dwPixel(acc []int32, x []int8, base int, offs []int, w []int32, izp int32) bool { return false }

func requantRowsN(c []int32, ldc, rows int, corr []int32, prmN []int64, r *rescalePlan, oc int, out []int8, ldo int) bool {
	return false
}

func resizeRowFast(dst, r0, r1 []int32, c *resizeCols, wy0, wy1 int32) int { return 0 }
