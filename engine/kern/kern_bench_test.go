package kern

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// reportGflops reports GFLOP/s over wall-clock time and, since the benchmark machine may be
// shared, "cpuGFLOP/s": flops per second of CPU time used by the whole process (summed over
// threads, so it is a per-core figure). Call startCPU right after b.ResetTimer.
func reportGflops(b *testing.B, flopsPerOp float64) {
	b.ReportMetric(flopsPerOp*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := processCPUTime() - cpuStart; cpuStart > 0 && cpu > 0 {
		b.ReportMetric(flopsPerOp*float64(b.N)/cpu.Seconds()/1e9, "cpuGFLOP/s")
	}
}

var cpuStart time.Duration

func startCPU() { cpuStart = processCPUTime() }

func benchSgemm(b *testing.B, f func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int), m, n, k int) {
	r := rand.New(rand.NewSource(1))
	a, bm, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	b.ResetTimer()
	startCPU()
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

type convBenchCase struct {
	name string
	p    Conv2dParams
}

// The convolutions of the training net: N=64 CIFAR-sized 3x3 pad-1 convs.
var convBenchCases = []convBenchCase{
	{"32x32x32to32", Conv2dParams{N: 64, C: 32, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"3to32", Conv2dParams{N: 64, C: 3, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"32to3", Conv2dParams{N: 64, C: 32, H: 32, W: 32, O: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}},
	// one large image (batch 1: the work is split inside the image)
	{"1x256x256x32to32", Conv2dParams{N: 1, C: 32, H: 256, W: 256, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}},
}

// convFlops is the multiply-add count of one convolution pass, times two.
func convFlops(p Conv2dParams) float64 {
	oh, ow := p.OutHW()
	return 2 * float64(p.N) * float64(p.O) * float64(oh*ow) * float64(p.C/p.Groups*p.KH*p.KW)
}

func BenchmarkConv2dForward(b *testing.B) {
	for _, c := range convBenchCases {
		for _, impl := range []struct {
			name string
			f    func(Conv2dParams, []float32, []float32, []float32, []float32)
		}{{"fast", Conv2d}, {"packed", conv2dPacked}, {"ref", RefConv2d}} {
			b.Run(impl.name+"/"+c.name, func(b *testing.B) {
				p := c.p
				oh, ow := p.OutHW()
				r := rand.New(rand.NewSource(1))
				x, w, bias := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.O*p.C*p.KH*p.KW), randSlice(r, p.O)
				y := make([]float32, p.N*p.O*oh*ow)
				b.ResetTimer()
				startCPU()
				startCPU()
				for i := 0; i < b.N; i++ {
					impl.f(p, x, w, bias, y)
				}
				reportGflops(b, convFlops(p))
			})
		}
	}
}

// BenchmarkConv2dBackward computes dx, dw and db (twice the forward's flops).
func BenchmarkConv2dBackward(b *testing.B) {
	for _, c := range convBenchCases {
		for _, impl := range []struct {
			name string
			f    func(Conv2dParams, []float32, []float32, []float32, []float32, []float32, []float32)
		}{{"fast", Conv2dBackward}, {"packed", conv2dBackwardPacked}, {"ref", RefConv2dBackward}} {
			b.Run(impl.name+"/"+c.name, func(b *testing.B) {
				p := c.p
				oh, ow := p.OutHW()
				r := rand.New(rand.NewSource(1))
				x, w := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.O*p.C*p.KH*p.KW)
				dy := randSlice(r, p.N*p.O*oh*ow)
				dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.O)
				b.ResetTimer()
				startCPU()
				startCPU()
				for i := 0; i < b.N; i++ {
					impl.f(p, x, w, dy, dx, dw, db)
				}
				reportGflops(b, 2*convFlops(p))
			})
		}
	}
}

// conv2dPacked is Conv2d with the column matrix always packed (no fwdIndirect).
func conv2dPacked(p Conv2dParams, x, w, b, y []float32) {
	defer func(v bool) { indirectMany = v }(indirectMany)
	indirectMany = false
	Conv2d(p, x, w, b, y)
}

// conv2dBackwardPacked is Conv2dBackward with the column matrices always packed.
func conv2dBackwardPacked(p Conv2dParams, x, w, dy, dx, dw, db []float32) {
	defer func(v bool) { indirectMany = v }(indirectMany)
	indirectMany = false
	Conv2dBackward(p, x, w, dy, dx, dw, db)
}
