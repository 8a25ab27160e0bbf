package engine

import "testing"

// A recycled gradient buffer comes back zeroed, and steps that reuse buffers compute the same
// gradients as the first step (which allocated fresh ones).
func TestBufPoolRecycledGradients(t *testing.T) {
	b := getBuf(4096)
	for i := range b {
		b[i] = float32(i + 1)
	}
	putBufs([][]float32{b})
	if c := getBuf(4096); &c[0] != &b[0] {
		t.Fatal("buffer not recycled")
	} else {
		for i, v := range c {
			if v != 0 {
				t.Fatalf("recycled buffer not zeroed at %d: %v", i, v)
			}
		}
	}
	w := Param(New(8, 4, 3, 3))
	for i := range w.Val.Data {
		w.Val.Data[i] = float32(i%7) * 0.1
	}
	x := Const(New(2, 4, 16, 16))
	for i := range x.Val.Data {
		x.Val.Data[i] = float32(i%11) * 0.05
	}
	var first []float32
	for step := range 3 {
		ZeroGrad([]*Var{w})
		y := ReLU(Conv2d(x, w, nil, ConvOpts{Padding: [2]int{1, 1}}))
		loss := MSELoss(y, Const(New(y.Shape()...)))
		loss.Backward()
		if step == 0 {
			first = append([]float32(nil), w.Grad.Data...)
			continue
		}
		for i := range first {
			if w.Grad.Data[i] != first[i] {
				t.Fatalf("step %d: grad[%d] = %v, first step %v", step, i, w.Grad.Data[i], first[i])
			}
		}
	}
}
