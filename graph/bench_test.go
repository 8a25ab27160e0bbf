package graph_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// BenchmarkInferUpscaler: FP32 inference of the tutorial upscaler on a batch of 64 16x16 images.
func BenchmarkInferUpscaler(b *testing.B) {
	g, _ := zoo.Build("upscaler", 16, 16, 1)
	ex := graph.NewExec(g, false)
	x := engine.New(64, 3, 16, 16)
	for i := range x.Data {
		x.Data[i] = float32(i%97) / 97
	}
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := ex.Forward(engine.Const(x)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(64*b.N), "cpu-µs/image")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
