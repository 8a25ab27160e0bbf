package engine

import (
	"math"
	"math/rand/v2"
)

// UniformInit fills t with values drawn uniformly from [-bound, bound) (nn.init.uniform_).
func UniformInit(t *Tensor, bound float64, rng *rand.Rand) {
	for i := range t.Data {
		t.Data[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// KaimingUniform is nn.init.kaiming_uniform_(t, a, mode='fan_in', nonlinearity='leaky_relu'):
// U(-bound, bound) with bound = sqrt(3) * sqrt(2/(1+a^2)) / sqrt(fanIn).
func KaimingUniform(t *Tensor, fanIn int, a float64, rng *rand.Rand) {
	if fanIn <= 0 {
		panic("engine.KaimingUniform: fan_in must be positive")
	}
	gain := math.Sqrt(2 / (1 + a*a))
	std := gain / math.Sqrt(float64(fanIn))
	UniformInit(t, math.Sqrt(3)*std, rng)
}

// ConvFanIn returns torch.nn.init._calculate_fan_in_and_fan_out's fan_in of a conv weight:
// size(1) * kh * kw (for ConvTranspose2d's C x O/groups x kh x kw layout too).
func ConvFanIn(w *Tensor) int {
	if len(w.Shape) < 2 {
		panic("engine.ConvFanIn: weight needs at least 2 dimensions")
	}
	return NumElems(w.Shape[1:])
}

// InitConvParams is nn.Conv2d / nn.ConvTranspose2d reset_parameters: the weight gets
// kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias (may be
// nil) U(-1/sqrt(fan_in), 1/sqrt(fan_in)). fan_in is weight.size(1)*kh*kw for both layouts, so
// transposed only documents the caller's intent. Deterministic for a given rng state (the
// random stream is not PyTorch's).
func InitConvParams(w, b *Tensor, transposed bool, rng *rand.Rand) {
	_ = transposed
	fanIn := ConvFanIn(w)
	KaimingUniform(w, fanIn, math.Sqrt(5), rng)
	if b != nil && fanIn > 0 {
		UniformInit(b, 1/math.Sqrt(float64(fanIn)), rng)
	}
}
