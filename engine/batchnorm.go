package engine

import (
	"math"

	"github.com/vgfq/vgfq/engine/kern"
)

// BatchNorm2d is F.batch_norm on NCHW input following ATen's CPU kernels. gamma and beta ([C])
// may be nil (affine=False). In training (or when runMean/runVar are nil, as PyTorch does with
// track_running_stats=False) the batch statistics normalise the input (biased variance) and,
// if given, the running statistics are updated in place:
// running = (1-momentum)*running + momentum*batch, with the unbiased batch variance for
// running_var. Otherwise the running statistics are used. eps is taken as the Python float it prints as (see
// pyFloat); momentum is used as float32, as ATen does.
func BatchNorm2d(x, gamma, beta *Var, runMean, runVar *Tensor, train bool, momentum, eps float32) *Var {
	s := x.Shape()
	if len(s) != 4 {
		opPanic("BatchNorm2d", "want NCHW input, got %v", s)
	}
	n, c, hw := s[0], s[1], s[2]*s[3]
	for _, p := range []struct {
		name string
		t    *Tensor
	}{{"gamma", varVal(gamma)}, {"beta", varVal(beta)}, {"running_mean", runMean}, {"running_var", runVar}} {
		if p.t != nil && (len(p.t.Data) != c) {
			opPanic("BatchNorm2d", "%s %v does not match %d channels of input %v", p.name, p.t.Shape, c, s)
		}
	}
	if (runMean == nil) != (runVar == nil) {
		opPanic("BatchNorm2d", "running_mean and running_var must both be given or both be nil")
	}
	useBatch := train || runMean == nil
	cnt := n * hw
	if useBatch && cnt <= 1 {
		opPanic("BatchNorm2d", "expected more than 1 value per channel when training, got input %v", s)
	}
	epsD := pyFloat(eps)
	xd := x.Val.Data
	mean := make([]float32, c)
	invstd := make([]float32, c)
	y := New(s...)
	kern.ParallelFor(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var m, is float32
			if useBatch {
				// batch_norm_cpu_collect_stats: sums in double, mean in float,
				// var_sum stored as float.
				var sum float64
				for b := 0; b < n; b++ {
					for _, v := range xd[(b*c+ch)*hw : (b*c+ch+1)*hw] {
						sum += float64(v)
					}
				}
				m = float32(sum / float64(cnt))
				var vs float64
				for b := 0; b < n; b++ {
					for _, v := range xd[(b*c+ch)*hw : (b*c+ch+1)*hw] {
						d := v - m
						vs += float64(d * d)
					}
				}
				varSum := float32(vs)
				bv := float64(varSum / float32(cnt))
				if bv != 0 || epsD != 0 {
					is = float32(1 / math.Sqrt(bv+epsD))
				}
				if train && runMean != nil {
					// ATen: momentum as float; running_mean in float ops; running_var
					// mixes the (double) unbiased variance with a float product.
					rm, rv := runMean.Data[ch], runVar.Data[ch]
					runMean.Data[ch] = momentum*m + (1-momentum)*rm
					unbiased := varSum / float32(cnt-1)
					runVar.Data[ch] = float32(float64(momentum)*float64(unbiased) + float64((1-momentum)*rv))
				}
			} else {
				m = runMean.Data[ch]
				is = 1 / float32(math.Sqrt(float64(runVar.Data[ch]+float32(epsD))))
			}
			mean[ch], invstd[ch] = m, is
			w, bb := float32(1), float32(0)
			if gamma != nil {
				w = gamma.Val.Data[ch]
			}
			if beta != nil {
				bb = beta.Val.Data[ch]
			}
			// batch_norm_cpu_collect_linear_and_constant_terms, with the FMA contraction the
			// ATen build applies: y = x*alpha + (bias - mean*alpha).
			alpha := is * w
			shift := fma32(-m, alpha, bb)
			for b := 0; b < n; b++ {
				o := (b*c + ch) * hw
				for i, v := range xd[o : o+hw] {
					y.Data[o+i] = fma32(v, alpha, shift)
				}
			}
		}
	})
	return result(y, func(out *Var) {
		g := out.Grad.Data
		var dx, dg, db []float32
		if needsGrad(x) {
			dx = gradOf(x).Data
		}
		if needsGrad(gamma) {
			dg = gradOf(gamma).Data
		}
		if needsGrad(beta) {
			db = gradOf(beta).Data
		}
		kern.ParallelFor(c, 1, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				m, is := mean[ch], invstd[ch]
				w := float32(1)
				if gamma != nil {
					w = gamma.Val.Data[ch]
				}
				// batch_norm_cpu_backward: sum(dy) and dot((x-mean), dy) in double.
				var sum, dotp float64
				for b := 0; b < n; b++ {
					o := (b*c + ch) * hw
					for i, dy := range g[o : o+hw] {
						sum += float64(dy)
						dotp += float64((xd[o+i] - m) * dy)
					}
				}
				if dx != nil {
					if useBatch {
						k := float32(dotp) * is * is / float32(cnt)
						gm := float32(sum) / float32(cnt)
						for b := 0; b < n; b++ {
							o := (b*c + ch) * hw
							for i, dy := range g[o : o+hw] {
								d := (xd[o+i] - m) * k
								dx[o+i] += (dy - gm - d) * is * w
							}
						}
					} else {
						for b := 0; b < n; b++ {
							o := (b*c + ch) * hw
							for i, dy := range g[o : o+hw] {
								dx[o+i] += dy * is * w
							}
						}
					}
				}
				if dg != nil {
					dg[ch] += float32(dotp) * is
				}
				if db != nil {
					db[ch] += float32(sum)
				}
			}
		})
	}, x, gamma, beta)
}

func varVal(v *Var) *Tensor {
	if v == nil {
		return nil
	}
	return v.Val
}
