//go:build !amd64

package fast

var useAVX2 = false

func kernel4x16(a []int16, lda int, w []int16, kp int, c []int32, ldc int) {
	kernel4x16Go(a, lda, w, kp, c, ldc)
}
