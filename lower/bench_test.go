package lower

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vgfq/vgfq/zoo"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInt8Predictor: the lowered tutorial upscaler (16x16 → 32x32) on batches of 64 float
// images through the fast executor (quantize, run, dequantize), as `vgfq bench infer` times it.
// Besides images/s it reports CPU µs per image (process CPU time, so also meaningful on a
// shared machine).
func BenchmarkInt8Predictor(b *testing.B) {
	g, _ := zoo.Build("upscaler", 16, 16, 1)
	m := quantize(b, g, 8)
	r, err := Lower(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	pred, err := Int8Predictor(r, runtime.GOMAXPROCS(0))
	if err != nil {
		b.Fatal(err)
	}
	x := smooth(rand.New(rand.NewPCG(1, 1)), 64, 16, 16)
	if _, err := pred(x); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := pred(x); err != nil {
			b.Fatal(err)
		}
	}
	imgs := float64(64 * b.N)
	b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/imgs, "cpu-µs/image")
}
