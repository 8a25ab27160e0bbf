package kern

// The fast kernels (conv.go, depthwise.go, gemm*.go):
//
//   - Forward: per image and group, Y_g = W_g * col(X_g) by the packed GEMM, with im2col fused
//     into the packing of B (read from a zero-padded copy of the image, so no bounds checks) and
//     the bias added by the micro-kernel. 1x1 stride-1 unpadded convs use X itself as B; convs
//     with at most 6 outputs per group skip packing B altogether (indirect micro-kernels).
//   - Data gradient: for stride 1 with enough input channels, a forward convolution of dY with
//     the flipped, channel-transposed kernel (accumulating into dX); otherwise
//     col = W_g^T * dY_g followed by col2im (accumulate).
//   - Weight gradient: dW_g += dY_g * col(X_g)^T, with the transposed im2col fused into packing.
//     The batch is cut into a fixed number of contiguous parts, each summed in image order into
//     its own buffer, and the parts are then added in order.
//   - Depthwise convs (groups == C == O) use direct loops.
//   - Work is spread over images (ParallelForDynamic), or inside the GEMM when the batch is
//     smaller than the thread count. No floating-point sum ever depends on how work is split,
//     so results are bit-identical run to run and for any GOMAXPROCS.

// Conv2d computes the convolution into y (overwritten). b may be nil.
func Conv2d(p Conv2dParams, x, w, b, y []float32) {
	oh, ow := p.OutHW()
	g := newGeom(p, oh, ow)
	convFwd(&g, p.N, x, w, b, y, false, false)
}

// Conv2dReLU is Conv2d followed by ReLU (ReLUInPlace), applied to each image's output right
// after it is computed, while it is in cache.
func Conv2dReLU(p Conv2dParams, x, w, b, y []float32) {
	oh, ow := p.OutHW()
	g := newGeom(p, oh, ow)
	convFwd(&g, p.N, x, w, b, y, false, true)
}

// Conv2dBackward adds the gradients of Conv2d into dx, dw and db (any may be nil).
func Conv2dBackward(p Conv2dParams, x, w, dy, dx, dw, db []float32) {
	oh, ow := p.OutHW()
	g := newGeom(p, oh, ow)
	if dx != nil {
		convBwdData(&g, p.N, w, dy, dx)
	}
	if dw != nil {
		convBwdWeight(&g, p.N, x, dy, dw)
	}
	if db != nil {
		biasGrad(p.N, p.O, oh*ow, dy, db)
	}
}

// transGeom is the geometry of the convolution whose data gradient is the transposed
// convolution p: from the transpose's output (O channels, OutHW) to its input grid (C, H x W).
func transGeom(p ConvT2dParams) convGeom {
	cp := p.AsConv()
	return newGeom(cp, p.H, p.W)
}

// ConvTranspose2d computes the transposed convolution into y (overwritten). b may be nil.
func ConvTranspose2d(p ConvT2dParams, x, w, b, y []float32) {
	g := transGeom(p)
	plane := g.H * g.W
	ParallelFor(p.N*p.O, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := y[i*plane : (i+1)*plane]
			var v float32
			if b != nil {
				v = b[i%p.O]
			}
			for j := range row {
				row[j] = v
			}
		}
	})
	convBwdData(&g, p.N, w, x, y)
}

// ConvTranspose2dBackward adds the gradients of ConvTranspose2d into dx, dw and db (any may be nil).
func ConvTranspose2dBackward(p ConvT2dParams, x, w, dy, dx, dw, db []float32) {
	g := transGeom(p)
	if dx != nil {
		convFwd(&g, p.N, dy, w, nil, dx, true, false)
	}
	if dw != nil {
		// y = convT(x) is the data gradient of conv(y') with weight w, so dL/dw pairs dy (as the
		// conv's input) with x (as the conv's output gradient).
		convBwdWeight(&g, p.N, dy, x, dw)
	}
	if db != nil {
		biasGrad(p.N, p.O, g.H*g.W, dy, db)
	}
}

// Conv2dReLUBackward adds the gradients of y = ReLU(Conv2d(x, w, b)) into dx, dw and db (any may
// be nil) for the output gradient g: Conv2dBackward of the masked gradient dy = ReLUBackwardSet(y,
// g), with the same bits. When the fast paths apply it runs image by image — mask, bias sums,
// data gradient and weight gradient of one image while its dy is in cache — instead of writing
// the whole batch's dy to memory and reading it back three times.
func Conv2dReLUBackward(p Conv2dParams, x, w, y, g, dx, dw, db []float32) {
	oh, ow := p.OutHW()
	geo := newGeom(p, oh, ow)
	n := p.N
	f, wf, flipOK := convGeom{}, []float32(nil), false
	if dx != nil && !geo.depthwise() && geo.cg >= flipMinChannels {
		f, wf, flipOK = flippedForData(&geo, w)
	}
	fused := n >= Threads() && weightParts(n) >= Threads() && !geo.depthwise() &&
		(dx == nil || (flipOK && f.indirectManyOK()))
	if !fused {
		if wf != nil {
			putScratch(wf)
		}
		dy := getScratch(len(y))
		ParallelFor(len(y), 1<<14, func(lo, hi int) { ReLUBackwardSet(y[lo:hi], g[lo:hi], dy[lo:hi]) })
		Conv2dBackward(p, x, w, dy, dx, dw, db)
		putScratch(dy)
		return
	}
	in, out, plane := geo.inSize(), geo.outSize(), oh*ow
	var packedWf []float32
	if dx != nil {
		packedWf = f.packWeights(wf)
		defer putScratch(packedWf)
		defer putScratch(wf)
	}
	wsz := geo.O * geo.ck
	parts := weightParts(n)
	var partial []float32
	var wb *wgradBlk16
	if dw != nil {
		partial = getScratch(parts * wsz)
		clear(partial)
		defer putScratch(partial)
		wb = geo.wgradPlan(false)
	}
	var sums []float32 // per image and channel: biasGrad's per-image term
	if db != nil {
		sums = getScratch(n * p.O)
		defer putScratch(sums)
	}
	ParallelForDynamic(parts, 1, func(lo, hi int) {
		dyn := getScratch(out)
		defer putScratch(dyn)
		for pi := lo; pi < hi; pi++ {
			for i := pi * n / parts; i < (pi+1)*n/parts; i++ {
				ReLUBackwardSet(y[i*out:(i+1)*out], g[i*out:(i+1)*out], dyn)
				if db != nil {
					imageChannelSums(p.O, plane, dyn, sums[i*p.O:(i+1)*p.O])
				}
				if dx != nil {
					f.fwdImage(dyn, wf, nil, packedWf, dx[i*in:(i+1)*in], 1, false, false)
				}
				if dw != nil {
					geo.wgradImage(x[i*in:(i+1)*in], dyn, partial[pi*wsz:(pi+1)*wsz], false, wb)
				}
			}
		}
	})
	if dw != nil {
		geo.reduceWgrad(partial, parts, wb != nil, dw)
	}
	if db != nil {
		for o := range p.O {
			var s float32
			for i := range n {
				s += sums[i*p.O+o]
			}
			db[o] += s
		}
	}
}
