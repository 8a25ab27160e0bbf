package fast

import (
	"math"

	"github.com/vgfq/vgfq/tosa"
)

// EXT-INT16 (a16w8 graphs): INT16 and INT48 tensors are stored as []int64 (kind kI64).
//
// CONV2D and DEPTHWISE_CONV2D int16 × int8 → int48 run on the int8 kernels: every input x splits exactly into
// x = 256·hi + lo with hi = x >> 8 ∈ [-128, 127] and lo = x & 255 ∈ [0, 255], so
//
//	Σ x·w' = 256·Σ hi·w' + Σ lo·w'
//
// where Σ hi·w' is an int8 CONV2D with input_zp 0 and Σ lo·w' an int8 CONV2D of lo - 128 with
// input_zp -128 (padding contributes 0 after the zero point is removed in both, as in the
// specification). Both int32 convolutions use compileConv2D's kernels (with their own int32
// bounds); the INT48 result adds the bias. The specification REQUIREs that no partial sum
// leaves int48: the kernel is used only when Σ|w'|·32768 + |bias| ≤ 2^47-1 for every output
// channel, so no order of summation can overflow and the result equals tosa/ref's.

const maxInt48 = int64(1)<<47 - 1

func (p *Program) compileConv2D16(s *step) kernel {
	in, w, b, izpS, wzpS := &p.slots[s.in[0]], &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	out := &p.slots[s.out]
	if in.typ != tosa.Int16 || w.typ != tosa.Int8 || b.typ != tosa.Int48 || out.typ != tosa.Int48 || s.op.Attr.AccType != tosa.Int48 ||
		!w.isConst || !b.isConst || !izpS.isConst || !wzpS.isConst || izpS.typ != tosa.Int16 || wzpS.typ != tosa.Int8 {
		return nil
	}
	izp, ok1 := scalarOf(izpS)
	wzp, ok2 := scalarOf(wzpS)
	if !ok1 || !ok2 || izp != 0 || len(w.shape) != 4 || len(in.shape) != 4 || len(out.shape) != 4 {
		return nil // a nonzero int16 zero point is an ERROR_IF: tosa/ref reports it
	}
	depthwise := s.op.Op == tosa.OpDepthwiseConv2D
	// OC output channels; weight element k of channel oc at index wAt(oc, k), k < K
	var OC, K int
	var wAt func(oc, k int) int
	if depthwise { // [KH, KW, C, M], channel c*M+m
		C, M := w.shape[2], w.shape[3]
		OC, K = C*M, w.shape[0]*w.shape[1]
		wAt = func(oc, k int) int { return k*C*M + oc }
	} else { // [OC, KH, KW, IC]
		OC, K = w.shape[0], w.shape[1]*w.shape[2]*w.shape[3]
		wAt = func(oc, k int) int { return oc*K + k }
	}
	BC := b.shape[0]
	if BC != OC && BC != 1 || len(b.c.i64) < BC || len(w.c.i8) < OC*K || out.shape[3] != OC {
		return nil
	}
	bias := make([]int64, OC)
	for oc := range OC {
		bias[oc] = b.c.i64[min(oc, BC-1)]
		sum := int64(0)
		for k := range K {
			sum += abs64(int64(w.c.i8[wAt(oc, k)])-wzp) * 32768
		}
		if sum+abs64(bias[oc]) > maxInt48 {
			return nil
		}
	}
	// The two int8 convolutions: synthetic slots for their inputs, zero points, zero bias and
	// int32 accumulators, compiled by compileConv2D like any CONV2D of the graph.
	add := func(sl slot) int {
		p.slots = append(p.slots, sl)
		return len(p.slots) - 1
	}
	i8In := func() int {
		return add(slot{name: in.name + "#i8", typ: tosa.Int8, shape: in.shape, n: in.n, kind: kI8, alloc: true})
	}
	acc := func() int {
		return add(slot{name: out.name + "#i32", typ: tosa.Int32, shape: out.shape, n: out.n, kind: kI32, alloc: true})
	}
	zeroBias := add(slot{name: "#zero_bias", typ: tosa.Int32, shape: []int{1}, n: 1, kind: kI32, isConst: true, c: buf{i32: []int32{0}}})
	zp0 := add(slot{name: "#zp0", typ: tosa.Int8, shape: []int{1}, n: 1, kind: kI8, isConst: true, c: buf{i8: []int8{0}}})
	zp128 := add(slot{name: "#zp-128", typ: tosa.Int8, shape: []int{1}, n: 1, kind: kI8, isConst: true, c: buf{i8: []int8{-128}}})
	hiIn, loIn, hiAcc, loAcc := i8In(), i8In(), acc(), acc()
	hiStep := &step{index: s.index, op: s.op, in: []int{hiIn, s.in[1], zeroBias, zp0, s.in[4]}, out: hiAcc}
	loStep := &step{index: s.index, op: s.op, in: []int{loIn, s.in[1], zeroBias, zp128, s.in[4]}, out: loAcc}
	compile := p.compileConv2D
	if depthwise {
		compile = p.compileDepthwise
	}
	hi, lo := compile(hiStep), compile(loStep)
	if hi == nil || lo == nil {
		return nil
	}
	si, so := s.in[0], s.out
	return func(st *state) bool {
		x := st.bufs[si].i64
		h, l := st.bufs[hiIn].i8, st.bufs[loIn].i8
		for i, v := range x[:len(h)] {
			h[i] = int8(v >> 8)
			l[i] = int8(v&255 - 128)
		}
		if !hi(st) || !lo(st) {
			return false
		}
		ah, al, o := st.bufs[hiAcc].i32, st.bufs[loAcc].i32, st.bufs[so].i64
		o = o[:len(ah)]
		for base := 0; base+OC <= len(o); base += OC {
			for oc := range OC {
				o[base+oc] = 256*int64(ah[base+oc]) + int64(al[base+oc]) + bias[oc]
			}
		}
		return true
	}
}

// compileRescale64 is RESCALE with an INT16 or INT48 input or an INT16 output (signed, zero
// points 0 as the specification requires for those types): the same per-channel plan and
// checks as compileRescale, on []int64 storage.
func (p *Program) compileRescale64(s *step) kernel {
	a := &s.op.Attr
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	mS, shS, izS, ozS := &p.slots[s.in[1]], &p.slots[s.in[2]], &p.slots[s.in[3]], &p.slots[s.in[4]]
	inT, outT := in.typ, out.typ
	okIn := inT == tosa.Int8 || inT == tosa.Int16 || inT == tosa.Int32 || inT == tosa.Int48
	okOut := outT == tosa.Int8 || outT == tosa.Int16 || outT == tosa.Int32
	if !okIn || !okOut || (inT != tosa.Int16 && inT != tosa.Int48 && outT != tosa.Int16) {
		return nil
	}
	if !mS.isConst || !shS.isConst || !izS.isConst || !ozS.isConst || a.InputUnsigned || a.OutputUnsigned {
		return nil
	}
	izp, ok1 := scalarOf(izS)
	ozp, ok2 := scalarOf(ozS)
	if !ok1 || !ok2 || (inT != tosa.Int8 && izp != 0) || (outT != tosa.Int8 && ozp != 0) ||
		a.RoundingMode != tosa.SingleRound || (a.Scale32 && inT == tosa.Int48) || (a.PerChannel && len(in.shape) < 1) {
		return nil // DOUBLE_ROUND and the ERROR_IF cases stay with tosa/ref
	}
	C := 1
	if a.PerChannel {
		C = in.shape[len(in.shape)-1]
	}
	mv, ok1 := intsOf(mS)
	sv, ok2 := intsOf(shS)
	if !ok1 || !ok2 || len(mv) < C || len(sv) < C {
		return nil
	}
	r := &rescalePlan{izp: izp, ozp: ozp, outBits: uint(outT.Bits())}
	r.outMin, r.outMax = outT.MinMax()
	for c := range C {
		m, sh := mv[c], sv[c]
		if m < 0 || sh < 2 || sh > 62 {
			return nil
		}
		rnd := int64(1) << (sh - 1)
		var lo, hi int64
		if a.Scale32 {
			lo, hi = max(math.MinInt32, -(int64(1)<<(sh-1))), min(int64(math.MaxInt32)+1, int64(1)<<(sh-1))
		} else {
			lo, hi = -(int64(1) << 47), int64(1)<<47
		}
		r.ch = append(r.ch, rescaleCh{mul: m, rndPos: rnd, rndNeg: rnd, lo: lo, hi: hi, shift: uint(sh)})
	}
	s.rescale = r
	si, so := s.in[0], s.out
	switch {
	case kindOf(inT) == kI8 && kindOf(outT) == kI64:
		return func(st *state) bool { return rescale64(st.bufs[si].i8, st.bufs[so].i64, r) }
	case kindOf(inT) == kI32 && kindOf(outT) == kI64:
		return func(st *state) bool { return rescale64(st.bufs[si].i32, st.bufs[so].i64, r) }
	case kindOf(inT) == kI64 && kindOf(outT) == kI8:
		return func(st *state) bool { return rescale64(st.bufs[si].i64, st.bufs[so].i8, r) }
	case kindOf(inT) == kI64 && kindOf(outT) == kI32:
		return func(st *state) bool { return rescale64(st.bufs[si].i64, st.bufs[so].i32, r) }
	default:
		return func(st *state) bool { return rescale64(st.bufs[si].i64, st.bufs[so].i64, r) }
	}
}

// rescale64 is rescaleRun's checked loop (every REQUIRE of apply_scale_32 / apply_scale_16
// tested per element) for any storage.
func rescale64[I int8 | int32 | int64, O int8 | int32 | int64](in []I, out []O, r *rescalePlan) bool {
	C := len(r.ch)
	out = out[:len(in)]
	for base := 0; base+C <= len(in); base += C {
		xs := in[base : base+C]
		os := out[base : base+C]
		for c, x := range xs {
			p := &r.ch[c]
			value := int64(x) - r.izp
			if value < p.lo || value >= p.hi {
				return false
			}
			res := (value*p.mul + p.rndPos) >> p.shift
			if res != int64(int32(res)) {
				return false
			}
			res += r.ozp
			if res != int64(int32(res)) {
				return false
			}
			os[c] = O(min(max(res, r.outMin), r.outMax))
		}
	}
	return true
}

// compileClamp64 is CLAMP on INT16.
func (p *Program) compileClamp64(s *step) kernel {
	a := &s.op.Attr
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if in.typ != tosa.Int16 || out.typ != tosa.Int16 {
		return nil
	}
	lo, ok1 := clampBound(a.ClampMin, in.typ)
	hi, ok2 := clampBound(a.ClampMax, in.typ)
	if !ok1 || !ok2 || hi < lo {
		return nil
	}
	si, so := s.in[0], s.out
	return func(st *state) bool {
		src := st.bufs[si].i64
		dst := st.bufs[so].i64[:len(src)]
		for i, v := range src {
			dst[i] = min(max(v, lo), hi)
		}
		return true
	}
}

// compileMaxPool64 is MAX_POOL2D on INT16.
func (p *Program) compileMaxPool64(s *step) kernel {
	in, out := &p.slots[s.in[0]], &p.slots[s.out]
	if in.typ != tosa.Int16 || out.typ != tosa.Int16 {
		return nil
	}
	g, ok := poolGeometry(&s.op.Attr, in, out)
	if !ok {
		return nil
	}
	si, so := s.in[0], s.out
	return func(st *state) bool { maxPool(g, st.bufs[si].i64, st.bufs[so].i64, math.MinInt16); return true }
}
