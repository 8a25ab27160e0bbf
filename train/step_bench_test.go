package train

import (
	"math/rand/v2"
	"testing"

	"github.com/vgfq/vgfq/data"
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
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 64
	bt := &data.Batch{N: n, H: 32, W: 32, LR: make([]float32, n*3*16*16), HR: make([]float32, n*3*32*32)}
	for i := range bt.LR {
		bt.LR[i] = rng.Float32()
	}
	for i := range bt.HR {
		bt.HR[i] = rng.Float32()
	}
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
