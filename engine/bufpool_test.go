package engine

import (
	"math"
	"testing"
)

// A recycled gradient buffer comes back zeroed, and steps that reuse buffers compute the same
// gradients as the first step (which allocated fresh ones).
func TestBufPoolRecycledGradients(t *testing.T) {
	// sync.Pool may drop a buffer (the race detector drops a quarter of them on purpose, a
	// collection empties the pool): try a few times until one comes back.
	recycled := false
	for try := 0; try < 20 && !recycled; try++ {
		b := getBuf(4096)
		for i := range b {
			b[i] = float32(i + 1)
		}
		putBufs([][]float32{b})
		c := getBuf(4096)
		if &c[0] != &b[0] {
			continue
		}
		recycled = true
		for i, v := range c {
			if v != 0 {
				t.Fatalf("recycled buffer not zeroed at %d: %v", i, v)
			}
		}
	}
	if !recycled {
		t.Fatal("no buffer recycled in 20 tries")
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

// BackwardFree recycles interior values but never a buffer shared with a leaf or the root, and counts a buffer shared by an in-place operator
// once: several steps with BackwardFree give bit-identical parameters to steps with Backward,
// with the pool handing the recycled buffers to the next step's operators.
func TestBackwardFreeMatchesBackward(t *testing.T) {
	run := func(free bool) []float32 {
		// sizes above the pool's 1024-element floor, so that every buffer can be recycled
		w := Param(New(32, 4, 3, 3))
		for i := range w.Val.Data {
			w.Val.Data[i] = float32(i%7)*0.1 - 0.3
		}
		scale := Param(New(32 * 4 * 3 * 3))
		for i := range scale.Val.Data {
			scale.Val.Data[i] = 1
		}
		x := Const(New(2, 4, 16, 16))
		for i := range x.Val.Data {
			x.Val.Data[i] = float32(i%11)*0.05 - 0.2
		}
		target := Const(New(2, 32, 16, 16))
		for i := range target.Val.Data {
			target.Val.Data[i] = float32(i%5) * 0.1
		}
		opt := NewAdamW([]*Var{w, scale}, 1e-2)
		for range 4 {
			// ReLUOver of a positive parameter is an interior Var sharing the parameter's
			// buffer: it must not be recycled
			wv := Reshape(Mul(Reshape(w, -1), ReLUOver(scale)), 32, 4, 3, 3)
			y := ReLUOver(Conv2d(x, wv, nil, ConvOpts{Padding: [2]int{1, 1}}))
			loss := MSELoss(Add(y, y), target)
			opt.ZeroGrad()
			if free {
				loss.BackwardFree()
			} else {
				loss.Backward()
			}
			opt.Step()
		}
		return append(append([]float32(nil), w.Val.Data...), scale.Val.Data...)
	}
	want := run(false)
	got := run(true)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("parameter %d after 4 steps: %v with BackwardFree, %v with Backward", i, got[i], want[i])
		}
	}
}

// recyclable returns each candidate buffer once, and none that overlaps a leaf's or root's
// memory or another candidate of another extent (a view inside a larger buffer, even when a
// smaller candidate lies between them).
func TestRecyclable(t *testing.T) {
	big := make([]float32, 4000)
	leafData := make([]float32, 2000)
	nop := func(*Var) {}
	leaf := &Var{Val: &Tensor{Data: leafData}, RequiresGrad: true}
	interior := func(val, grad []float32) *Var {
		n := &Var{Val: &Tensor{Data: val}, RequiresGrad: true, backward: nop, parents: []*Var{leaf}}
		if grad != nil {
			n.Grad = &Tensor{Data: grad}
		}
		return n
	}
	own := make([]float32, 1500)    // recyclable
	shared := make([]float32, 1200) // value of two Vars (an in-place op): returned once
	root := interior(make([]float32, 1), make([]float32, 1100))
	order := []*Var{
		leaf,
		interior(big, nil),                   // contains the next two: none of the three
		interior(big[100:1200], nil),         // view at the start of big
		interior(big[2000:3500], nil),        // view further in, past the first view's end
		interior(leafData[500:1800], nil),    // view of the leaf: kept
		interior(own, make([]float32, 1300)), // value and gradient recyclable
		interior(shared, nil), interior(shared, nil),
		root,
	}
	got := map[*float32]int{}
	for _, b := range recyclable(root, order, true) {
		got[&b[0]] = len(b)
	}
	want := map[*float32]int{&own[0]: 1500, &order[5].Grad.Data[0]: 1300, &shared[0]: 1200, &root.Grad.Data[0]: 1100}
	if len(got) != len(want) {
		t.Fatalf("recycled %d buffers %v, want %d", len(got), got, len(want))
	}
	for p, n := range want {
		if got[p] != n {
			t.Fatalf("buffer of %d elements not recycled (got %v)", n, got)
		}
	}
	// Without vals only the interior gradients go back.
	if g := recyclable(root, order, false); len(g) != 2 {
		t.Fatalf("Backward recycled %d buffers, want the 2 interior gradients", len(g))
	}
}
