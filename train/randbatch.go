package train

import (
	"math/rand/v2"

	"github.com/vgfq/vgfq/data"
)

// RandomBatch is a batch of n random LR (h x w) / HR (2h x 2w) image pairs with values uniform in
// [0, 1), the same for the same seed: the input of the training-speed measurements (vgfq bench
// train, BenchmarkStepUpscaler), where the values do not matter.
func RandomBatch(n, h, w int, seed uint64) *data.Batch {
	rng := rand.New(rand.NewPCG(seed, 2))
	b := &data.Batch{N: n, H: 2 * h, W: 2 * w,
		LR: make([]float32, n*data.Channels*h*w), HR: make([]float32, n*data.Channels*4*h*w)}
	for i := range b.LR {
		b.LR[i] = rng.Float32()
	}
	for i := range b.HR {
		b.HR[i] = rng.Float32()
	}
	return b
}
