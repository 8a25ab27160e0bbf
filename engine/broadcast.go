package engine

import (
	"fmt"

	"github.com/vgfq/vgfq/engine/kern"
)

// BroadcastShape returns the shape of the result of broadcasting a and b (NumPy / PyTorch rules:
// shapes are aligned at the trailing dimension; each pair of sizes must be equal or one of them 1).
func BroadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da < 0 || db < 0:
			return nil, fmt.Errorf("broadcast: negative size in %v and %v", a, b)
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("broadcast: shapes %v and %v are incompatible at dimension %d (%d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// bcastPlan iterates over the elements of a broadcast result with the offsets of both operands.
// Dimensions are coalesced where possible so the innermost runs are long.
type bcastPlan struct {
	out    []int // result shape
	n      int   // result elements
	dims   []int // coalesced dimensions (outermost first)
	sa, sb []int // operand strides per coalesced dimension (0 where broadcast)
}

// operandStrides returns the strides of operand shape s viewed as the rank-len(out) shape out,
// with stride 0 on broadcast dimensions.
func operandStrides(s, out []int) []int {
	st := make([]int, len(out))
	acc := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(s) - len(out) + i
		if j >= 0 && s[j] != 1 {
			st[i] = acc
			acc *= s[j]
		}
	}
	return st
}

func newBcastPlan(op string, a, b []int) *bcastPlan {
	out, err := BroadcastShape(a, b)
	if err != nil {
		opPanic(op, "%v", err)
	}
	p := &bcastPlan{out: out, n: NumElems(out)}
	sa, sb := operandStrides(a, out), operandStrides(b, out)
	for i, d := range out {
		if d == 1 {
			continue
		}
		k := len(p.dims) - 1
		if k >= 0 && p.sa[k] == sa[i]*d && p.sb[k] == sb[i]*d {
			p.dims[k] *= d
			p.sa[k], p.sb[k] = sa[i], sb[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, sa[i])
		p.sb = append(p.sb, sb[i])
	}
	if len(p.dims) == 0 {
		p.dims, p.sa, p.sb = []int{1}, []int{0}, []int{0}
	}
	return p
}

// run calls fn for consecutive runs of the result elements [lo, hi): a run of cnt elements starts
// at result offset o and operand offsets ao, bo, and advances by ia, ib in the operands.
func (p *bcastPlan) run(lo, hi int, fn func(o, ao, bo, cnt, ia, ib int)) {
	nd := len(p.dims)
	idx := make([]int, nd)
	rem := lo
	ao, bo := 0, 0
	for k := nd - 1; k >= 0; k-- {
		idx[k] = rem % p.dims[k]
		rem /= p.dims[k]
		ao += idx[k] * p.sa[k]
		bo += idx[k] * p.sb[k]
	}
	inner := p.dims[nd-1]
	ia, ib := p.sa[nd-1], p.sb[nd-1]
	for o := lo; o < hi; {
		cnt := min(inner-idx[nd-1], hi-o)
		fn(o, ao, bo, cnt, ia, ib)
		o += cnt
		ao += cnt * ia
		bo += cnt * ib
		idx[nd-1] += cnt
		for k := nd - 1; k > 0 && idx[k] == p.dims[k]; k-- {
			ao -= idx[k] * p.sa[k]
			bo -= idx[k] * p.sb[k]
			idx[k] = 0
			idx[k-1]++
			ao += p.sa[k-1]
			bo += p.sb[k-1]
		}
	}
}

// binaryKernel computes out[i] = f(a, b) over a broadcast plan in parallel. kind selects the
// arithmetic so the inner loops are tight.
type binKind int

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
)

func (p *bcastPlan) apply(kind binKind, a, b, out []float32) {
	parallelElems(p.n, func(lo, hi int) {
		p.run(lo, hi, func(o, ao, bo, cnt, ia, ib int) {
			y := out[o : o+cnt]
			switch {
			case ia == 1 && ib == 1:
				x, z := a[ao:ao+cnt], b[bo:bo+cnt]
				switch kind {
				case binAdd:
					for i := range y {
						y[i] = x[i] + z[i]
					}
				case binSub:
					for i := range y {
						y[i] = x[i] - z[i]
					}
				case binMul:
					for i := range y {
						y[i] = x[i] * z[i]
					}
				case binDiv:
					for i := range y {
						y[i] = x[i] / z[i]
					}
				}
			case ia == 1 && ib == 0:
				x, s := a[ao:ao+cnt], b[bo]
				switch kind {
				case binAdd:
					for i := range y {
						y[i] = x[i] + s
					}
				case binSub:
					for i := range y {
						y[i] = x[i] - s
					}
				case binMul:
					for i := range y {
						y[i] = x[i] * s
					}
				case binDiv:
					for i := range y {
						y[i] = x[i] / s
					}
				}
			case ia == 0 && ib == 1:
				s, z := a[ao], b[bo:bo+cnt]
				switch kind {
				case binAdd:
					for i := range y {
						y[i] = s + z[i]
					}
				case binSub:
					for i := range y {
						y[i] = s - z[i]
					}
				case binMul:
					for i := range y {
						y[i] = s * z[i]
					}
				case binDiv:
					for i := range y {
						y[i] = s / z[i]
					}
				}
			default:
				for i := range y {
					x, z := a[ao+i*ia], b[bo+i*ib]
					switch kind {
					case binAdd:
						y[i] = x + z
					case binSub:
						y[i] = x - z
					case binMul:
						y[i] = x * z
					case binDiv:
						y[i] = x / z
					}
				}
			}
		})
	})
}

// sumTo reduces g (of shape out) to shape s by summing over the broadcast dimensions (PyTorch's
// sum_to). Sums accumulate in float64 in fixed blocks, so the result is deterministic.
func sumTo(g []float32, out, s []int) []float32 {
	r := len(out)
	n := NumElems(s)
	// Strides of the result in out, split into kept and reduced dimensions.
	outStride := make([]int, r)
	acc := 1
	for i := r - 1; i >= 0; i-- {
		outStride[i] = acc
		acc *= out[i]
	}
	var keptDims, keptStr, redDims, redStr []int
	for i := 0; i < r; i++ {
		d := 1
		if j := len(s) - r + i; j >= 0 {
			d = s[j]
		}
		if d == out[i] {
			if d != 1 {
				keptDims = append(keptDims, d)
				keptStr = append(keptStr, outStride[i])
			}
		} else {
			redDims = append(redDims, out[i])
			redStr = append(redStr, outStride[i])
		}
	}
	keptOff := offsets(keptDims, keptStr)
	redOff := offsets(redDims, redStr)
	R := len(redOff)
	nb := (R + sumBlock - 1) / sumBlock
	partial := make([]float64, n*nb)
	kern.ParallelFor(n*nb, max(1, elemChunk/min(R, sumBlock)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			e, bi := t/nb, t%nb
			base := keptOff[e]
			var sum float64
			for _, o := range redOff[bi*sumBlock : min(R, (bi+1)*sumBlock)] {
				sum += float64(g[base+o])
			}
			partial[t] = sum
		}
	})
	res := make([]float32, n)
	for e := range res {
		var sum float64
		for _, v := range partial[e*nb : (e+1)*nb] {
			sum += v
		}
		res[e] = float32(sum)
	}
	return res
}

// offsets lists sum(idx[k]*str[k]) over all multi-indices of dims in row-major order.
func offsets(dims, str []int) []int {
	offs := []int{0}
	for k := range dims {
		next := make([]int, 0, len(offs)*dims[k])
		for _, o := range offs {
			for i := 0; i < dims[k]; i++ {
				next = append(next, o+i*str[k])
			}
		}
		offs = next
	}
	return offs
}

// accumulateTo adds g (shape out) into the gradient of p, reducing broadcast dimensions.
// neg subtracts instead.
func accumulateTo(p *Var, g []float32, out []int, neg bool) {
	dst := gradOf(p).Data
	src := g
	if !SameShape(p.Val.Shape, out) {
		src = sumTo(g, out, p.Val.Shape)
	}
	if neg {
		parallelElems(len(dst), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] -= src[i]
			}
		})
		return
	}
	addInto(dst, src)
}

func binaryOp(op string, kind binKind, a, b *Var) *Var {
	p := newBcastPlan(op, a.Shape(), b.Shape())
	y := New(p.out...)
	p.apply(kind, a.Val.Data, b.Val.Data, y.Data)
	return result(y, func(out *Var) {
		g := out.Grad.Data
		switch kind {
		case binAdd, binSub:
			if needsGrad(a) {
				accumulateTo(a, g, p.out, false)
			}
			if needsGrad(b) {
				accumulateTo(b, g, p.out, kind == binSub)
			}
		case binMul:
			// PyTorch: grad_a = grad * b, grad_b = grad * a, each summed to the operand's shape.
			if needsGrad(a) {
				t := make([]float32, p.n)
				newBcastPlan(op, p.out, b.Shape()).apply(binMul, g, b.Val.Data, t)
				accumulateTo(a, t, p.out, false)
			}
			if needsGrad(b) {
				t := make([]float32, p.n)
				newBcastPlan(op, p.out, a.Shape()).apply(binMul, g, a.Val.Data, t)
				accumulateTo(b, t, p.out, false)
			}
		case binDiv:
			// PyTorch 1.13: grad_a = grad / b; grad_b = -grad * ((a / b) / b).
			if needsGrad(a) {
				t := make([]float32, p.n)
				newBcastPlan(op, p.out, b.Shape()).apply(binDiv, g, b.Val.Data, t)
				accumulateTo(a, t, p.out, false)
			}
			if needsGrad(b) {
				t := make([]float32, p.n)
				newBcastPlan(op, p.out, b.Shape()).apply(binDiv, out.Val.Data, b.Val.Data, t)
				for i := range t {
					t[i] = -g[i] * t[i]
				}
				accumulateTo(b, t, p.out, false)
			}
		}
	}, a, b)
}

// Div is a / b (element-wise) with PyTorch broadcasting.
func Div(a, b *Var) *Var { return binaryOp("Div", binDiv, a, b) }

// Add is a + b with PyTorch broadcasting.
func Add(a, b *Var) *Var { return binaryOp("Add", binAdd, a, b) }

// Sub is a - b with PyTorch broadcasting.
func Sub(a, b *Var) *Var { return binaryOp("Sub", binSub, a, b) }

// Mul is a * b (element-wise) with PyTorch broadcasting.
func Mul(a, b *Var) *Var { return binaryOp("Mul", binMul, a, b) }

// Sum is the sum of all elements, shape [1].
func Sum(x *Var) *Var {
	s := sumTo(x.Val.Data, x.Shape(), []int{1})
	return result(FromData(s, 1), func(out *Var) {
		g := out.Grad.Data[0]
		d := gradOf(x).Data
		parallelElems(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] += g
			}
		})
	}, x)
}

// Mean is the mean of all elements, shape [1].
func Mean(x *Var) *Var {
	n := len(x.Val.Data)
	if n == 0 {
		opPanic("Mean", "empty tensor %v", x.Shape())
	}
	s := sum64(x.Val.Data, func(v float32) float64 { return float64(v) })
	return result(FromData([]float32{float32(s / float64(n))}, 1), func(out *Var) {
		g := out.Grad.Data[0] / float32(n) // mean_backward: grad.expand(...) / numel
		d := gradOf(x).Data
		parallelElems(len(d), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] += g
			}
		})
	}, x)
}

// sum64 returns sum(f(x[i])) accumulated in float64 in fixed blocks (deterministic).
func sum64(x []float32, f func(float32) float64) float64 {
	nb := (len(x) + sumBlock - 1) / sumBlock
	partial := make([]float64, nb)
	kern.ParallelFor(nb, 2, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			var s float64
			for _, v := range x[b*sumBlock : min(len(x), (b+1)*sumBlock)] {
				s += f(v)
			}
			partial[b] = s
		}
	})
	var s float64
	for _, v := range partial {
		s += v
	}
	return s
}
