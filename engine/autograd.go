package engine

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
func (v *Var) Backward(seed ...*Tensor) {
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
	// interior gradients were allocated by gradOf and are held by nothing else, so their
	// buffers go back to the pool for the next step.
	var free [][]float32
	seenBuf := map[*float32]bool{}
	for _, n := range order {
		if n.backward != nil {
			if n.Grad != nil && len(n.Grad.Data) > 0 && !seenBuf[&n.Grad.Data[0]] {
				seenBuf[&n.Grad.Data[0]] = true
				free = append(free, n.Grad.Data)
			}
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
