package kern

// Depthwise convolutions (groups == C == O): one small kernel per channel, computed directly.
// Work is split by (image, channel) planes, or by channel for the weight gradient, so every
// output element is summed in a fixed order.

func depthwiseFwd(g *convGeom, n int, x, w, b, y []float32, accumulate bool) {
	hw, p := g.H*g.W, g.OH*g.OW
	ParallelForDynamic(n*g.C, 4, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % g.C
			xc, yc := x[pl*hw:(pl+1)*hw], y[pl*p:(pl+1)*p]
			var bv float32
			if b != nil {
				bv = b[c]
			}
			if !accumulate {
				for j := range yc {
					yc[j] = bv
				}
			} else if bv != 0 {
				for j := range yc {
					yc[j] += bv
				}
			}
			wc := w[c*g.kk : (c+1)*g.kk]
			for i := 0; i < g.OH; i++ {
				yr := yc[i*g.OW : (i+1)*g.OW]
				for kh := 0; kh < g.KH; kh++ {
					ih := i*g.SH - g.PH + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					xr := xc[ih*g.W : (ih+1)*g.W]
					for kw := 0; kw < g.KW; kw++ {
						wv := wc[kh*g.KW+kw]
						iw0 := kw*g.DW - g.PW
						jlo, jhi := rowRange(iw0, g.SW, g.W, g.OW)
						if jhi == 0 {
							continue
						}
						if g.SW == 1 {
							src := xr[iw0+jlo : iw0+jhi]
							dst := yr[jlo:jhi]
							for j := range dst {
								dst[j] += wv * src[j]
							}
							continue
						}
						for j := jlo; j < jhi; j++ {
							yr[j] += wv * xr[iw0+j*g.SW]
						}
					}
				}
			}
		}
	})
}

func depthwiseBwdData(g *convGeom, n int, w, dy, dx []float32) {
	hw, p := g.H*g.W, g.OH*g.OW
	ParallelForDynamic(n*g.C, 4, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % g.C
			dxc, dyc := dx[pl*hw:(pl+1)*hw], dy[pl*p:(pl+1)*p]
			wc := w[c*g.kk : (c+1)*g.kk]
			for i := 0; i < g.OH; i++ {
				dr := dyc[i*g.OW : (i+1)*g.OW]
				for kh := 0; kh < g.KH; kh++ {
					ih := i*g.SH - g.PH + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					xr := dxc[ih*g.W : (ih+1)*g.W]
					for kw := 0; kw < g.KW; kw++ {
						wv := wc[kh*g.KW+kw]
						iw0 := kw*g.DW - g.PW
						jlo, jhi := rowRange(iw0, g.SW, g.W, g.OW)
						if jhi == 0 {
							continue
						}
						if g.SW == 1 {
							dst := xr[iw0+jlo : iw0+jhi]
							src := dr[jlo:jhi]
							for j := range dst {
								dst[j] += wv * src[j]
							}
							continue
						}
						for j := jlo; j < jhi; j++ {
							xr[iw0+j*g.SW] += wv * dr[j]
						}
					}
				}
			}
		}
	})
}

func depthwiseBwdWeight(g *convGeom, n int, x, dy, dw []float32) {
	hw, p := g.H*g.W, g.OH*g.OW
	ParallelForDynamic(g.C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					var s float32
					iw0 := kw*g.DW - g.PW
					jlo, jhi := rowRange(iw0, g.SW, g.W, g.OW)
					for i := 0; i < n; i++ {
						pl := i*g.C + c
						xc, dyc := x[pl*hw:(pl+1)*hw], dy[pl*p:(pl+1)*p]
						for oi := 0; oi < g.OH; oi++ {
							ih := oi*g.SH - g.PH + kh*g.DH
							if ih < 0 || ih >= g.H {
								continue
							}
							xr := xc[ih*g.W : (ih+1)*g.W]
							dr := dyc[oi*g.OW : (oi+1)*g.OW]
							var t float32
							for j := jlo; j < jhi; j++ {
								t += dr[j] * xr[iw0+j*g.SW]
							}
							s += t
						}
					}
					dw[c*g.kk+kh*g.KW+kw] += s
				}
			}
		}
	})
}
