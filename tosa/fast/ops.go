package fast

import (
	"math"
	"slices"
	"sync"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
)

// compileOp returns the fast kernel of an operator, or nil when it has none or when one of the
// specification's ERROR_IF / REQUIRE conditions that depend only on attributes, shapes and
// constants fails (tosa/ref then executes it and reports the failure).
func (p *Program) compileOp(s *step) kernel {
	switch s.op.Op {
	case tosa.OpConv2D:
		if p.slots[s.in[0]].typ == tosa.Int16 {
			return p.compileConv2D16(s)
		}
		return p.compileConv2D(s)
	case tosa.OpDepthwiseConv2D:
		if p.slots[s.in[0]].typ == tosa.Int16 {
			return p.compileConv2D16(s)
		}
		return p.compileDepthwise(s)
	case tosa.OpRescale:
		if k := p.compileRescale(s); k != nil {
			return k
		}
		return p.compileRescale64(s)
	case tosa.OpResize:
		return p.compileResize(s)
	case tosa.OpClamp:
		if k := p.compileClamp(s); k != nil {
			return k
		}
		return p.compileClamp64(s)
	case tosa.OpAdd, tosa.OpSub:
		return p.compileAddSub(s)
	case tosa.OpMul:
		return p.compileMul(s)
	case tosa.OpTable:
		return p.compileTable(s)
	case tosa.OpConcat:
		return p.compileConcat(s)
	case tosa.OpReshape:
		return p.compileReshape(s)
	case tosa.OpIdentity:
		return p.compileIdentity(s)
	case tosa.OpTranspose:
		return p.compileTranspose(s)
	case tosa.OpAvgPool2D:
		return p.compileAvgPool(s)
	case tosa.OpMaxPool2D:
		if k := p.compileMaxPool(s); k != nil {
			return k
		}
		return p.compileMaxPool64(s)
	case tosa.OpPad:
		return p.compilePad(s)
	case tosa.OpSlice:
		return p.compileSlice(s)
	case tosa.OpTransposeConv2D:
		return p.compileTransposeConv2D(s)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// RESCALE

// rescaleCh holds one channel's apply_scale parameters.
type rescaleCh struct {
	mul, rndPos, rndNeg int64 // rounding constant for value >= 0 / < 0
	rndDelta            int64 // rndNeg - rndPos
	lo, hi              int64 // REQUIRE lo <= value < hi
	shift               uint
}

type rescalePlan struct {
	ch             []rescaleCh // one per channel (one when per-tensor)
	izp, ozp       int64       // zero points (zero-extended when unsigned)
	inUnsigned     bool
	outUnsigned    bool
	outMin, outMax int64
	outBits        uint
	// safe: no REQUIRE can fail for any input value of the input type (proved at compile
	// time), so the kernel skips the per-element checks
	safe bool
}

func (p *Program) compileRescale(s *step) kernel {
	a := &s.op.Attr
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	mS, shS, izS, ozS := &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	inT, outT := in.typ, out.typ
	if (inT != tosa.Int8 && inT != tosa.Int32) || (outT != tosa.Int8 && outT != tosa.Int32) {
		return nil
	}
	if !mS.isConst || !shS.isConst || !izS.isConst || !ozS.isConst {
		return nil
	}
	izp, ok1 := scalarOf(izS)
	ozp, ok2 := scalarOf(ozS)
	if !ok1 || !ok2 {
		return nil
	}
	inBits, outBits := uint(inT.Bits()), uint(outT.Bits())
	zext := func(v int64, b uint) int64 { return int64(uint64(v) & (uint64(1)<<b - 1)) }
	// the ERROR_IF conditions of ref.rescale for INT8 / INT32 operands
	iu, ou := a.InputUnsigned, a.OutputUnsigned
	switch {
	case inT != tosa.Int8 && izp != 0, outT != tosa.Int8 && ozp != 0,
		a.RoundingMode != tosa.SingleRound && a.RoundingMode != tosa.DoubleRound,
		!a.Scale32 && a.RoundingMode == tosa.DoubleRound,
		iu && ou, outT == tosa.Int32 && iu, inT == tosa.Int32 && ou, inT == tosa.Int32 && iu,
		outT == tosa.Int32 && ou, a.PerChannel && len(in.shape) < 1:
		return nil
	}
	r := &rescalePlan{inUnsigned: iu, outUnsigned: ou, outBits: outBits}
	C := 1
	if a.PerChannel {
		C = in.shape[len(in.shape)-1]
	}
	mv, ok1 := intsOf(mS)
	sv, ok2 := intsOf(shS)
	if !ok1 || !ok2 || len(mv) < C || len(sv) < C {
		return nil
	}
	if iu {
		r.izp = zext(izp, inBits)
	} else {
		r.izp = izp
	}
	if ou {
		r.ozp = zext(ozp, outBits)
		r.outMin, r.outMax = 0, int64(1)<<outBits-1
	} else {
		r.ozp = ozp
		r.outMin, r.outMax = outT.MinMax()
	}
	doubleRound := a.RoundingMode == tosa.DoubleRound
	for c := range C {
		m, sh := mv[c], sv[c]
		// REQUIREs on the constants: multiplier >= 0, 2 <= shift <= 62
		if m < 0 || sh < 2 || sh > 62 {
			return nil
		}
		rnd := int64(1) << (sh - 1)
		rp, rn := rnd, rnd
		if a.Scale32 && doubleRound && sh > 31 {
			rp, rn = rnd+1<<30, rnd-1<<30
		}
		var lo, hi int64
		if a.Scale32 { // value fits int32 and lies in [-2^(shift-1), 2^(shift-1))
			lo, hi = max(math.MinInt32, -(int64(1)<<(sh-1))), min(int64(math.MaxInt32)+1, int64(1)<<(sh-1))
		} else { // apply_scale_16: value fits int48
			lo, hi = -(int64(1) << 47), int64(1)<<47
		}
		r.ch = append(r.ch, rescaleCh{mul: m, rndPos: rp, rndNeg: rn, rndDelta: rn - rp, lo: lo, hi: hi, shift: uint(sh)})
	}
	if !iu && !ou {
		inMin, inMax := inT.MinMax()
		vmin, vmax := inMin-r.izp, inMax-r.izp
		r.safe = true
		for _, p := range r.ch {
			// |value·mul + rnd| <= vabs·mul + 2^62 < 2^63 (vabs <= 2^31+128, mul < 2^31, rnd <= 2^62)
			vabs := max(abs64(vmin), abs64(vmax))
			bound := (vabs*p.mul+max(abs64(p.rndPos), abs64(p.rndNeg)))>>p.shift + 1
			if vmin < p.lo || vmax >= p.hi || bound+abs64(r.ozp) > math.MaxInt32 {
				r.safe = false
			}
		}
	}
	s.rescale = r
	si, so := s.in[0], s.out
	switch {
	case inT == tosa.Int8 && outT == tosa.Int8:
		return func(st *state) bool { return rescaleRun(st.bufs[si].i8, st.bufs[so].i8, r) }
	case inT == tosa.Int8 && outT == tosa.Int32:
		return func(st *state) bool { return rescaleRun(st.bufs[si].i8, st.bufs[so].i32, r) }
	case inT == tosa.Int32 && outT == tosa.Int8:
		if v := r.vec(C); v != nil {
			return func(st *state) bool { return v.run(st.bufs[si].i32[:in.n], st.bufs[so].i8, r) }
		}
		return func(st *state) bool { return rescaleRun(st.bufs[si].i32, st.bufs[so].i8, r) }
	default:
		return func(st *state) bool { return rescaleRun(st.bufs[si].i32, st.bufs[so].i32, r) }
	}
}

// rescaleVec is the AVX-512 form of a RESCALE int32 → int8 whose REQUIREs hold for every int32
// input (rescalePlan.safe): rows of cv channels (cv = C, or 16 for a per-tensor RESCALE).
type rescaleVec struct {
	cv     int
	single bool
	prm    []int64
	zero   []int32
	ozp    int32
}

func (r *rescalePlan) vec(C int) *rescaleVec {
	if !useVNNI || !r.safe || r.izp != 0 || r.inUnsigned || r.outUnsigned || r.outMin != -128 || r.outMax != 127 {
		return nil
	}
	cv := C
	if len(r.ch) == 1 {
		cv = 16
	}
	np := (cv + 15) / 16 * 16
	prm := r.vecParams(cv, np, func(int, *rescaleCh) bool { return true })
	if prm == nil {
		return nil
	}
	return &rescaleVec{cv: cv, prm: prm, single: singleRound(prm), zero: make([]int32, np), ozp: int32(r.ozp)}
}

func (v *rescaleVec) run(in []int32, out []int8, r *rescalePlan) bool {
	// the kernel reads whole blocks of 16: rows whose block reaches past in go to the tail
	np := len(v.zero)
	rows := 0
	if len(in) >= np {
		rows = (len(in)-np)/v.cv + 1
	}
	if rows > 0 && !requantRows(in, v.cv, rows, v.zero, v.prm, v.single, v.cv, v.ozp, out, v.cv) {
		return rescaleRun(in, out, r)
	}
	if n := rows * v.cv; n < len(in) {
		return rescaleRun(in[n:], out[n:], r)
	}
	return true
}

// scalarOf returns the first element of a constant.
func scalarOf(s *slot) (int64, bool) {
	v, ok := intsOf(s)
	if !ok || len(v) < 1 {
		return 0, false
	}
	return v[0], true
}

// intsOf returns a constant's elements as int64.
func intsOf(s *slot) ([]int64, bool) {
	if !s.isConst {
		return nil, false
	}
	switch s.kind {
	case kI8:
		r := make([]int64, len(s.c.i8))
		for i, x := range s.c.i8 {
			r[i] = int64(x)
		}
		return r, true
	case kI32:
		r := make([]int64, len(s.c.i32))
		for i, x := range s.c.i32 {
			r[i] = int64(x)
		}
		return r, true
	}
	return s.c.i64, true
}

func rescaleRun[I int8 | int32, O int8 | int32](in []I, out []O, r *rescalePlan) bool {
	if r.inUnsigned || r.outUnsigned {
		return rescaleUnsigned(in, out, r)
	}
	C := len(r.ch)
	out = out[:len(in)]
	izp, ozp, omin, omax := r.izp, r.ozp, r.outMin, r.outMax
	if r.safe {
		for base := 0; base+C <= len(in); base += C {
			xs := in[base : base+C]
			os := out[base : base+C]
			ch := r.ch[:len(xs)]
			for c, x := range xs {
				p := &ch[c]
				value := int64(x) - izp
				rnd := p.rndPos + (value>>63)&p.rndDelta // branch-free: rndNeg when value < 0
				res := (value*p.mul+rnd)>>(p.shift&63) + ozp
				os[c] = O(min(max(res, omin), omax))
			}
		}
		return true
	}
	for base := 0; base+C <= len(in); base += C {
		xs := in[base : base+C]
		os := out[base : base+C]
		ch := r.ch[:len(xs)]
		for c, x := range xs {
			p := &ch[c]
			value := int64(x) - izp
			if value < p.lo || value >= p.hi {
				return false
			}
			rnd := p.rndPos
			if value < 0 {
				rnd = p.rndNeg
			}
			res := (value*p.mul + rnd) >> p.shift
			if res != int64(int32(res)) { // apply_scale_32's result must fit int32
				return false
			}
			res += ozp
			if res != int64(int32(res)) { // apply_add_s<int32>
				return false
			}
			os[c] = O(min(max(res, omin), omax))
		}
	}
	return true
}

// rescaleUnsigned is rescaleRun with input_unsigned / output_unsigned (INT8 only).
func rescaleUnsigned[I int8 | int32, O int8 | int32](in []I, out []O, r *rescalePlan) bool {
	C := len(r.ch)
	out = out[:len(in)]
	for base := 0; base+C <= len(in); base += C {
		xs := in[base : base+C]
		os := out[base : base+C]
		for c, x := range xs {
			p := &r.ch[c]
			var value int64
			if r.inUnsigned {
				value = int64(uint8(x)) - r.izp
			} else {
				value = int64(x) - r.izp
			}
			if value < p.lo || value >= p.hi {
				return false
			}
			rnd := p.rndPos
			if value < 0 {
				rnd = p.rndNeg
			}
			res := (value*p.mul + rnd) >> p.shift
			if res < math.MinInt32 || res > math.MaxInt32 {
				return false
			}
			res += r.ozp
			if res < math.MinInt32 || res > math.MaxInt32 {
				return false
			}
			res = min(max(res, r.outMin), r.outMax)
			if r.outUnsigned && res > r.outMax>>1 {
				res -= int64(1) << r.outBits
			}
			os[c] = O(res)
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------------
// RESIZE (INT8 input: NEAREST → INT8, BILINEAR → INT32)

func (p *Program) compileResize(s *step) kernel {
	a := &s.op.Attr
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	int16In := in.typ == tosa.Int16 // EXT-INT16: NEAREST → INT16, BILINEAR → INT48 ([]int64 storage)
	if in.typ != tosa.Int8 && !int16In {
		return nil
	}
	accT := tosa.Int32
	if int16In {
		accT = tosa.Int48
	}
	if !(a.Mode == tosa.ResizeNearest && out.typ == in.typ) && !(a.Mode == tosa.ResizeBilinear && out.typ == accT) {
		return nil
	}
	scale, ok1 := intsOf(&p.slots[s.in[1]])
	offset, ok2 := intsOf(&p.slots[s.in[2]])
	border, ok3 := intsOf(&p.slots[s.in[3]])
	if !ok1 || !ok2 || !ok3 || len(scale) < 4 || len(offset) < 2 || len(border) < 2 {
		return nil
	}
	N, IH, IW, C := in.shape[0], in.shape[1], in.shape[2], in.shape[3]
	OH, OW := out.shape[1], out.shape[2]
	syn, syd, sxn, sxd := scale[0], scale[1], scale[2], scale[3]
	offY, offX, bY, bX := offset[0], offset[1], border[0], border[1]
	// the ERROR_IF conditions of ref.resize
	switch {
	case max(OH, OW, IH, IW) >= 16384, syn <= 0 || syd <= 0 || sxn <= 0 || sxd <= 0,
		syn > 1<<11 || sxn > 1<<11, syd >= 16*syn || sxd >= 16*sxn,
		offY < -syn || offY >= 16*syn, offX < -sxn || offX >= 16*sxn,
		bY < -16*syn || bY >= syn, bX < -16*sxn || bX >= sxn:
		return nil
	}
	h := (int64(IH)-1)*syn - offY + bY
	w := (int64(IW)-1)*sxn - offX + bX
	if h%syd != 0 || int64(OH) != h/syd+1 || w%sxd != 0 || int64(OW) != w/sxd+1 {
		return nil
	}
	type axis struct {
		i0, i1 int   // clamped source indices
		d      int32 // fraction numerator
		near   int   // nearest source index
	}
	mk := func(O, I int, sd, off, sn int64) []axis {
		r := make([]axis, O)
		for o := range O {
			v := int64(o)*sd + off
			i := floorDiv(v, sn)
			d := v - i*sn
			i0, i1 := max(i, 0), min(i+1, int64(I)-1)
			near := i0
			if 2*d >= sn {
				near = i1
			}
			r[o] = axis{int(i0), int(i1), int32(d), int(near)}
		}
		return r
	}
	ys, xs := mk(OH, IH, syd, offY, syn), mk(OW, IW, sxd, offX, sxn)
	si, so := s.in[0], s.out
	if int16In {
		// |v|·scale_y_n·scale_x_n ≤ 2^15·2^22 < 2^47: the INT48 accumulator cannot overflow
		nearest := a.Mode == tosa.ResizeNearest
		return func(st *state) bool {
			src, dst := st.bufs[si].i64, st.bufs[so].i64
			for n := range N {
				for oy, ay := range ys {
					for ox, ax := range xs {
						o := ((n*OH+oy)*OW + ox) * C
						if nearest {
							i := ((n*IH+ay.near)*IW + ax.near) * C
							copy(dst[o:o+C], src[i:i+C])
							continue
						}
						wy0, wy1, wx0, wx1 := syn-int64(ay.d), int64(ay.d), sxn-int64(ax.d), int64(ax.d)
						i00, i01 := ((n*IH+ay.i0)*IW+ax.i0)*C, ((n*IH+ay.i0)*IW+ax.i1)*C
						i10, i11 := ((n*IH+ay.i1)*IW+ax.i0)*C, ((n*IH+ay.i1)*IW+ax.i1)*C
						for c := range C {
							dst[o+c] = src[i00+c]*wy0*wx0 + src[i01+c]*wy0*wx1 + src[i10+c]*wy1*wx0 + src[i11+c]*wy1*wx1
						}
					}
				}
			}
			return true
		}
	}
	if a.Mode == tosa.ResizeNearest {
		return func(st *state) bool {
			src, dst := st.bufs[si].i8, st.bufs[so].i8
			for n := range N {
				for oy, ay := range ys {
					for ox, ax := range xs {
						o := ((n*OH+oy)*OW + ox) * C
						i := ((n*IH+ay.near)*IW + ax.near) * C
						copy(dst[o:o+C], src[i:i+C])
					}
				}
			}
			return true
		}
	}
	sny, snx := int32(syn), int32(sxn)
	// per output element (column, channel): the two source offsets in a row and the x weights
	cols := &resizeCols{off0: make([]int32, OW*C), off1: make([]int32, OW*C), wx0: make([]int32, OW*C), wx1: make([]int32, OW*C)}
	for ox, ax := range xs {
		for c := range C {
			e := ox*C + c
			cols.off0[e], cols.off1[e] = int32(ax.i0*C+c), int32(ax.i1*C+c)
			cols.wx0[e], cols.wx1[e] = snx-ax.d, ax.d
		}
	}
	rowLen := IW * C
	return func(st *state) bool {
		src, dst := st.bufs[si].i8, st.bufs[so].i32
		wide := resizePool.Get().(*[]int32)
		if cap(*wide) < IH*rowLen {
			*wide = make([]int32, IH*rowLen)
		}
		img := (*wide)[:IH*rowLen]
		for n := range N {
			for i, v := range src[n*IH*rowLen : (n+1)*IH*rowLen] {
				img[i] = int32(v)
			}
			for oy, ay := range ys {
				resizeRow(dst[(n*OH+oy)*OW*C:(n*OH+oy+1)*OW*C], img[ay.i0*rowLen:(ay.i0+1)*rowLen],
					img[ay.i1*rowLen:(ay.i1+1)*rowLen], cols, sny-ay.d, ay.d)
			}
		}
		resizePool.Put(wide)
		return true
	}
}

// resizeCols are the per-output-element taps of an int8 bilinear RESIZE row: source offsets
// (column*C + channel) and x weights.
type resizeCols struct{ off0, off1, wx0, wx1 []int32 }

// resizePool holds the int32 copies of RESIZE input images.
var resizePool = sync.Pool{New: func() any { return new([]int32) }}

// forceGoResize makes resizeRow skip the AVX2 path (tests).
var forceGoResize bool

// resizeRow computes one output row of an int8 bilinear RESIZE (int32 accumulator) from the
// source rows r0 (weight wy0) and r1 (weight wy1) widened to int32: per element,
// wy0·(r0[off0]·wx0 + r0[off1]·wx1) + wy1·(r1[off0]·wx0 + r1[off1]·wx1). In wrapping int32
// arithmetic this equals the specification's Σ v·(wy·wx) over the four taps (the bound checked
// at compile time keeps it exact anyway). AVX2 gathers on amd64.
func resizeRow(dst, r0, r1 []int32, c *resizeCols, wy0, wy1 int32) {
	for e := resizeRowFast(dst, r0, r1, c, wy0, wy1); e < len(dst); e++ {
		o0, o1, x0, x1 := c.off0[e], c.off1[e], c.wx0[e], c.wx1[e]
		dst[e] = wy0*(r0[o0]*x0+r0[o1]*x1) + wy1*(r1[o0]*x0+r1[o1]*x1)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// ---------------------------------------------------------------------------------------------
// CLAMP, TABLE

func (p *Program) compileClamp(s *step) kernel {
	a := &s.op.Attr
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if (in.typ != tosa.Int8 && in.typ != tosa.Int32) || out.typ != in.typ {
		return nil
	}
	lo, ok1 := clampBound(a.ClampMin, in.typ)
	hi, ok2 := clampBound(a.ClampMax, in.typ)
	if !ok1 || !ok2 || hi < lo {
		return nil
	}
	si, so := s.in[0], s.out
	if in.typ == tosa.Int8 {
		l, h := int8(lo), int8(hi)
		return func(st *state) bool {
			src, dst := st.bufs[si].i8, st.bufs[so].i8[:len(st.bufs[si].i8)]
			for i, v := range src {
				dst[i] = min(max(v, l), h)
			}
			return true
		}
	}
	l, h := int32(lo), int32(hi)
	return func(st *state) bool {
		src, dst := st.bufs[si].i32, st.bufs[so].i32[:len(st.bufs[si].i32)]
		for i, v := range src {
			dst[i] = min(max(v, l), h)
		}
		return true
	}
}

func clampBound(b []byte, t tosa.DType) (int64, bool) {
	n := t.DataSize(1)
	if len(b) < n {
		return 0, false
	}
	v, err := (&tosa.Tensor{Name: "clamp bound", Type: t, Data: b[:n]}).Ints()
	if err != nil {
		return 0, false
	}
	return v[0], true
}

func (p *Program) compileTable(s *step) kernel {
	in, tb, out := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.out]
	if in.typ != tosa.Int8 || tb.typ != tosa.Int8 || out.typ != tosa.Int8 || !tb.isConst || len(tb.c.i8) != 256 {
		return nil
	}
	var t [256]int8
	copy(t[:], tb.c.i8)
	si, so := s.in[0], s.out
	return func(st *state) bool {
		src := st.bufs[si].i8
		dst := st.bufs[so].i8[:len(src)]
		for i, v := range src {
			dst[i] = t[uint8(int16(v)+128)]
		}
		return true
	}
}

// ---------------------------------------------------------------------------------------------
// ADD, SUB (INT32), MUL (INT8 / INT32 → INT32) with broadcasting

// bcast describes the broadcast of two equal-rank operands to the output: the output is
// iterated as rows of its last dimension; each row starts at aOff/bOff and steps by aInc/bInc
// (0 for a broadcast dimension).
type bcast struct {
	rows, n          int
	aOff, bOff       []int
	aInc, bInc       int
	simple           bool // both operands have the output's shape
	aScalar, bScalar bool // one element
}

func newBcast(out, a, b []int) (*bcast, bool) {
	if len(a) != len(out) || len(b) != len(out) {
		return nil, false
	}
	bc := &bcast{simple: slices.Equal(a, out) && slices.Equal(b, out),
		aScalar: tosa.NumElements(a) == 1, bScalar: tosa.NumElements(b) == 1}
	r := len(out)
	if r == 0 {
		bc.rows, bc.n = 1, 1
		bc.aOff, bc.bOff = []int{0}, []int{0}
		return bc, true
	}
	bc.n = out[r-1]
	bc.rows = tosa.NumElements(out[:r-1])
	stA, stB := stridesOf(a), stridesOf(b)
	if a[r-1] != 1 {
		bc.aInc = 1
	}
	if b[r-1] != 1 {
		bc.bInc = 1
	}
	bc.aOff, bc.bOff = make([]int, bc.rows), make([]int, bc.rows)
	idx := make([]int, r-1)
	for row := range bc.rows {
		pa, pb := 0, 0
		for d, i := range idx {
			if a[d] != 1 {
				pa += i * stA[d]
			}
			if b[d] != 1 {
				pb += i * stB[d]
			}
		}
		bc.aOff[row], bc.bOff[row] = pa, pb
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return bc, true
}

func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// apply runs f over every output element; f returns false to stop (a failed REQUIRE).
func binary[A, B, O int8 | int32](bc *bcast, a []A, b []B, o []O, f func(x A, y B) (O, bool)) bool {
	if bc.simple {
		o = o[:len(a)]
		b = b[:len(a)]
		for i, x := range a {
			v, ok := f(x, b[i])
			if !ok {
				return false
			}
			o[i] = v
		}
		return true
	}
	n := bc.n
	for row := range bc.rows {
		or := o[row*n : row*n+n]
		ia, ib := bc.aOff[row], bc.bOff[row]
		for i := range or {
			v, ok := f(a[ia+i*bc.aInc], b[ib+i*bc.bInc])
			if !ok {
				return false
			}
			or[i] = v
		}
	}
	return true
}

func (p *Program) compileAddSub(s *step) kernel {
	a, b, out := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.out]
	if a.typ != tosa.Int32 || b.typ != tosa.Int32 || out.typ != tosa.Int32 {
		return nil
	}
	bc, ok := newBcast(out.shape, a.shape, b.shape)
	if !ok {
		return nil
	}
	ia, ib, so := s.in[0], s.in[1], s.out
	if s.op.Op == tosa.OpAdd {
		return func(st *state) bool {
			return binary(bc, st.bufs[ia].i32, st.bufs[ib].i32, st.bufs[so].i32, func(x, y int32) (int32, bool) {
				r := int64(x) + int64(y)
				return int32(r), r == int64(int32(r))
			})
		}
	}
	return func(st *state) bool {
		return binary(bc, st.bufs[ia].i32, st.bufs[ib].i32, st.bufs[so].i32, func(x, y int32) (int32, bool) {
			r := int64(x) - int64(y)
			return int32(r), r == int64(int32(r))
		})
	}
}

func (p *Program) compileMul(s *step) kernel {
	a, b, sh, out := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.out]
	if a.typ != b.typ || (a.typ != tosa.Int8 && a.typ != tosa.Int32) || out.typ != tosa.Int32 {
		return nil
	}
	shift, ok := scalarOf(sh)
	if !ok || shift < 0 || shift > 63 || (a.typ != tosa.Int32 && shift != 0) {
		return nil
	}
	bc, ok := newBcast(out.shape, a.shape, b.shape)
	if !ok {
		return nil
	}
	ia, ib, so := s.in[0], s.in[1], s.out
	if a.typ == tosa.Int8 {
		return func(st *state) bool {
			return binary(bc, st.bufs[ia].i8, st.bufs[ib].i8, st.bufs[so].i32, func(x, y int8) (int32, bool) {
				return int32(x) * int32(y), true
			})
		}
	}
	if shift == 0 {
		return func(st *state) bool {
			return binary(bc, st.bufs[ia].i32, st.bufs[ib].i32, st.bufs[so].i32, func(x, y int32) (int32, bool) {
				return x * y, true // the low 32 bits of the product
			})
		}
	}
	rnd := int64(1) << (shift - 1)
	return func(st *state) bool {
		return binary(bc, st.bufs[ia].i32, st.bufs[ib].i32, st.bufs[so].i32, func(x, y int32) (int32, bool) {
			r := (int64(x)*int64(y) + rnd) >> shift
			return int32(r), r == int64(int32(r))
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Data movement: CONCAT, RESHAPE, IDENTITY, TRANSPOSE (any storage kind)

func (p *Program) compileConcat(s *step) kernel {
	out := &p.slots[s.out]
	axis := s.op.Attr.Axis
	if axis < 0 || axis >= len(out.shape) {
		return nil
	}
	outer := tosa.NumElements(out.shape[:axis])
	inner := tosa.NumElements(out.shape[axis+1:])
	sum := 0
	var chunk []int
	for _, si := range s.in {
		in := &p.slots[si]
		if in.typ != out.typ || len(in.shape) != len(out.shape) {
			return nil
		}
		chunk = append(chunk, in.shape[axis]*inner)
		sum += in.shape[axis]
	}
	if sum != out.shape[axis] {
		return nil
	}
	ins, so, kd := slices.Clone(s.in), s.out, out.kind
	return func(st *state) bool {
		pos := 0
		dst := st.bufs[so]
		for o := range outer {
			for k, si := range ins {
				n := chunk[k]
				src := st.bufs[si]
				switch kd {
				case kI8:
					copy(dst.i8[pos:pos+n], src.i8[o*n:(o+1)*n])
				case kI32:
					copy(dst.i32[pos:pos+n], src.i32[o*n:(o+1)*n])
				default:
					copy(dst.i64[pos:pos+n], src.i64[o*n:(o+1)*n])
				}
				pos += n
			}
		}
		return true
	}
}

func (p *Program) compileReshape(s *step) kernel {
	in, shp, out := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.out]
	if in.typ != out.typ || in.n != out.n {
		return nil
	}
	v, ok := intsOf(shp)
	if !ok {
		return nil
	}
	for d, x := range v {
		if d >= len(out.shape) || int64(out.shape[d]) != x {
			return nil
		}
	}
	si, so := s.in[0], s.out
	return func(st *state) bool { st.bufs[so] = st.bufs[si]; return true }
}

func (p *Program) compileIdentity(s *step) kernel {
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if in.typ != out.typ || in.n != out.n {
		return nil
	}
	si, so := s.in[0], s.out
	return func(st *state) bool { st.bufs[so] = st.bufs[si]; return true }
}

func (p *Program) compileTranspose(s *step) kernel {
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	perms := s.op.Attr.Perms
	r := len(in.shape)
	if in.typ != out.typ || len(perms) != r || len(out.shape) != r || in.n > math.MaxInt32 {
		return nil
	}
	for i, pm := range perms {
		if pm < 0 || pm >= r || slices.Index(perms, pm) != i || out.shape[i] != in.shape[pm] {
			return nil
		}
	}
	st := stridesOf(in.shape)
	idx := make([]int32, out.n)
	index := make([]int, r)
	for pos := range out.n {
		q := 0
		for i, pm := range perms {
			q += index[i] * st[pm]
		}
		idx[pos] = int32(q)
		for d := r - 1; d >= 0; d-- {
			index[d]++
			if index[d] < out.shape[d] {
				break
			}
			index[d] = 0
		}
	}
	si, so, kd := s.in[0], s.out, out.kind
	return func(st *state) bool {
		src, dst := st.bufs[si], st.bufs[so]
		switch kd {
		case kI8:
			gather(dst.i8, src.i8, idx)
		case kI32:
			gather(dst.i32, src.i32, idx)
		default:
			gather(dst.i64, src.i64, idx)
		}
		return true
	}
}

func gather[T int8 | int32 | int64](dst, src []T, idx []int32) {
	dst = dst[:len(idx)]
	for i, q := range idx {
		dst[i] = src[q]
	}
}

// ---------------------------------------------------------------------------------------------
// AVG_POOL2D (INT8, acc INT32), MAX_POOL2D (INT8 / INT32)

type poolGeom struct {
	N, IH, IW, C, OH, OW   int
	ky, kx, sy, sx, pt, pl int
}

func poolGeometry(a *tosa.Attr, in, out *slot) (*poolGeom, bool) {
	if len(a.Kernel) != 2 || len(a.Stride) != 2 || len(a.Pad) != 4 || len(in.shape) != 4 || len(out.shape) != 4 {
		return nil, false
	}
	g := &poolGeom{N: in.shape[0], IH: in.shape[1], IW: in.shape[2], C: in.shape[3], OH: out.shape[1], OW: out.shape[2],
		ky: a.Kernel[0], kx: a.Kernel[1], sy: a.Stride[0], sx: a.Stride[1], pt: a.Pad[0], pl: a.Pad[2]}
	pb, pr := a.Pad[1], a.Pad[3]
	switch {
	case g.ky < 1 || g.kx < 1, g.sy < 1 || g.sx < 1, g.pt < 0 || pb < 0 || g.pl < 0 || pr < 0,
		pr >= g.kx || g.pl >= g.kx, g.pt >= g.ky || pb >= g.ky:
		return nil, false
	}
	return g, true
}

// window returns the valid input range [y0, y1) × [x0, x1) of an output position.
func (g *poolGeom) window(oy, ox int) (y0, y1, x0, x1 int) {
	iy, ix := oy*g.sy-g.pt, ox*g.sx-g.pl
	return max(iy, 0), min(iy+g.ky, g.IH), max(ix, 0), min(ix+g.kx, g.IW)
}

func (p *Program) compileAvgPool(s *step) kernel {
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if in.typ != tosa.Int8 || out.typ != tosa.Int8 {
		return nil
	}
	izp, ok1 := scalarOf(&p.slots[s.in[1]])
	ozp, ok2 := scalarOf(&p.slots[s.in[2]])
	if !ok1 || !ok2 {
		return nil
	}
	g, ok := poolGeometry(&s.op.Attr, in, out)
	// |acc| <= count·255 must stay below 2^29 so that apply_scale_32 (shift >= 30) holds
	if !ok || int64(g.ky)*int64(g.kx)*255 >= 1<<29 {
		return nil
	}
	si, so := s.in[0], s.out
	return func(st *state) bool {
		src, dst := st.bufs[si].i8, st.bufs[so].i8
		acc := make([]int32, g.C)
		for n := range g.N {
			for oy := range g.OH {
				for ox := range g.OW {
					y0, y1, x0, x1 := g.window(oy, ox)
					count := max(y1-y0, 0) * max(x1-x0, 0)
					if count == 0 {
						return false // apply_scale_32 REQUIRE fails in ref
					}
					clear(acc)
					for y := y0; y < y1; y++ {
						for x := x0; x < x1; x++ {
							row := src[((n*g.IH+y)*g.IW+x)*g.C : ((n*g.IH+y)*g.IW+x+1)*g.C]
							for c, v := range row {
								acc[c] += int32(v)
							}
						}
					}
					m, sh := ref.ReciprocalScale(count)
					mul, shift := int64(m), uint(sh)
					rnd := int64(1) << (shift - 1)
					zsum := int64(count) * izp
					o := dst[((n*g.OH+oy)*g.OW+ox)*g.C : ((n*g.OH+oy)*g.OW+ox+1)*g.C]
					for c, v := range acc {
						r := ((int64(v)-zsum)*mul+rnd)>>shift + ozp
						o[c] = int8(min(max(r, -128), 127))
					}
				}
			}
		}
		return true
	}
}

func (p *Program) compileMaxPool(s *step) kernel {
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if (in.typ != tosa.Int8 && in.typ != tosa.Int32) || out.typ != in.typ {
		return nil
	}
	g, ok := poolGeometry(&s.op.Attr, in, out)
	if !ok {
		return nil
	}
	si, so := s.in[0], s.out
	if in.typ == tosa.Int8 {
		return func(st *state) bool { maxPool(g, st.bufs[si].i8, st.bufs[so].i8, math.MinInt8); return true }
	}
	return func(st *state) bool { maxPool(g, st.bufs[si].i32, st.bufs[so].i32, math.MinInt32); return true }
}

func maxPool[T int8 | int32 | int64](g *poolGeom, src, dst []T, lowest T) {
	for n := range g.N {
		for oy := range g.OH {
			for ox := range g.OW {
				y0, y1, x0, x1 := g.window(oy, ox)
				o := dst[((n*g.OH+oy)*g.OW+ox)*g.C : ((n*g.OH+oy)*g.OW+ox+1)*g.C]
				for c := range o {
					o[c] = lowest
				}
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						row := src[((n*g.IH+y)*g.IW+x)*g.C : ((n*g.IH+y)*g.IW+x+1)*g.C]
						for c, v := range row {
							o[c] = max(o[c], v)
						}
					}
				}
			}
		}
	}
}

// apply rescales int32 values to int8 (the fused CONV2D epilogue).
func (r *rescalePlan) apply(in []int32, out []int8) bool { return rescaleRun(in, out, r) }
