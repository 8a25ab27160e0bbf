package fast

import (
	"math"

	"github.com/vgfq/vgfq/tosa"
)

// ---------------------------------------------------------------------------------------------
// PAD and SLICE: precomputed runs along the innermost dimension

// run copies n elements from src to dst, or fills them with the pad value when src < 0.
type run struct{ dst, src, n int }

func applyRuns(kd kind, dst, src buf, runs []run, pv int64) {
	switch kd {
	case kI8:
		v := int8(pv)
		for _, r := range runs {
			d := dst.i8[r.dst : r.dst+r.n]
			if r.src < 0 {
				for i := range d {
					d[i] = v
				}
				continue
			}
			copy(d, src.i8[r.src:r.src+r.n])
		}
	case kI32:
		v := int32(pv)
		for _, r := range runs {
			d := dst.i32[r.dst : r.dst+r.n]
			if r.src < 0 {
				for i := range d {
					d[i] = v
				}
				continue
			}
			copy(d, src.i32[r.src:r.src+r.n])
		}
	default:
		for _, r := range runs {
			d := dst.i64[r.dst : r.dst+r.n]
			if r.src < 0 {
				for i := range d {
					d[i] = pv
				}
				continue
			}
			copy(d, src.i64[r.src:r.src+r.n])
		}
	}
}

// forOuter calls f for each index of shape[:len(shape)-1] in row-major order.
func forOuter(shape []int, f func(idx []int)) {
	r := len(shape)
	idx := make([]int, r-1)
	n := tosa.NumElements(shape[:r-1])
	for range n {
		f(idx)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

func rowStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

func (p *Program) compilePad(s *step) kernel {
	if len(s.in) != 3 {
		return nil
	}
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	padding, ok1 := intsOf(&p.slots[s.in[1]])
	pc, ok2 := scalarOf(&p.slots[s.in[2]])
	r := len(in.shape)
	if !ok1 || !ok2 || in.typ != out.typ || r == 0 || len(out.shape) != r || len(padding) < 2*r || out.n > math.MaxInt32 {
		return nil
	}
	for d := range r { // the ERROR_IF conditions of ref.pad
		if padding[2*d] < 0 || padding[2*d+1] < 0 || int64(out.shape[d]) != int64(in.shape[d])+padding[2*d]+padding[2*d+1] {
			return nil
		}
	}
	if out.n == 0 {
		return func(*state) bool { return true }
	}
	st := rowStrides(in.shape)
	last := r - 1
	W, OW := in.shape[last], out.shape[last]
	left := int(padding[2*last])
	var runs []run
	pos := 0
	forOuter(out.shape, func(idx []int) {
		src := 0
		inside := true
		for d, i := range idx {
			i -= int(padding[2*d])
			if i < 0 || i >= in.shape[d] {
				inside = false
				break
			}
			src += i * st[d]
		}
		if !inside || W == 0 {
			runs = append(runs, run{pos, -1, OW})
		} else {
			if left > 0 {
				runs = append(runs, run{pos, -1, left})
			}
			runs = append(runs, run{pos + left, src, W})
			if right := OW - left - W; right > 0 {
				runs = append(runs, run{pos + left + W, -1, right})
			}
		}
		pos += OW
	})
	si, so, kd := s.in[0], s.out, out.kind
	return func(st *state) bool {
		applyRuns(kd, st.bufs[so], st.bufs[si], runs, pc)
		return true
	}
}

func (p *Program) compileSlice(s *step) kernel {
	if len(s.in) != 3 {
		return nil
	}
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	start, ok1 := intsOf(&p.slots[s.in[1]])
	size, ok2 := intsOf(&p.slots[s.in[2]])
	r := len(in.shape)
	if !ok1 || !ok2 || in.typ != out.typ || r == 0 || len(out.shape) != r || len(start) < r || len(size) < r {
		return nil
	}
	for d := range r { // the ERROR_IF conditions of ref.slice
		if start[d] < 0 || size[d] <= 0 || start[d]+size[d] > int64(in.shape[d]) || int64(out.shape[d]) != size[d] {
			return nil
		}
	}
	st := rowStrides(in.shape)
	last := r - 1
	var runs []run
	pos := 0
	forOuter(out.shape, func(idx []int) {
		src := int(start[last])
		for d, i := range idx {
			src += (i + int(start[d])) * st[d]
		}
		runs = append(runs, run{pos, src, out.shape[last]})
		pos += out.shape[last]
	})
	si, so, kd := s.in[0], s.out, out.kind
	return func(st *state) bool {
		applyRuns(kd, st.bufs[so], st.bufs[si], runs, 0)
		return true
	}
}

// ---------------------------------------------------------------------------------------------
// TRANSPOSE_CONV2D int8 × int8 → int32 (weights [OC, KH, KW, IC])
//
// Each input pixel scatters W[ky][kx]·(x - input_zp) into output pixel (iy·sy + out_pad_top +
// ky, ix·sx + out_pad_left + kx); the outputs start at the bias. The order of the additions
// differs from the specification's, which is exact under the same compile-time bound as CONV2D:
// Σ|weight - weight_zp|·max|input - input_zp| + |bias| ≤ 2^31-1 for every output channel proves
// that no partial sum in any order leaves int32.
type tconvPlan struct {
	N, IH, IW, IC, OC, KH, KW, OH, OW int
	padT, padL, sy, sx                int
	izp                               int32
	w                                 []int32 // [KH][KW][OC][IC], weight_zp subtracted
	bias                              []int32 // [OC]
	scr                               int
}

func (p *Program) compileTransposeConv2D(s *step) kernel {
	a := &s.op.Attr
	if len(s.in) != 5 {
		return nil
	}
	in, w, b, izpS, wzpS := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	out := &p.slots[s.out]
	if in.typ != tosa.Int8 || w.typ != tosa.Int8 || out.typ != tosa.Int32 || b.typ != tosa.Int32 ||
		!w.isConst || !b.isConst || !izpS.isConst || !wzpS.isConst || izpS.typ != tosa.Int8 || wzpS.typ != tosa.Int8 {
		return nil
	}
	if len(a.OutPad) != 4 || len(a.Stride) != 2 || len(in.shape) != 4 || len(w.shape) != 4 || len(out.shape) != 4 || len(b.shape) != 1 {
		return nil
	}
	c := &tconvPlan{N: in.shape[0], IH: in.shape[1], IW: in.shape[2], IC: in.shape[3],
		OC: w.shape[0], KH: w.shape[1], KW: w.shape[2], OH: out.shape[1], OW: out.shape[2],
		padT: a.OutPad[0], padL: a.OutPad[2], sy: a.Stride[0], sx: a.Stride[1]}
	// the ERROR_IF conditions of ref.transposeConv2d
	if a.OutPad[0] <= -c.KH || a.OutPad[1] <= -c.KH || a.OutPad[2] <= -c.KW || a.OutPad[3] <= -c.KW ||
		c.sy < 1 || c.sx < 1 || w.shape[3] != c.IC || out.shape[3] != c.OC || out.shape[0] != c.N ||
		c.OH != (c.IH-1)*c.sy+a.OutPad[0]+a.OutPad[1]+c.KH || c.OW != (c.IW-1)*c.sx+a.OutPad[2]+a.OutPad[3]+c.KW {
		return nil
	}
	BC := b.shape[0]
	if BC != c.OC && BC != 1 {
		return nil
	}
	izp, wzp := int64(izpS.c.i8[0]), int64(wzpS.c.i8[0])
	c.izp = int32(izp)
	K := c.KH * c.KW * c.IC
	c.bias = make([]int32, c.OC)
	for oc := range c.OC {
		c.bias[oc] = b.c.i32[min(oc, BC-1)]
	}
	maxIn := max(abs64(-128-izp), abs64(127-izp))
	for oc := range c.OC {
		sum := abs64(int64(c.bias[oc]))
		for k := range K {
			sum += abs64(int64(w.c.i8[oc*K+k])-wzp) * maxIn
		}
		if sum > math.MaxInt32 {
			return nil
		}
	}
	c.scr = p.newScratch()
	if v := c.asConv(w.c.i8, wzp); v != nil {
		s.tconv = v
		si, so := s.in[0], s.out
		return func(st *state) bool {
			v.runVNNI(st.bufs[si].i8, st.bufs[so].i32, nil, &st.scr[v.scr])
			return true
		}
	}
	c.w = make([]int32, c.KH*c.KW*c.OC*c.IC)
	for oc := range c.OC {
		for ky := range c.KH {
			for kx := range c.KW {
				for ic := range c.IC {
					c.w[((ky*c.KW+kx)*c.OC+oc)*c.IC+ic] = int32(int64(w.c.i8[((oc*c.KH+ky)*c.KW+kx)*c.IC+ic]) - wzp)
				}
			}
		}
	}
	si, so := s.in[0], s.out
	return func(st *state) bool {
		c.run(st.bufs[si].i8, st.bufs[so].i32, &st.scr[c.scr])
		return true
	}
}

// asConv returns the transposed convolution as a CONV2D on the VNNI path, or nil: the input
// with stride-1 zeros inserted (zero meaning x = input_zp, so the padding value of the VNNI
// image), padded by KH-1+out_pad_top (top), ..., convolved at stride 1 with the spatially
// flipped kernel: out[oy] = Σ_ky in[(oy - out_pad_top - ky)/stride]·w[ky] becomes
// Σ_t Z[oy + t - (KH-1+out_pad_top)]·w[KH-1-t]. The zero-inserted terms contribute exactly 0,
// and the compile-time bound of compileTransposeConv2D covers every partial sum.
func (c *tconvPlan) asConv(w []int8, wzp int64) *convPlan {
	if !dot4Layout() {
		return nil
	}
	cp := &convPlan{N: c.N, IH: c.IH, IW: c.IW, IC: c.IC, OC: c.OC, KH: c.KH, KW: c.KW, OH: c.OH, OW: c.OW,
		padT: c.padT + c.KH - 1, padL: c.padL + c.KW - 1, sy: 1, sx: 1, dy: 1, dx: 1, upY: c.sy, upX: c.sx,
		izp: int16(c.izp), bias: c.bias, scr: c.scr}
	cp.K = c.KH * c.KW * c.IC
	cp.Kp = (cp.K + 1) / 2
	cp.OCp = (c.OC + nr - 1) / nr * nr
	wq := make([]int64, c.OC*cp.K)
	for oc := range c.OC {
		for ky := range c.KH {
			for kx := range c.KW {
				for ic := range c.IC {
					wq[oc*cp.K+(ky*c.KW+kx)*c.IC+ic] = int64(w[((oc*c.KH+c.KH-1-ky)*c.KW+c.KW-1-kx)*c.IC+ic]) - wzp
				}
			}
		}
	}
	cp.v = newVNNIPlan(cp, wq, dot4Signed())
	if cp.v == nil {
		return nil
	}
	return cp
}

func (c *tconvPlan) run(in []int8, out []int32, scr *scratch) {
	OC, IC := c.OC, c.IC
	for i := range c.N * c.OH * c.OW {
		copy(out[i*OC:(i+1)*OC], c.bias)
	}
	x := scr.int32s(IC)
	for n := range c.N {
		for iy := range c.IH {
			for ix := range c.IW {
				src := in[((n*c.IH+iy)*c.IW+ix)*IC : ((n*c.IH+iy)*c.IW+ix+1)*IC]
				for i, v := range src {
					x[i] = int32(v) - c.izp
				}
				for ky := range c.KH {
					oy := iy*c.sy + c.padT + ky
					if oy < 0 || oy >= c.OH {
						continue
					}
					for kx := range c.KW {
						ox := ix*c.sx + c.padL + kx
						if ox < 0 || ox >= c.OW {
							continue
						}
						o := out[((n*c.OH+oy)*c.OW+ox)*OC : ((n*c.OH+oy)*c.OW+ox+1)*OC]
						wt := c.w[(ky*c.KW+kx)*OC*IC : (ky*c.KW+kx+1)*OC*IC]
						for oc := range o {
							wr := wt[oc*IC : (oc+1)*IC]
							acc := o[oc]
							for i, xv := range x[:len(wr)] {
								acc += xv * wr[i]
							}
							o[oc] = acc
						}
					}
				}
			}
		}
	}
}
