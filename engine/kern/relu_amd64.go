//go:build amd64

package kern

import "golang.org/x/sys/cpu"

//go:noescape
func reluAVX(y *float32, n int)

// reluFast rectifies the longest prefix of y that is a multiple of 8 with AVX and returns its
// length (0 without AVX).
func reluFast(y []float32) int {
	n := len(y) &^ 7
	if n == 0 || !hasAvx || forceGeneric {
		return 0
	}
	reluAVX(&y[0], n)
	return n
}

//go:noescape
func reluBackwardAVX(y, gr, dx *float32, n int)

// reluBackwardFast does ReLUBackward on the longest prefix that is a multiple of 8 with AVX
// and returns its length (0 without AVX).
func reluBackwardFast(y, g, dx []float32) int {
	n := len(y) &^ 7
	if n == 0 || !hasAvx || forceGeneric {
		return 0
	}
	_, _ = g[n-1], dx[n-1]
	reluBackwardAVX(&y[0], &g[0], &dx[0], n)
	return n
}

//go:noescape
func reluBackwardSetAVX(y, gr, dx *float32, n int)

// reluBackwardSetFast does ReLUBackwardSet on the longest prefix that is a multiple of 8 with
// AVX and returns its length (0 without AVX).
func reluBackwardSetFast(y, g, dx []float32) int {
	n := len(y) &^ 7
	if n == 0 || !hasAvx || forceGeneric {
		return 0
	}
	_, _ = g[n-1], dx[n-1]
	reluBackwardSetAVX(&y[0], &g[0], &dx[0], n)
	return n
}

//go:noescape
func sum4x4AVX(rows *float32, stride int, n int, out *[16]float32)

// sum4x4 sets, for the 4 rows src[r*stride : r*stride+n] (n a multiple of 4), out[4r+q] to the
// in-order sum of row[4j+q] over j (starting from +0), with AVX; false without AVX.
func sum4x4(src []float32, stride, n int, out *[16]float32) bool {
	if n == 0 || !hasAvx || forceGeneric {
		return false
	}
	_ = src[3*stride+n-1]
	sum4x4AVX(&src[0], stride, n, out)
	return true
}

//go:noescape
func padRowsAVX(dst, src *float32, rows, w, wp, pw int)

// padRows writes rows zero-padded rows of width wp (pw zeros, w values of src, zeros) into dst.
func padRows(dst, src []float32, rows, w, wp, pw int) {
	if rows == 0 {
		return
	}
	if !hasAvx || forceGeneric || w == 0 {
		padRowsGeneric(dst, src, rows, w, wp, pw)
		return
	}
	_, _ = dst[rows*wp-1], src[rows*w-1]
	padRowsAVX(&dst[0], &src[0], rows, w, wp, pw)
}

//go:noescape
func reluToAVX(x, y *float32, n int)

// reluToFast does ReLUTo on the longest prefix that is a multiple of 8 with AVX and returns
// its length (0 without AVX).
func reluToFast(x, y []float32) int {
	n := len(x) &^ 7
	if n == 0 || !hasAvx || forceGeneric {
		return 0
	}
	_ = y[n-1]
	reluToAVX(&x[0], &y[0], n)
	return n
}

//go:noescape
func addMaskedAVX(d, gr *float32, mask *bool, n int)

// addMaskedFast does AddMasked on the longest prefix that is a multiple of 8 with AVX and
// returns its length (0 without AVX).
func addMaskedFast(dx, g []float32, mask []bool) int {
	n := len(dx) &^ 7
	if n == 0 || !hasAvx || forceGeneric {
		return 0
	}
	_, _ = g[n-1], mask[n-1]
	addMaskedAVX(&dx[0], &g[0], &mask[0], n)
	return n
}

//go:noescape
func bilinearRowAVX(dst, r0, r1 *float32, i0, i1 *int32, l0, l1 *float32, n int, ly *[2]float32)

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// bilinearRowFast does BilinearRow on the longest prefix that is a multiple of 8 with AVX2
// gathers and double-precision FMAs, returning its length (0 without AVX2+FMA).
func bilinearRowFast(dst, r0, r1 []float32, c *BilinearCols, ly0, ly1 float32) int {
	n := len(dst) &^ 7
	if n == 0 || !hasAVX2FMA || forceGeneric {
		return 0
	}
	_, _, _, _ = c.I0[n-1], c.I1[n-1], c.L0[n-1], c.L1[n-1]
	ly := [2]float32{ly0, ly1}
	bilinearRowAVX(&dst[0], &r0[0], &r1[0], &c.I0[0], &c.I1[0], &c.L0[0], &c.L1[0], n, &ly)
	return n
}
