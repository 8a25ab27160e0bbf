package engine

import (
	"math"
	"testing"
)

func TestReLUInPlaceMatchesReLU(t *testing.T) {
	x := New(2, 3, 5, 7)
	for i := range x.Data {
		x.Data[i] = float32(i%11) - 5.5
	}
	x.Data[3] = float32(math.NaN())
	x.Data[4] = float32(math.Copysign(0, -1))
	x.Data[5] = float32(math.Inf(-1))
	want := ReLU(Const(x)).Val.Data
	got := ReLUInPlace(Const(x)).Val.Data
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("element %d: %v, want %v", i, got[i], want[i])
		}
	}
}
