package train

import (
	"testing"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// BenchmarkStepUpscaler is one training step (forward, MSE, backward, AdamW) of the tutorial
// upscaler at batch 64, 16x16 → 32x32, with allocation counts: go test -run X -bench StepUpscaler
// -benchmem ./train.
func BenchmarkStepUpscaler(b *testing.B) {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		b.Fatal(err)
	}
	const n = 64
	bt := RandomBatch(n, 16, 16, 1)
	ex := graph.NewExec(g, true)
	ex.Train = true
	opt := NewOptimizer(DefaultConfig(), ex.Params())
	if _, err := Step(ex, opt, bt); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Step(ex, opt, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "img/s")
}
