package engine

import (
	"math"
	"math/rand"
	"testing"
)

// TestStraightThroughMask: the gradient adds g where the mask is set and leaves the gradient
// already there untouched elsewhere (a -0 stays -0), over lengths spanning parallel chunks.
func TestStraightThroughMask(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	for _, n := range []int{1, 7, 100, 3*elemChunk + 5} {
		x := Param(New(n))
		y := New(n)
		mask := make([]bool, n)
		g := New(n)
		old := make([]float32, n)
		for i := range mask {
			mask[i] = r.Intn(2) == 0
			g.Data[i] = float32(r.NormFloat64())
			old[i] = []float32{float32(math.Copysign(0, -1)), 0, 1.5, -2}[r.Intn(4)]
		}
		x.Grad = FromData(append([]float32(nil), old...), n)
		StraightThrough(x, y, mask).Backward(g)
		for i, v := range x.Grad.Data {
			want := old[i]
			if mask[i] {
				want = old[i] + g.Data[i]
			}
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("n %d: grad[%d] = %v, want %v", n, i, v, want)
			}
		}
	}
}
