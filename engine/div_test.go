package engine

import (
	"math/rand/v2"
	"testing"
)

func TestDivAndStraightThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := randTensor(rng, 2, 3, 4, 4)
	b := randTensor(rng, 1, 3, 1, 1)
	for i := range b.Data {
		b.Data[i] = 1.5 + b.Data[i] // away from 0
	}
	gradCheck(t, "Div broadcast", func(xs []*Var) *Var { return Div(xs[0], xs[1]) }, a, b)
	y := Div(Const(a), Const(b)).Val
	for i, v := range y.Data {
		c := (i / 16) % 3
		if v != a.Data[i]/b.Data[c] {
			t.Fatalf("Div[%d] = %v, want %v", i, v, a.Data[i]/b.Data[c])
		}
	}
	x := Param(FromData([]float32{1, 2, 3, 4}, 4))
	mask := []bool{true, false, true, false}
	s := StraightThrough(x, FromData([]float32{9, 9, 9, 9}, 4), mask)
	s.Backward(FromData([]float32{1, 2, 3, 4}, 4))
	want := []float32{1, 0, 3, 0}
	for i, g := range x.Grad.Data {
		if g != want[i] {
			t.Fatalf("StraightThrough grad %v, want %v", x.Grad.Data, want)
		}
	}
}
