package kern

import (
	"fmt"
	"math/rand"
	"testing"
)

func reportGflops(b *testing.B, flopsPerOp float64) {
	b.ReportMetric(flopsPerOp*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchSgemm(b *testing.B, f func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int), m, n, k int) {
	r := rand.New(rand.NewSource(1))
	a, bm, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
	}
	reportGflops(b, 2*float64(m)*float64(n)*float64(k))
}

// BenchmarkSgemm: 256x1024x288 is the shape of a 3x3 conv with 32 in-channels over a 32x32 image
// batched 8 times over the output-channel axis.
func BenchmarkSgemm(b *testing.B) {
	b.Run("fast/256x1024x288", func(b *testing.B) { benchSgemm(b, Sgemm, 256, 1024, 288) })
	b.Run("fast/32x1024x288", func(b *testing.B) { benchSgemm(b, Sgemm, 32, 1024, 288) })
	b.Run("generic/256x1024x288", func(b *testing.B) {
		forceGeneric = true
		defer func() { forceGeneric = false }()
		benchSgemm(b, Sgemm, 256, 1024, 288)
	})
	b.Run("ref/256x1024x288", func(b *testing.B) { benchSgemm(b, RefSgemm, 256, 1024, 288) })
}

var _ = fmt.Sprint
