package engine

import (
	"math"
	"testing"
)

func TestReLUOverMatchesReLU(t *testing.T) {
	x := New(2, 3, 5, 7)
	for i := range x.Data {
		x.Data[i] = float32(i%11) - 5.5
	}
	x.Data[3] = float32(math.NaN())
	x.Data[4] = float32(math.Copysign(0, -1))
	x.Data[5] = float32(math.Inf(-1))
	// forward values and input gradients, against ReLU
	g := make([]float32, len(x.Data))
	for i := range g {
		g[i] = float32(i%7) - 3
	}
	run := func(f func(*Var) *Var) ([]float32, []float32) {
		xv := Param(x.Clone())
		y := f(xv)
		vals := append([]float32(nil), y.Val.Data...)
		y.Grad = &Tensor{Shape: y.Val.Shape, Data: append([]float32(nil), g...)}
		y.backward(y)
		return vals, xv.Grad.Data
	}
	wantV, wantG := run(ReLU)
	gotV, gotG := run(ReLUOver)
	for i := range wantV {
		if math.Float32bits(gotV[i]) != math.Float32bits(wantV[i]) || math.Float32bits(gotG[i]) != math.Float32bits(wantG[i]) {
			t.Fatalf("element %d: %v (grad %v), want %v (grad %v)", i, gotV[i], gotG[i], wantV[i], wantG[i])
		}
	}
}
