package engine

import "github.com/vgfq/vgfq/engine/kern"

// Reshape returns x with a new shape of the same number of elements; one dimension may be -1
// (inferred). The data is copied.
func Reshape(x *Var, shape ...int) *Var {
	shape = append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			opPanic("Reshape", "bad shape %v for input %v", shape, x.Shape())
		default:
			known *= d
		}
	}
	n := len(x.Val.Data)
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			opPanic("Reshape", "cannot infer -1 in %v for input %v", shape, x.Shape())
		}
		shape[infer] = n / known
	}
	if NumElems(shape) != n {
		opPanic("Reshape", "shape %v does not match input %v", shape, x.Shape())
	}
	y := &Tensor{Shape: shape, Data: append([]float32(nil), x.Val.Data...)}
	return result(y, func(out *Var) {
		addInto(gradOf(x).Data, out.Grad.Data)
	}, x)
}

// Permute reorders the dimensions: output dimension i is input dimension perm[i] (negative
// values count from the end). The data is copied.
func Permute(x *Var, perm ...int) *Var {
	in := x.Shape()
	r := len(in)
	if len(perm) != r {
		opPanic("Permute", "permutation %v for input %v", perm, in)
	}
	p := make([]int, r)
	seen := make([]bool, r)
	for i, d := range perm {
		if d < 0 {
			d += r
		}
		if d < 0 || d >= r || seen[d] {
			opPanic("Permute", "bad permutation %v for input %v", perm, in)
		}
		seen[d] = true
		p[i] = d
	}
	inStr := make([]int, r)
	acc := 1
	for i := r - 1; i >= 0; i-- {
		inStr[i] = acc
		acc *= in[i]
	}
	outShape := make([]int, r)
	str := make([]int, r) // input stride of each output dimension
	for i, d := range p {
		outShape[i] = in[d]
		str[i] = inStr[d]
	}
	// idx[o] = input offset of output element o.
	y := New(outShape...)
	gather := func(dst, src []float32, scatter bool) {
		n := len(dst)
		if scatter {
			n = len(src)
		}
		parallelElems(n, func(lo, hi int) {
			walkStrided(outShape, str, lo, hi, func(o, i int) {
				if scatter {
					dst[i] += src[o]
				} else {
					dst[o] = src[i]
				}
			})
		})
	}
	gather(y.Data, x.Val.Data, false)
	return result(y, func(out *Var) {
		gather(gradOf(x).Data, out.Grad.Data, true)
	}, x)
}

// walkStrided calls fn(o, off) for output elements o in [lo, hi) of shape, where off is the
// strided offset sum(idx[k]*str[k]).
func walkStrided(shape, str []int, lo, hi int, fn func(o, off int)) {
	r := len(shape)
	if r == 0 {
		for o := lo; o < hi; o++ {
			fn(o, 0)
		}
		return
	}
	idx := make([]int, r)
	rem, off := lo, 0
	for k := r - 1; k >= 0; k-- {
		idx[k] = rem % shape[k]
		rem /= shape[k]
		off += idx[k] * str[k]
	}
	for o := lo; o < hi; o++ {
		fn(o, off)
		k := r - 1
		idx[k]++
		off += str[k]
		for k > 0 && idx[k] == shape[k] {
			off -= idx[k] * str[k]
			idx[k] = 0
			k--
			idx[k]++
			off += str[k]
		}
	}
}

// Transpose swaps dimensions d0 and d1 (negative values count from the end).
func Transpose(x *Var, d0, d1 int) *Var {
	r := len(x.Shape())
	if d0 < 0 {
		d0 += r
	}
	if d1 < 0 {
		d1 += r
	}
	if d0 < 0 || d0 >= r || d1 < 0 || d1 >= r {
		opPanic("Transpose", "dimensions %d, %d out of range for input %v", d0, d1, x.Shape())
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[d0], perm[d1] = d1, d0
	return Permute(x, perm...)
}

// Concat is torch.cat(xs, axis): all inputs have the same shape except along axis (negative
// counts from the end).
func Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		opPanic("Concat", "no inputs")
	}
	s0 := xs[0].Shape()
	r := len(s0)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		opPanic("Concat", "axis out of range for input %v", s0)
	}
	outShape := append([]int(nil), s0...)
	outShape[axis] = 0
	for _, x := range xs {
		s := x.Shape()
		if len(s) != r {
			opPanic("Concat", "inputs %v and %v differ in rank", s0, s)
		}
		for i := range s {
			if i != axis && s[i] != s0[i] {
				opPanic("Concat", "inputs %v and %v differ outside axis %d", s0, s, axis)
			}
		}
		outShape[axis] += s[axis]
	}
	outer := NumElems(s0[:axis])
	inner := NumElems(s0[axis+1:])
	y := New(outShape...)
	rowOut := outShape[axis] * inner
	// copyParts moves each input's rows between the input and the output.
	copyParts := func(fn func(k int, xo, yo, cnt int)) {
		kern.ParallelFor(outer, max(1, elemChunk/max(1, rowOut)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				off := 0
				for k, x := range xs {
					cnt := x.Shape()[axis] * inner
					fn(k, o*cnt, o*rowOut+off, cnt)
					off += cnt
				}
			}
		})
	}
	copyParts(func(k, xo, yo, cnt int) { copy(y.Data[yo:yo+cnt], xs[k].Val.Data[xo:xo+cnt]) })
	return result(y, func(out *Var) {
		g := out.Grad.Data
		copyParts(func(k, xo, yo, cnt int) {
			if !needsGrad(xs[k]) {
				return
			}
			d := gradOf(xs[k]).Data[xo : xo+cnt]
			for i, v := range g[yo : yo+cnt] {
				d[i] += v
			}
		})
	}, xs...)
}

// PixelShuffle is nn.PixelShuffle(r) (ONNX DepthToSpace, mode CRD): N x C*r*r x H x W ->
// N x C x H*r x W*r with out[n,c,h*r+i,w*r+j] = in[n,c*r*r+i*r+j,h,w].
func PixelShuffle(x *Var, r int) *Var {
	s := x.Shape()
	if len(s) != 4 || r <= 0 || s[1]%(r*r) != 0 {
		opPanic("PixelShuffle", "input %v not divisible by upscale factor %d squared", s, r)
	}
	n, c, h, w := s[0], s[1]/(r*r), s[2], s[3]
	// As a permutation: view input as n,c,r,r,h,w; output n,c,h,r,w,r.
	return Reshape(permuteView(x, []int{n, c, r, r, h, w}, []int{0, 1, 4, 2, 5, 3}), n, c, h*r, w*r)
}

// PixelUnshuffle is nn.PixelUnshuffle(r): N x C x H*r x W*r -> N x C*r*r x H x W, the inverse
// of PixelShuffle.
func PixelUnshuffle(x *Var, r int) *Var {
	s := x.Shape()
	if len(s) != 4 || r <= 0 || s[2]%r != 0 || s[3]%r != 0 {
		opPanic("PixelUnshuffle", "input %v not divisible by downscale factor %d", s, r)
	}
	n, c, h, w := s[0], s[1], s[2]/r, s[3]/r
	// View input as n,c,h,r,w,r; output n,c,r,r,h,w.
	return Reshape(permuteView(x, []int{n, c, h, r, w, r}, []int{0, 1, 3, 5, 2, 4}), n, c*r*r, h, w)
}

// permuteView reinterprets x as shape view (same element count) and permutes it.
func permuteView(x *Var, view, perm []int) *Var {
	v := &Var{Val: &Tensor{Shape: view, Data: x.Val.Data}, RequiresGrad: x.RequiresGrad}
	y := Permute(v, perm...)
	if !x.RequiresGrad {
		return y
	}
	// Route the gradient of the view back to x without copying.
	return result(y.Val, func(out *Var) {
		v.Grad = &Tensor{Shape: view, Data: gradOf(x).Data}
		y.Grad = out.Grad
		y.backward(y)
		v.Grad = nil
	}, x)
}
