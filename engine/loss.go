package engine

// MSELoss is F.mse_loss with reduction='mean': mean((pred-target)^2), shape [1]. Shapes must be
// equal. Backward (mse_loss_backward): (pred-target) * (2/N) * grad.
func MSELoss(pred, target *Var) *Var {
	checkLossShapes("MSELoss", pred, target)
	n := len(pred.Val.Data)
	x, t := pred.Val.Data, target.Val.Data
	// blockSum's blocks and order, the squares summed without a call per element.
	nb := (n + sumBlock - 1) / sumBlock
	partial := make([]float64, nb)
	parallelBlocks(nb, func(b int) {
		lo, hi := b*sumBlock, min(n, (b+1)*sumBlock)
		xs, ts := x[lo:hi], t[lo:hi:hi]
		var s float64
		for i, v := range xs {
			d := v - ts[i]
			s += float64(d * d)
		}
		partial[b] = s
	})
	var s float64
	for _, v := range partial {
		s += v
	}
	y := FromData([]float32{float32(s / float64(n))}, 1)
	return result(y, func(out *Var) {
		g := out.Grad.Data[0]
		norm := float32(2.0 / float64(n))
		var dp, dt []float32
		if needsGrad(pred) {
			dp = gradOf(pred).Data
		}
		if needsGrad(target) {
			dt = gradOf(target).Data
		}
		parallelElems(n, func(lo, hi int) {
			xs, ts := x[lo:hi], t[lo:hi:hi]
			if dp != nil && dt == nil {
				ds := dp[lo:hi:hi]
				for i, v := range xs {
					ds[i] += (v - ts[i]) * norm * g
				}
				return
			}
			for i := lo; i < hi; i++ {
				v := (x[i] - t[i]) * norm * g
				if dp != nil {
					dp[i] += v
				}
				if dt != nil {
					dt[i] -= v
				}
			}
		})
	}, pred, target)
}

// L1Loss is F.l1_loss with reduction='mean': mean(|pred-target|), shape [1]. Backward:
// sign(pred-target) * (grad/N), sign(0) = 0.
func L1Loss(pred, target *Var) *Var {
	checkLossShapes("L1Loss", pred, target)
	n := len(pred.Val.Data)
	x, t := pred.Val.Data, target.Val.Data
	s := blockSum(n, func(i int) float64 {
		d := x[i] - t[i]
		if d < 0 {
			d = -d
		}
		return float64(d)
	})
	y := FromData([]float32{float32(s / float64(n))}, 1)
	return result(y, func(out *Var) {
		g := out.Grad.Data[0] / float32(n)
		var dp, dt []float32
		if needsGrad(pred) {
			dp = gradOf(pred).Data
		}
		if needsGrad(target) {
			dt = gradOf(target).Data
		}
		parallelElems(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d := x[i] - t[i]
				var v float32
				switch {
				case d > 0:
					v = g
				case d < 0:
					v = -g
				case d != d:
					v = d
				}
				if dp != nil {
					dp[i] += v
				}
				if dt != nil {
					dt[i] -= v
				}
			}
		})
	}, pred, target)
}

func checkLossShapes(op string, pred, target *Var) {
	if !SameShape(pred.Shape(), target.Shape()) {
		opPanic(op, "pred %v and target %v differ in shape", pred.Shape(), target.Shape())
	}
	if len(pred.Val.Data) == 0 {
		opPanic(op, "empty input %v", pred.Shape())
	}
}

// blockSum returns sum f(i) for i in [0, n), accumulated in float64 over fixed blocks
// (deterministic regardless of thread count).
func blockSum(n int, f func(i int) float64) float64 {
	nb := (n + sumBlock - 1) / sumBlock
	partial := make([]float64, nb)
	parallelBlocks(nb, func(b int) {
		var s float64
		for i := b * sumBlock; i < min(n, (b+1)*sumBlock); i++ {
			s += f(i)
		}
		partial[b] = s
	})
	var s float64
	for _, v := range partial {
		s += v
	}
	return s
}
