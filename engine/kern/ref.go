package kern

// RefConv2d is the reference convolution: y[n,o,i,j] = b[o] + sum x[n,c,i*s-p+kh*d, ...] * w[o,c',kh,kw].
// y is overwritten; b may be nil.
func RefConv2d(p Conv2dParams, x, w, b, y []float32) {
	oh, ow := p.OutHW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var s float32
					if b != nil {
						s = b[o]
					}
					for c := 0; c < cg; c++ {
						ci := g*cg + c
						for kh := 0; kh < p.KH; kh++ {
							ih := i*p.StrideH - p.PadH + kh*p.DilH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := j*p.StrideW - p.PadW + kw*p.DilW
								if iw < 0 || iw >= p.W {
									continue
								}
								s += x[((n*p.C+ci)*p.H+ih)*p.W+iw] * w[((o*cg+c)*p.KH+kh)*p.KW+kw]
							}
						}
					}
					y[((n*p.O+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
}

// RefConv2dBackward adds the gradients of RefConv2d into dx, dw and db (any may be nil).
func RefConv2dBackward(p Conv2dParams, x, w, dy, dx, dw, db []float32) {
	oh, ow := p.OutHW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					d := dy[((n*p.O+o)*oh+i)*ow+j]
					if db != nil {
						db[o] += d
					}
					for c := 0; c < cg; c++ {
						ci := g*cg + c
						for kh := 0; kh < p.KH; kh++ {
							ih := i*p.StrideH - p.PadH + kh*p.DilH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := j*p.StrideW - p.PadW + kw*p.DilW
								if iw < 0 || iw >= p.W {
									continue
								}
								xi := ((n*p.C+ci)*p.H+ih)*p.W + iw
								wi := ((o*cg+c)*p.KH+kh)*p.KW + kw
								if dx != nil {
									dx[xi] += d * w[wi]
								}
								if dw != nil {
									dw[wi] += d * x[xi]
								}
							}
						}
					}
				}
			}
		}
	}
}

// RefConvTranspose2d is the reference transposed convolution: the input-gradient of the
// convolution p.AsConv() applied to x, plus bias. y is overwritten; b may be nil.
func RefConvTranspose2d(p ConvT2dParams, x, w, b, y []float32) {
	cp := p.AsConv()
	oh, ow := p.OutHW()
	plane := oh * ow
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			var v float32
			if b != nil {
				v = b[o]
			}
			row := y[(n*p.O+o)*plane : (n*p.O+o+1)*plane]
			for k := range row {
				row[k] = v
			}
		}
	}
	// With output padding >= stride (allowed when it is < dilation) the conv cp has a larger
	// output grid than x; the extra positions have no input, so x is zero-padded to that grid.
	RefConv2dBackward(cp, nil, w, refPadGrid(cp, p.C, p.H, p.W, x), y, nil, nil)
}

// refPadGrid returns x (N x ch x h x w) zero-padded at the bottom/right to cp's output grid
// (which is never smaller), or x itself when the grids agree.
func refPadGrid(cp Conv2dParams, ch, h, w int, x []float32) []float32 {
	h2, w2 := cp.OutHW()
	if h2 == h && w2 == w {
		return x
	}
	out := make([]float32, cp.N*ch*h2*w2)
	for n := 0; n < cp.N; n++ {
		for c := 0; c < ch; c++ {
			for i := 0; i < h; i++ {
				copy(out[((n*ch+c)*h2+i)*w2:], x[((n*ch+c)*h+i)*w:((n*ch+c)*h+i)*w+w])
			}
		}
	}
	return out
}

// RefConvTranspose2dBackward adds the gradients of RefConvTranspose2d into dx, dw, db (any may be nil).
func RefConvTranspose2dBackward(p ConvT2dParams, x, w, dy, dx, dw, db []float32) {
	cp := p.AsConv()
	oh, ow := p.OutHW()
	if dx != nil {
		h2, w2 := cp.OutHW() // may exceed H x W with output padding >= stride; crop
		tmp := make([]float32, p.N*p.C*h2*w2)
		RefConv2d(cp, dy, w, nil, tmp)
		for n := 0; n < p.N; n++ {
			for c := 0; c < p.C; c++ {
				for i := 0; i < p.H; i++ {
					for j := 0; j < p.W; j++ {
						dx[((n*p.C+c)*p.H+i)*p.W+j] += tmp[((n*p.C+c)*h2+i)*w2+j]
					}
				}
			}
		}
	}
	if dw != nil {
		// y = convT(x) is the data-gradient of conv(y') with weight w, so dL/dw pairs dy (as the
		// conv's input) with x (as the conv's output-gradient).
		RefConv2dBackward(cp, dy, w, refPadGrid(cp, p.C, p.H, p.W, x), nil, dw, nil)
	}
	if db != nil {
		plane := oh * ow
		for n := 0; n < p.N; n++ {
			for o := 0; o < p.O; o++ {
				var s float32
				for _, v := range dy[(n*p.O+o)*plane : (n*p.O+o+1)*plane] {
					s += v
				}
				db[o] += s
			}
		}
	}
}

// RefSgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, op(A) m x k, op(B) k x n.
func RefSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for l := 0; l < k; l++ {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
