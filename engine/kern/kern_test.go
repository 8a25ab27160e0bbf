package kern

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// relErr returns max|got-want| / max|want| (or the absolute error when want is all zero).
func relErr(got, want []float32) float64 {
	var md, mr float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) {
			d = math.Inf(1)
		}
		md = max(md, d)
		mr = max(mr, math.Abs(float64(want[i])))
	}
	if mr == 0 {
		return md
	}
	return md / mr
}

const tol = 1e-5

// withGeneric runs f once with the assembly micro-kernel (when available) and once with the
// pure-Go fallback forced.
func withGeneric(t *testing.T, f func(t *testing.T)) {
	t.Run("default", f)
	t.Run("generic", func(t *testing.T) {
		old := forceGeneric
		forceGeneric = true
		defer func() { forceGeneric = old }()
		f(t)
	})
}

func checkSgemm(t *testing.T, r *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32, extra int) {
	t.Helper()
	lda, ldb := k+extra, n+extra
	arows, brows := m, k
	if ta {
		lda, arows = m+extra, k
	}
	if tb {
		ldb, brows = k+extra, n
	}
	ldc := n + extra
	a := randSlice(r, arows*lda)
	b := randSlice(r, brows*ldb)
	c := randSlice(r, m*ldc)
	want := append([]float32(nil), c...)
	RefSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	got := append([]float32(nil), c...)
	Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	if e := relErr(got, want); e > tol {
		t.Fatalf("Sgemm ta=%v tb=%v m=%d n=%d k=%d alpha=%v beta=%v extra=%d: rel err %g", ta, tb, m, n, k, alpha, beta, extra, e)
	}
	// Padding columns of C beyond n must be untouched.
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			if got[i*ldc+j] != c[i*ldc+j] {
				t.Fatalf("Sgemm wrote outside C at (%d,%d)", i, j)
			}
		}
	}
}

func TestSgemm(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		sizes := []int{1, 2, 5, 6, 7, 15, 16, 17, 31, 33, 64, 97, 130}
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for it := 0; it < 60; it++ {
					m := sizes[r.Intn(len(sizes))]
					n := sizes[r.Intn(len(sizes))]
					k := sizes[r.Intn(len(sizes))]
					alpha := []float32{1, 0.5, -2, 0}[r.Intn(4)]
					beta := []float32{0, 1, -0.75}[r.Intn(3)]
					checkSgemm(t, r, ta, tb, m, n, k, alpha, beta, r.Intn(3)*5)
				}
			}
		}
	})
}

func TestSgemmLarge(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		// Sizes crossing the KC/MC/NC block edges and the parallel split.
		for _, s := range [][3]int{{100, 2100, 300}, {257, 40, 513}, {37, 1000, 290}, {200, 200, 200}} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					checkSgemm(t, r, ta, tb, s[0], s[1], s[2], 1, []float32{0, 1}[r.Intn(2)], 3)
				}
			}
		}
	})
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	c := []float32{float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN())}
	Sgemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, c, 2)
	want := []float32{7, 10, 15, 22}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("got %v want %v", c, want)
		}
	}
}

var _ = fmt.Sprint
