package fast

import (
	"math"
	"slices"
	"sync"

	"github.com/vgfq/vgfq/tosa"
)

// CONV2D int8 × int8 → int32 as an int16 GEMM.
//
// The specification accumulates Σ (input - input_zp)·(weight - weight_zp) over (ky, kx, ic) and
// then adds the bias, each step an apply_add_s<int32> that REQUIREs no overflow. The fast path
// is used only when compile-time bounds prove that no partial sum can leave int32:
// Σ|weight - weight_zp|·max|input - input_zp| + |bias| ≤ 2^31-1 for every output channel. The
// sum is then the same in any order, so the kernel is free to block it.
//
// Layout: im2col rows A[p][k] (int16, k = (ky·KW + kx)·IC + ic, input_zp subtracted, padding 0,
// K rounded up to even), pixel rows padded to a multiple of 4 with zero rows. Weights are packed
// per block of 16 output channels and per pair of k: W[b][j][ch][2] = weight[b·16+ch][2j+e] -
// weight_zp (0 outside). The micro-kernel computes 4 rows × 16 channels with VPMADDWD.

const (
	mr = 4  // rows (output pixels) per micro-kernel
	nr = 16 // output channels per micro-kernel
)

type convPlan struct {
	N, IH, IW, IC, OC, KH, KW, OH, OW int
	padT, padL, sy, sx, dy, dx        int
	izp                               int16
	K, Kp, OCp                        int // K = KH·KW·IC, Kp = pairs of k, OCp = OC rounded up to nr
	wp                                []int16
	bias                              []int32 // per output channel (broadcast resolved)
	scr                               int
	post                              *rescalePlan // fused RESCALE, or nil
	postOut, flag                     int
	bound                             []int64   // per output channel: Σ|w'|·max|x - izp| + |bias| ≥ |accumulator|
	upY, upX                          int       // > 1: the input is zero-inserted (TRANSPOSE_CONV2D as a CONV2D; VNNI path only)
	v                                 *vnniPlan // the VNNI path, or nil
}

// vnniGo makes compileConv2D take the VNNI path's layout even without the CPU feature (with the
// Go micro-kernel), so that tests cover it everywhere.
var vnniGo = false

// sdotGo likewise makes compileConv2D take the signed (SDOT) variant of the layout with the Go
// micro-kernel when neither VNNI (or vnniGo) nor SDOT is on.
var sdotGo = false

// dot4Layout reports whether CONV2D uses the dot-product-of-four layout (conv_vnni.go).
func dot4Layout() bool { return useVNNI || vnniGo || useSDOT || sdotGo }

// dot4Signed reports whether that layout is the signed (SDOT) variant.
func dot4Signed() bool { return !useVNNI && !vnniGo }

func (p *Program) compileConv2D(s *step) kernel {
	a := &s.op.Attr
	in, w, b, izpS, wzpS := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	out := &p.slots[s.out]
	if in.typ != tosa.Int8 || w.typ != tosa.Int8 || out.typ != tosa.Int32 || b.typ != tosa.Int32 ||
		!w.isConst || !b.isConst || !izpS.isConst || !wzpS.isConst || izpS.typ != tosa.Int8 || wzpS.typ != tosa.Int8 {
		return nil
	}
	if len(a.Pad) != 4 || len(a.Stride) != 2 || len(a.Dilation) != 2 {
		return nil
	}
	for _, v := range a.Pad {
		if v < 0 {
			return nil
		}
	}
	if a.Stride[0] < 1 || a.Stride[1] < 1 || a.Dilation[0] < 1 || a.Dilation[1] < 1 {
		return nil
	}
	c := &convPlan{N: in.shape[0], IH: in.shape[1], IW: in.shape[2], IC: in.shape[3],
		OC: w.shape[0], KH: w.shape[1], KW: w.shape[2], OH: out.shape[1], OW: out.shape[2],
		padT: a.Pad[0], padL: a.Pad[2], sy: a.Stride[0], sx: a.Stride[1], dy: a.Dilation[0], dx: a.Dilation[1]}
	BC := b.shape[0]
	if BC != c.OC && BC != 1 {
		return nil
	}
	izp, wzp := int64(izpS.c.i8[0]), int64(wzpS.c.i8[0])
	c.izp = int16(izp)
	c.K = c.KH * c.KW * c.IC
	c.Kp = (c.K + 1) / 2
	c.OCp = (c.OC + nr - 1) / nr * nr
	c.bias = make([]int32, c.OC)
	for oc := range c.OC {
		if BC == 1 {
			c.bias[oc] = b.c.i32[0]
		} else {
			c.bias[oc] = b.c.i32[oc]
		}
	}
	// overflow bound
	maxIn := max(abs64(-128-izp), abs64(127-izp))
	c.bound = make([]int64, c.OC)
	for oc := range c.OC {
		sum := int64(0)
		for k := range c.K {
			sum += abs64(int64(w.c.i8[oc*c.K+k])-wzp) * maxIn
		}
		c.bound[oc] = sum + abs64(int64(c.bias[oc]))
		if c.bound[oc] > math.MaxInt32 {
			return nil
		}
	}
	if dot4Layout() {
		wq := make([]int64, len(w.c.i8))
		for i, x := range w.c.i8 {
			wq[i] = int64(x) - wzp
		}
		c.v = newVNNIPlan(c, wq, dot4Signed())
	}
	c.wp = make([]int16, c.OCp/nr*c.Kp*2*nr)
	for oc := range c.OC {
		blk, ch := oc/nr, oc%nr
		for k := range c.K {
			j, e := k/2, k%2
			c.wp[((blk*c.Kp+j)*nr+ch)*2+e] = int16(int64(w.c.i8[oc*c.K+k]) - wzp)
		}
	}
	c.scr = p.newScratch()
	si, so := s.in[0], s.out
	s.conv = c
	return func(st *state) bool {
		var post []int8
		if c.post != nil {
			post = st.bufs[c.postOut].i8
		}
		ok := c.run(st.bufs[si].i8, st.bufs[so].i32, post, &st.scr[c.scr])
		if c.post != nil {
			st.flags[c.flag] = ok
			if !ok { // the fused RESCALE failed: produce the accumulator for its own step
				c.run(st.bufs[si].i8, st.bufs[so].i32, nil, &st.scr[c.scr])
			}
		}
		return true
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// run computes the convolution into out or, with a fused RESCALE (post != nil), the RESCALE's
// result into post without storing the accumulator; it returns false when the fused RESCALE
// failed a check (post is then incomplete).
func (c *convPlan) run(in []int8, out []int32, post []int8, scr *scratch) bool {
	if c.v != nil {
		return c.runVNNI(in, out, post, scr)
	}
	P := c.N * c.OH * c.OW
	if P == 0 || c.OC == 0 {
		return post == nil || c.post.apply(out, post)
	}
	groups := (P + mr - 1) / mr
	Kpad := 2 * c.Kp
	nIn := c.N * c.IH * c.IW * c.IC
	buf := scr.int16s(nIn + groups*mr*Kpad)
	xs, A := buf[:nIn], buf[nIn:]
	// the input with input_zp subtracted, once, so that im2col is a sequence of copies
	izp := c.izp
	for i, v := range in[:nIn] {
		xs[i] = int16(v) - izp
	}
	C := scr.int32s(groups * mr * c.OCp)
	work := P * c.Kp * c.OCp
	nw := min(scr.workers, groups, work/(1<<16)+1)
	if nw <= 1 {
		return c.rows(xs, out, post, A, C, 0, groups)
	}
	var wg sync.WaitGroup
	oks := make([]bool, nw)
	for t := range nw {
		g0, g1 := groups*t/nw, groups*(t+1)/nw
		wg.Go(func() { oks[t] = c.rows(xs, out, post, A, C, g0, g1) })
	}
	wg.Wait()
	return !slices.Contains(oks, false)
}

// rows computes the row groups [g0, g1): im2col, GEMM, bias.
func (c *convPlan) rows(xs []int16, out []int32, post []int8, A []int16, C []int32, g0, g1 int) bool {
	ok := true
	P := c.N * c.OH * c.OW
	Kpad := 2 * c.Kp
	IC, KW, IW := c.IC, c.KW, c.IW
	span := KW * IC
	for g := g0; g < g1; g++ {
		// im2col of the group's rows
		for r := range mr {
			p := g*mr + r
			row := A[p*Kpad : (p+1)*Kpad]
			if p >= P {
				clear(row)
				continue
			}
			n, rem := p/(c.OH*c.OW), p%(c.OH*c.OW)
			oy, ox := rem/c.OW, rem%c.OW
			iy, ix := oy*c.sy-c.padT, ox*c.sx-c.padL
			inside := c.dx == 1 && ix >= 0 && ix+KW <= IW
			k := 0
			for ky := range c.KH {
				y := iy + ky*c.dy
				dst := row[k : k+span]
				k += span
				if y < 0 || y >= c.IH {
					clear(dst)
					continue
				}
				rowBase := (n*c.IH + y) * IW
				if inside {
					copy(dst, xs[(rowBase+ix)*IC:])
					continue
				}
				for kx := range KW {
					x := ix + kx*c.dx
					d := dst[kx*IC : kx*IC+IC]
					if x < 0 || x >= IW {
						clear(d)
						continue
					}
					copy(d, xs[(rowBase+x)*IC:])
				}
			}
			if k < Kpad {
				row[k] = 0
			}
		}
		a := A[g*mr*Kpad : (g+1)*mr*Kpad]
		cg := C[g*mr*c.OCp : (g+1)*mr*c.OCp]
		for blk := 0; blk < c.OCp/nr; blk++ {
			wb := c.wp[blk*c.Kp*2*nr : (blk+1)*c.Kp*2*nr]
			if c.Kp == 0 {
				for r := range mr {
					clear(cg[r*c.OCp+blk*nr : r*c.OCp+blk*nr+nr])
				}
				continue
			}
			kernel4x16(a, Kpad, wb, c.Kp, cg[blk*nr:], c.OCp)
		}
		bias := c.bias
		for r := range mr {
			p := g*mr + r
			if p >= P {
				break
			}
			src := cg[r*c.OCp : r*c.OCp+c.OC]
			bias := bias[:len(src)]
			if post != nil {
				if ok {
					for oc, v := range src {
						src[oc] = v + bias[oc]
					}
					ok = c.post.apply(src, post[p*c.OC:(p+1)*c.OC])
				}
				continue
			}
			o := out[p*c.OC : (p+1)*c.OC]
			for oc, v := range src {
				o[oc] = v + bias[oc]
			}
		}
	}
	return ok
}

// kernel4x16Go is the portable micro-kernel: c[r·ldc + ch] = Σ_j a[r·lda + 2j + e]·w[(j·16 + ch)·2 + e].
func kernel4x16Go(a []int16, lda int, w []int16, kp int, c []int32, ldc int) {
	for r := range mr {
		var acc [nr]int32
		row := a[r*lda : r*lda+2*kp]
		for j := range kp {
			a0, a1 := int32(row[2*j]), int32(row[2*j+1])
			ww := w[j*2*nr : j*2*nr+2*nr]
			for ch := range nr {
				acc[ch] += a0*int32(ww[2*ch]) + a1*int32(ww[2*ch+1])
			}
		}
		copy(c[r*ldc:r*ldc+nr], acc[:])
	}
}

// DEPTHWISE_CONV2D int8 × int8 → int32 (weights [KH, KW, C, M]), direct loops in int32 under
// the same compile-time accumulator bound as CONV2D.
type dwPlan struct {
	N, IH, IW, C, M, KH, KW, OH, OW int
	padT, padL, sy, sx, dy, dx      int
	izp                             int32
	w                               []int32 // [KH·KW][C·M], weight_zp subtracted
	bias                            []int32 // [C·M]
	scr                             int
	offs                            []int // per tap ky·KW + kx: (ky·dy·IW + kx·dx)·C, the tap's input offset
}

func (p *Program) compileDepthwise(s *step) kernel {
	a := &s.op.Attr
	in, w, b, izpS, wzpS := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	out := &p.slots[s.out]
	if in.typ != tosa.Int8 || w.typ != tosa.Int8 || out.typ != tosa.Int32 || b.typ != tosa.Int32 ||
		!w.isConst || !b.isConst || !izpS.isConst || !wzpS.isConst || izpS.typ != tosa.Int8 || wzpS.typ != tosa.Int8 {
		return nil
	}
	if len(a.Pad) != 4 || len(a.Stride) != 2 || len(a.Dilation) != 2 {
		return nil
	}
	for _, v := range a.Pad {
		if v < 0 {
			return nil
		}
	}
	if a.Stride[0] < 1 || a.Stride[1] < 1 || a.Dilation[0] < 1 || a.Dilation[1] < 1 {
		return nil
	}
	d := &dwPlan{N: in.shape[0], IH: in.shape[1], IW: in.shape[2], C: in.shape[3],
		KH: w.shape[0], KW: w.shape[1], M: w.shape[3], OH: out.shape[1], OW: out.shape[2],
		padT: a.Pad[0], padL: a.Pad[2], sy: a.Stride[0], sx: a.Stride[1], dy: a.Dilation[0], dx: a.Dilation[1]}
	CM := d.C * d.M
	BC := b.shape[0]
	if BC != CM && BC != 1 {
		return nil
	}
	izp, wzp := int64(izpS.c.i8[0]), int64(wzpS.c.i8[0])
	d.izp = int32(izp)
	d.w = make([]int32, d.KH*d.KW*CM)
	for i, v := range w.c.i8 {
		d.w[i] = int32(int64(v) - wzp)
	}
	d.bias = make([]int32, CM)
	for i := range CM {
		if BC == 1 {
			d.bias[i] = b.c.i32[0]
		} else {
			d.bias[i] = b.c.i32[i]
		}
	}
	maxIn := max(abs64(-128-izp), abs64(127-izp))
	for cm := range CM {
		sum := int64(0)
		for t := range d.KH * d.KW {
			sum += abs64(int64(d.w[t*CM+cm])) * maxIn
		}
		if sum+abs64(int64(d.bias[cm])) > math.MaxInt32 {
			return nil
		}
	}
	d.offs = make([]int, d.KH*d.KW)
	for ky := range d.KH {
		for kx := range d.KW {
			d.offs[ky*d.KW+kx] = (ky*d.dy*d.IW + kx*d.dx) * d.C
		}
	}
	d.scr = p.newScratch()
	si, so := s.in[0], s.out
	return func(st *state) bool {
		d.run(st.bufs[si].i8, st.bufs[so].i32, &st.scr[d.scr])
		return true
	}
}

func (d *dwPlan) run(in []int8, out []int32, scr *scratch) {
	CM := d.C * d.M
	xin := scr.int32s(CM)
	for n := range d.N {
		for oy := range d.OH {
			for ox := range d.OW {
				acc := out[((n*d.OH+oy)*d.OW+ox)*CM : ((n*d.OH+oy)*d.OW+ox+1)*CM]
				copy(acc, d.bias)
				iy, ix := oy*d.sy-d.padT, ox*d.sx-d.padL
				if d.M == 1 && iy >= 0 && iy+(d.KH-1)*d.dy < d.IH && ix >= 0 && ix+(d.KW-1)*d.dx < d.IW &&
					dwPixel(acc, in, ((n*d.IH+iy)*d.IW+ix)*d.C, d.offs, d.w, d.izp) {
					continue // every tap inside the image: one call for the whole pixel
				}
				for ky := range d.KH {
					y := iy + ky*d.dy
					if y < 0 || y >= d.IH {
						continue
					}
					for kx := range d.KW {
						x := ix + kx*d.dx
						if x < 0 || x >= d.IW {
							continue
						}
						src := in[((n*d.IH+y)*d.IW+x)*d.C : ((n*d.IH+y)*d.IW+x+1)*d.C]
						wt := d.w[(ky*d.KW+kx)*CM : (ky*d.KW+kx+1)*CM]
						if d.M == 1 {
							dwAcc8(acc, src, wt, d.izp)
							continue
						}
						for c, v := range src {
							xv := int32(v) - d.izp
							for m := range d.M {
								xin[c*d.M+m] = xv
							}
						}
						dwAcc32(acc, xin, wt)
					}
				}
			}
		}
	}
}

// dwAcc8Go does acc[i] += (x[i] - izp)·w[i] in wrapping int32 arithmetic (the compile-time
// bound of compileDepthwise makes it exact).
func dwAcc8Go(acc []int32, x []int8, w []int32, izp int32) {
	x, w = x[:len(acc)], w[:len(acc)]
	for c, v := range x {
		acc[c] += (int32(v) - izp) * w[c]
	}
}

// dwAcc32Go does acc[i] += x[i]·w[i] in wrapping int32 arithmetic.
func dwAcc32Go(acc, x, w []int32) {
	x, w = x[:len(acc)], w[:len(acc)]
	for i, wv := range w {
		acc[i] += x[i] * wv
	}
}
