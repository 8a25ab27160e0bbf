package engine

import (
	"cmp"
	"slices"
	"unsafe"
)

// Var is a tensor in an autograd graph. Grad is allocated by Backward for every Var that
// requires a gradient. Operators build new Vars whose backward closure adds the gradient of
// the output into the gradients of their operands.
type Var struct {
	Val          *Tensor
	Grad         *Tensor
	RequiresGrad bool

	parents  []*Var
	backward func(out *Var) // adds out.Grad's contribution into parents' Grad
}

// Param returns a leaf Var that requires a gradient (a trainable parameter).
func Param(t *Tensor) *Var { return &Var{Val: t, RequiresGrad: true} }

// Const returns a leaf Var that does not require a gradient (data, targets).
func Const(t *Tensor) *Var { return &Var{Val: t} }

// Shape returns the shape of the Var's value.
func (v *Var) Shape() []int { return v.Val.Shape }

// result builds the output Var of an operator. backward is kept only when some parent needs a
// gradient; it is called with the output Var, whose Grad is then set.
func result(val *Tensor, backward func(out *Var), parents ...*Var) *Var {
	out := &Var{Val: val}
	for _, p := range parents {
		if p != nil && p.RequiresGrad {
			out.RequiresGrad = true
			break
		}
	}
	if out.RequiresGrad {
		out.parents = parents
		out.backward = backward
	}
	return out
}

// needsGrad reports whether p takes part in the backward pass; backward closures use it to skip
// work, and gradOf returns p's gradient buffer (allocated on first use).
func needsGrad(p *Var) bool { return p != nil && p.RequiresGrad }

func gradOf(p *Var) *Tensor {
	if p.Grad == nil {
		p.Grad = &Tensor{Shape: append([]int(nil), p.Val.Shape...), Data: getBuf(NumElems(p.Val.Shape))}
	}
	return p.Grad
}

// Backward computes gradients of v with respect to every Var it depends on that requires a
// gradient. v must be a scalar (one element) unless seed is given: then seed is dL/dv.
// Gradients accumulate into existing Grad tensors (call ZeroGrad between steps).
func (v *Var) Backward(seed ...*Tensor) { v.backwardPass(false, seed) }

// BackwardFree is Backward for a training step that owns its whole graph: after the gradients
// of the leaves are computed, the value buffers of every interior Var (every Var an operator
// produced, except v itself) go back to the engine's buffer pool, to be reused by the next
// step's operators. Afterwards only v and the leaves (parameters, constants) may be used; a
// caller or a hook that kept another Var of the graph (a prediction, an activation) must use
// Backward instead. Buffers that share memory with a leaf or with each other are never
// recycled.
func (v *Var) BackwardFree() { v.backwardPass(true, nil) }

func (v *Var) backwardPass(freeVals bool, seed []*Tensor) {
	if !v.RequiresGrad {
		return
	}
	g := gradOf(v)
	if len(seed) > 0 {
		copy(g.Data, seed[0].Data)
	} else {
		if len(v.Val.Data) != 1 {
			panic("engine: Backward without seed on a non-scalar Var")
		}
		g.Data[0] = 1
	}
	// Topological order by iterative DFS.
	var order []*Var
	seen := map[*Var]bool{}
	type frame struct {
		v *Var
		i int
	}
	stack := []frame{{v, 0}}
	seen[v] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.v.parents) {
			p := f.v.parents[f.i]
			f.i++
			if p != nil && p.RequiresGrad && !seen[p] {
				seen[p] = true
				stack = append(stack, frame{p, 0})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.backward != nil && n.Grad != nil {
			n.backward(n)
		}
	}
	// Free interior gradients and graph links so memory is released; leaves keep Grad. The
	// interior buffers that nothing else can hold go back to the pool for the next step.
	free := recyclable(v, order, freeVals)
	for _, n := range order {
		if n.backward != nil {
			n.Grad = nil
			n.parents = nil
			n.backward = nil
		}
	}
	putBufs(free)
}

// ZeroGrad clears the gradients of params.
func ZeroGrad(params []*Var) {
	for _, p := range params {
		if p.Grad != nil {
			p.Grad.Zero()
		}
	}
}

// recyclable returns the buffers of a finished backward pass over order that can go back to
// the pool: the gradients of interior Vars (those with a backward function; they are dropped
// anyway) and, with vals, their values except root's. None that overlaps memory that must
// survive is returned: the value or gradient of a leaf (any parent without a backward
// function: parameters, constants, inputs) or root's value; and none that overlaps another
// candidate unless it is the same buffer (in-place operators and views share their operand's
// buffer), which is returned once.
func recyclable(root *Var, order []*Var, vals bool) [][]float32 {
	type span struct{ lo, hi uintptr }
	spanOf := func(b []float32) span {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return span{lo, lo + uintptr(len(b))*4}
	}
	var keep []span // memory that must survive
	addKeep := func(t *Tensor) {
		if t != nil && len(t.Data) > 0 {
			keep = append(keep, spanOf(t.Data))
		}
	}
	cand := map[span][]float32{}
	addCand := func(t *Tensor) {
		if t != nil && len(t.Data) > 0 {
			cand[spanOf(t.Data)] = t.Data
		}
	}
	addKeep(root.Val)
	for _, n := range order {
		if n.backward == nil {
			addKeep(n.Val)
			addKeep(n.Grad)
			continue
		}
		for _, p := range n.parents {
			if p != nil && p.backward == nil {
				addKeep(p.Val)
				addKeep(p.Grad)
			}
		}
		addCand(n.Grad)
		if vals && n != root {
			addCand(n.Val)
		}
	}
	spans := make([]span, 0, len(cand))
	for s := range cand {
		spans = append(spans, s)
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	slices.SortFunc(keep, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	overlapsKeep := func(s span) bool {
		// keep is sorted by lo: only spans starting before s.hi can overlap s.
		i, _ := slices.BinarySearchFunc(keep, s.hi, func(k span, hi uintptr) int { return cmp.Compare(k.lo, hi) })
		for _, k := range keep[:i] {
			if k.hi > s.lo {
				return true
			}
		}
		return false
	}
	var out [][]float32
	var maxHi uintptr // the largest end of the spans before i (sorted by start)
	for i, s := range spans {
		shared := maxHi > s.lo || (i+1 < len(spans) && spans[i+1].lo < s.hi)
		maxHi = max(maxHi, s.hi)
		if !shared && !overlapsKeep(s) { // else it shares memory with another candidate
			out = append(out, cand[s])
		}
	}
	return out
}
