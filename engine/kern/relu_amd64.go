//go:build amd64

package kern

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
