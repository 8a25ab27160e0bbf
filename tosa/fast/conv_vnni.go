package fast

import (
	le "encoding/binary"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// INT8 CONV2D with unsigned × signed byte dot products of four (AVX-512 VNNI VPDPBUSD on amd64;
// dotVNNIGo is the same computation in Go), or, in the signed variant of the same layout, signed
// × signed (NEON SDOT on arm64; dotSDOTGo in Go).
//
// With xu = x + 128 (x XOR 0x80, a uint8) and cz = input_zp + 128 ∈ [0, 255]:
//
//	Σ (x - input_zp)·w' = Σ (xu - cz)·w' = Σ xu·w' - cz·Σ w'        (w' = weight - weight_zp)
//
// Padding contributes 0 in the specification; the padded uint8 image holds cz there, so that
// (xu - cz) is 0 too and Σ w' runs over the whole kernel: a per-channel constant folded with
// the bias into corr[oc] = bias[oc] - cz·Σ_k w'[oc][k], added in the epilogue. The path needs
// every w' in [-128, 127] (always so for weight_zp = 0, the ExecuTorch Arm backend's symmetric
// weights). VPDPBUSD's products (|xu·w'| ≤ 255·128) and sums of four are exact in int32 and its
// accumulation wraps modulo 2^32, as does adding corr; the compile-time bound of compileConv2D
// proves that the specification's sum (every partial sum) fits int32, so the wrapped result
// equals it bit for bit.
//
// Signed variant (SDOT multiplies signed by signed bytes): the image holds x itself and the
// padding holds input_zp, and corr[oc] = bias[oc] - input_zp·Σ_k w'[oc][k] by the same
// argument; products (|x·w'| ≤ 128·128) and sums of four are exact in int32, the accumulation
// wraps, and the same compile-time bound makes the wrapped result exact.
//
// Layout: when dilation_x = 1 and KW·IC is a multiple of 4 the micro-kernel reads the padded
// image directly (per kernel row ky one contiguous run of KW·IC bytes per output pixel, tiles of
// up to 12 pixels of one output row); otherwise rows are gathered (im2col) into tiles of 12
// pixels with K rounded up to a multiple of 4. Weights are packed per group of 32 (or 16) output
// channels as [K/4][group blocks][16 channels][4 k]. With a fused RESCALE whose REQUIREs are
// proven for the accumulator's whole range, the epilogue applies it with AVX-512 (requantRows).

const vnniMR = 12 // output pixels per micro-kernel tile

type vnniGroup struct {
	oc0, nb int    // nb = 0: the kernel for at most 4 channels (dotOC4)
	w       []int8 // [Kq][nb][16][4], or for nb = 0 [Kq/4][4 channels][4 quads][4]
}

type vnniPlan struct {
	signed bool  // the signed variant (SDOT): the image holds x, not x + 128
	cz     uint8 // the padding value of the image: input_zp + 128, or input_zp as a byte when signed
	direct bool  // read the padded image directly (no im2col)
	Hp, Wp int   // padded image size
	ICp    int   // channels per pixel of the padded image (IC, or IC rounded up to 4 for direct reads)
	Kq     int   // quads of k per output pixel
	groups []vnniGroup
	corr   []int32 // [OCp]: bias - cz·Σw', wrapped to int32
	prm    []int64 // fused RESCALE parameters [OCp/16][8][8] (see requantAVX512), or nil
	single bool    // prm's rounding does not depend on the sign (singleRound)
	prmN   []int64 // the signed variant's fused RESCALE parameters for requantNEON ([OC/4][14]), or nil
	ozp    int32
	// the 4-channel kernel's epilogue: parameters and correction of 4 pixels × 4 lanes, and
	// the byte shuffle that packs 4 pixels' OC channels
	prm4  []int64
	corr4 []int32
	shuf4 [16]byte
}

// newVNNIPlan prepares the VNNI path (signed: its SDOT variant); wq holds
// w' = weight - weight_zp as [OC][K]. It returns nil when some w' does not fit int8.
func newVNNIPlan(c *convPlan, wq []int64, signed bool) *vnniPlan {
	for _, x := range wq {
		if x < -128 || x > 127 {
			return nil
		}
	}
	v := &vnniPlan{signed: signed, cz: uint8(int(c.izp) + 128), Kq: (c.K + 3) / 4, ICp: c.IC}
	zc := int64(c.izp) + 128 // the zero point in the image's encoding
	if signed {
		v.cz, zc = uint8(int8(c.izp)), int64(c.izp)
	}
	v.direct = c.dx == 1
	if v.direct && (c.KW*c.IC)%4 != 0 {
		// extra channels (weights 0) make each kernel row's run a whole number of quads
		v.ICp = (c.IC + 3) / 4 * 4
	}
	if v.direct {
		v.Kq = c.KH * c.KW * v.ICp / 4
	}
	// kOf maps a packed k (in the padded channel layout) to the weight's k, or -1
	kOf := func(k int) int {
		if !v.direct {
			if k < c.K {
				return k
			}
			return -1
		}
		t, ic := k/v.ICp, k%v.ICp
		if ic >= c.IC {
			return -1
		}
		return t*c.IC + ic
	}
	v.Hp = max(c.padT+upsized(c.IH, c.upY), (c.OH-1)*c.sy+(c.KH-1)*c.dy+1)
	v.Wp = max(c.padL+upsized(c.IW, c.upX), (c.OW-1)*c.sx+(c.KW-1)*c.dx+1)
	v.corr = make([]int32, c.OCp)
	for oc := range c.OC {
		s := int64(0)
		for _, x := range wq[oc*c.K : (oc+1)*c.K] {
			s += x
		}
		v.corr[oc] = int32(int64(c.bias[oc]) - zc*s)
	}
	if v.direct && c.OC <= 4 && (c.KW*v.ICp/4)%4 == 0 {
		// few output channels: 4 channels × 4 quads per vector instead of 16 channels
		g := vnniGroup{w: make([]int8, v.Kq*16)}
		for q := range v.Kq {
			for oc := range c.OC {
				for e := range 4 {
					if k := kOf(4*q + e); k >= 0 {
						g.w[(q/4)*64+oc*16+(q%4)*4+e] = int8(wq[oc*c.K+k])
					}
				}
			}
		}
		v.groups = append(v.groups, g)
		return v
	}
	for oc0 := 0; oc0 < c.OC; oc0 += 32 {
		nb := 2
		if c.OC-oc0 <= 16 {
			nb = 1
		}
		g := vnniGroup{oc0: oc0, nb: nb, w: make([]int8, v.Kq*nb*64)}
		for j := range v.Kq {
			for b := range nb {
				for ch := range 16 {
					oc := oc0 + 16*b + ch
					if oc >= c.OC {
						continue
					}
					for e := range 4 {
						if k := kOf(4*j + e); k >= 0 {
							g.w[(j*nb+b)*64+ch*4+e] = int8(wq[oc*c.K+k])
						}
					}
				}
			}
		}
		v.groups = append(v.groups, g)
	}
	return v
}

// fusePost prepares the vectorized RESCALE epilogue when c.post's REQUIREs hold for every
// accumulator value within the compile-time bounds (c.bound), so that no check is needed.
func (v *vnniPlan) fusePost(c *convPlan) {
	r := c.post
	if r == nil || r.izp != 0 || r.inUnsigned || r.outUnsigned || r.outMin != -128 || r.outMax != 127 {
		return
	}
	prm := r.vecParams(c.OC, c.OCp, func(oc int, p *rescaleCh) bool {
		B := c.bound[oc]
		rmax := max(abs64(p.rndPos), abs64(p.rndNeg))
		return -B >= p.lo && B < p.hi && (B*p.mul+rmax)>>p.shift+1+abs64(r.ozp) <= math.MaxInt32
	})
	if prm == nil {
		return
	}
	v.prm, v.single, v.ozp = prm, singleRound(prm), int32(r.ozp)
	if v.signed {
		// per group of 4 channels: mul as 4 int32, then -shift, rndPos, rndDelta per 2 lanes
		v.prmN = make([]int64, c.OC/4*14)
		for oc := range c.OC / 4 * 4 {
			p := r.chOf(oc)
			g, l := oc/4, oc%4
			q := v.prmN[g*14:]
			q[l/2] |= int64(uint64(uint32(p.mul)) << (32 * (l % 2)))
			h := 2 * (l / 2) // lanes 0-1, 2-3
			q[2+h+l%2], q[6+h+l%2], q[10+h+l%2] = -int64(p.shift), p.rndPos, p.rndDelta
		}
	}
	if v.groups[0].nb == 0 {
		// the 4-channel kernel's rows are 4 int32 apart: 4 pixels per 16 lanes
		chOf := func(l int) int {
			if l%4 < c.OC {
				return l % 4
			}
			return -1
		}
		v.prm4 = r.vecParamsMap(16, chOf, func(int, *rescaleCh) bool { return true })
		v.corr4 = make([]int32, 16)
		for l := range v.corr4 {
			if ch := chOf(l); ch >= 0 {
				v.corr4[l] = v.corr[ch]
			}
		}
		for p := range 4 {
			for j := range c.OC {
				v.shuf4[p*c.OC+j] = byte(4*p + j)
			}
		}
		for i := 4 * c.OC; i < 16; i++ {
			v.shuf4[i] = 0x80
		}
	}
}

// chOf returns the parameters of channel c (the only ones when per-tensor).
func (r *rescalePlan) chOf(c int) *rescaleCh {
	if len(r.ch) > 1 {
		return &r.ch[c]
	}
	return &r.ch[0]
}

// requantSafeGo applies a proven-safe RESCALE (input_zp 0, int8 output; fusePost's conditions)
// to rows × [oc0, oc) accumulators c + corr (int32, wrapping), as rescaleRun's safe path does.
func requantSafeGo(c []int32, ldc, rows int, corr []int32, r *rescalePlan, oc0, oc int, out []int8, ldo int) {
	for i := range rows {
		for ch := oc0; ch < oc; ch++ {
			p := r.chOf(ch)
			value := int64(c[i*ldc+ch] + corr[ch])
			rnd := p.rndPos + (value>>63)&p.rndDelta
			res := (value*p.mul+rnd)>>(p.shift&63) + r.ozp
			out[i*ldo+ch] = int8(min(max(res, r.outMin), r.outMax))
		}
	}
}

// vecParams lays out the parameters of n channels (padded to np, a multiple of 16) for
// requantAVX512; channel c uses r.ch[c] (or r.ch[0] when per-tensor). It returns nil unless
// safe(c, params) holds for every channel.
func (r *rescalePlan) vecParams(n, np int, safe func(c int, p *rescaleCh) bool) []int64 {
	return r.vecParamsMap(np, func(c int) int {
		if c < n {
			return c
		}
		return -1
	}, safe)
}

// vecParamsMap is vecParams with lane l holding channel chOf(l) (-1: unused lane).
func (r *rescalePlan) vecParamsMap(np int, chOf func(l int) int, safe func(c int, p *rescaleCh) bool) []int64 {
	prm := make([]int64, np/16*64)
	for lane := range np {
		blk, l := lane/16, lane%16
		i, par := l/2, l%2
		set := func(vec int, x int64) { prm[blk*64+(2*vec+par)*8+i] = x }
		c := chOf(lane)
		if c < 0 {
			set(1, 2)
			continue
		}
		p := &r.ch[0]
		if len(r.ch) > 1 {
			p = &r.ch[c]
		}
		if p.mul > math.MaxInt32 || !safe(c, p) {
			return nil
		}
		set(0, p.mul)
		set(1, int64(p.shift))
		set(2, p.rndPos)
		set(3, p.rndDelta)
	}
	return prm
}

// singleRound reports whether every rounding constant of prm is the same for negative and
// non-negative values (the rndNeg - rndPos vectors are 0).
func singleRound(prm []int64) bool {
	for b := 0; b < len(prm); b += 64 {
		for _, x := range prm[b+48 : b+64] {
			if x != 0 {
				return false
			}
		}
	}
	return true
}

// upsized is the size of n samples with u-1 zeros inserted between neighbours.
func upsized(n, u int) int {
	if n == 0 {
		return 0
	}
	return (n-1)*max(u, 1) + 1
}

// xor80Go stores x + 128 as uint8 (x XOR 0x80) for each int8 x.
func xor80Go(dst []byte, src []int8) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(src))), len(src))
	dst = dst[:len(s)]
	i := 0
	for ; i+8 <= len(s); i += 8 {
		le.LittleEndian.PutUint64(dst[i:], le.LittleEndian.Uint64(s[i:])^0x8080808080808080)
	}
	for ; i < len(s); i++ {
		dst[i] = s[i] ^ 0x80
	}
}

func fillBytes(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// runVNNI is run for the VNNI path.
func (c *convPlan) runVNNI(in []int8, out []int32, post []int8, scr *scratch) bool {
	v := c.v
	P := c.N * c.OH * c.OW
	if P == 0 || c.OC == 0 {
		return post == nil || c.post.apply(out, post)
	}
	IC, ICp := c.IC, v.ICp
	// the padded uint8 image: the border (padding value cz) is written once per scratch, the
	// interior on every run
	nImg := c.N * v.Hp * v.Wp * ICp
	var tiles, tilesRow int
	if v.direct {
		tilesRow = (c.OW + vnniMR - 1) / vnniMR
		tiles = c.N * c.OH * tilesRow
	} else {
		tiles = (P + vnniMR - 1) / vnniMR
	}
	nw := min(scr.workers, tiles, P*c.K*c.OC/(1<<17)+1)
	rowA := 4 * v.Kq
	if v.direct {
		rowA = 0
	}
	bs := scr.bytes(nImg + nw*vnniMR*rowA)
	xp := bs[:nImg]
	if !scr.u8ok {
		fillBytes(xp, v.cz)
		scr.u8ok = true
	}
	uy, ux := max(c.upY, 1), max(c.upX, 1)
	flip := byte(0x80) // x + 128 = x XOR 0x80; the signed variant stores x
	if v.signed {
		flip = 0
	}
	for n := range c.N {
		for iy := range c.IH {
			src := in[(n*c.IH+iy)*c.IW*IC : (n*c.IH+iy+1)*c.IW*IC]
			y := c.padT + iy*uy
			dst := xp[((n*v.Hp+y)*v.Wp+c.padL)*ICp : ((n*v.Hp+y)*v.Wp+c.padL+upsized(c.IW, ux))*ICp]
			if ICp == IC && ux == 1 {
				if v.signed {
					copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(src))), len(src)))
				} else {
					xor80(dst, src)
				}
				continue
			}
			for ix := range c.IW {
				d, s := dst[ix*ux*ICp:ix*ux*ICp+IC], src[ix*IC:ix*IC+IC]
				for i, x := range s {
					d[i] = byte(x) ^ flip
				}
			}
		}
	}
	C := scr.int32s(nw * vnniMR * c.OCp)
	if nw <= 1 {
		return c.tilesVNNI(xp, bs[nImg:], C, out, post, 0, tiles, tilesRow)
	}
	var wg sync.WaitGroup
	oks := make([]bool, nw)
	for t := range nw {
		t0, t1 := tiles*t/nw, tiles*(t+1)/nw
		A := bs[nImg+t*vnniMR*rowA : nImg+(t+1)*vnniMR*rowA]
		Ct := C[t*vnniMR*c.OCp : (t+1)*vnniMR*c.OCp]
		wg.Go(func() { oks[t] = c.tilesVNNI(xp, A, Ct, out, post, t0, t1, tilesRow) })
	}
	wg.Wait()
	return !slices.Contains(oks, false)
}

// tilesVNNI computes tiles [t0, t1): A is the im2col scratch of one tile, C its accumulators.
func (c *convPlan) tilesVNNI(xp, A []byte, C []int32, out []int32, post []int8, t0, t1, tilesRow int) bool {
	v := c.v
	ok := true
	P := c.N * c.OH * c.OW
	IC, OC, OCp := c.IC, c.OC, c.OCp
	rowA := 4 * v.Kq
tiles:
	for t := t0; t < t1; t++ {
		var p0, rows, aOff, lda, segs, segStride, nq int
		a := xp
		if v.direct {
			ri := t / tilesRow
			ox0 := (t % tilesRow) * vnniMR
			rows = min(vnniMR, c.OW-ox0)
			n, oy := ri/c.OH, ri%c.OH
			p0 = ri*c.OW + ox0
			aOff = ((n*v.Hp+oy*c.sy)*v.Wp + ox0*c.sx) * v.ICp
			lda, segs, segStride, nq = c.sx*v.ICp, c.KH, c.dy*v.Wp*v.ICp, c.KW*v.ICp/4
		} else {
			p0 = t * vnniMR
			rows = min(vnniMR, P-p0)
			for r := range rows {
				p := p0 + r
				n, rem := p/(c.OH*c.OW), p%(c.OH*c.OW)
				oy, ox := rem/c.OW, rem%c.OW
				row := A[r*rowA : (r+1)*rowA]
				k := 0
				for ky := range c.KH {
					base := (n*v.Hp + oy*c.sy + ky*c.dy) * v.Wp
					if c.dx == 1 {
						k += copy(row[k:k+c.KW*IC], xp[(base+ox*c.sx)*IC:])
						continue
					}
					for kx := range c.KW {
						k += copy(row[k:k+IC], xp[(base+ox*c.sx+kx*c.dx)*IC:])
					}
				}
				clear(row[k:])
			}
			a, lda, segs, nq = A, rowA, 1, v.Kq
		}
		ldC := OCp
		for _, g := range v.groups {
			if g.nb == 0 {
				ldC = 4
				if v.signed {
					dotSDOTOC4(rows, a, aOff, lda, segs, segStride, nq, g.w, C, ldC)
					continue
				}
				dotOC4(rows, a, aOff, lda, segs, segStride, nq, g.w, C, ldC)
				if post != nil && v.prm4 != nil && requantOC4(C, rows, v.corr4, v.prm4, &v.shuf4, OC, v.ozp, post[p0*OC:]) {
					continue tiles
				}
				continue
			}
			if v.signed {
				dotSDOT(rows, g.nb, a, aOff, lda, segs, segStride, nq, g.w, C, g.oc0, OCp)
				continue
			}
			dotVNNI(rows, g.nb, a, aOff, lda, segs, segStride, nq, g.w, C, g.oc0, OCp)
		}
		if ldC == OCp && post != nil && v.prm != nil && requantRows(C, OCp, rows, v.corr, v.prm, v.single, OC, v.ozp, post[p0*OC:], OC) {
			continue
		}
		if ldC == OCp && post != nil && v.prmN != nil && requantRowsN(C, OCp, rows, v.corr, v.prmN, c.post, OC, post[p0*OC:], OC) {
			continue
		}
		corr := v.corr[:OC]
		for r := range rows {
			src := C[r*ldC : r*ldC+OC]
			for oc, x := range corr {
				src[oc] += x
			}
			if post != nil {
				if ok {
					ok = c.post.apply(src, post[(p0+r)*OC:(p0+r+1)*OC])
				}
				continue
			}
			copy(out[(p0+r)*OC:(p0+r+1)*OC], src)
		}
	}
	return ok
}

// dotVNNIGo is the micro-kernel in Go: for row i < rows and channel ch < 16·nb,
//
//	c[cOff + i·ldc + ch] = Σ_{s<segs} Σ_{q<nq} Σ_{e<4} uint8(a[aOff + s·segStride + i·lda + 4q + e]) · w[((s·nq+q)·nb + ch/16)·64 + (ch%16)·4 + e]
//
// in wrapping int32 arithmetic, like VPDPBUSD.
func dotVNNIGo(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	dot4Go[uint8](rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
}

// dotSDOTGo is dotVNNIGo with a read as int8 (signed × signed, like SDOT).
func dotSDOTGo(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	dot4Go[int8](rows, nb, a, aOff, lda, segs, segStride, nq, w, c, cOff, ldc)
}

// dot4Go is dotVNNIGo (T = uint8) and dotSDOTGo (T = int8): the bytes of a are read as T.
func dot4Go[T uint8 | int8](rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
	for i := range rows {
		var acc [32]int32
		for s := range segs {
			row := a[aOff+s*segStride+i*lda : aOff+s*segStride+i*lda+4*nq]
			ws := w[s*nq*nb*64 : (s+1)*nq*nb*64]
			for q := range nq {
				x := row[4*q : 4*q+4]
				x0, x1, x2, x3 := int32(T(x[0])), int32(T(x[1])), int32(T(x[2])), int32(T(x[3]))
				for ch := range 16 * nb {
					wv := ws[(q*nb+ch/16)*64+(ch%16)*4:]
					acc[ch] += x0*int32(wv[0]) + x1*int32(wv[1]) + x2*int32(wv[2]) + x3*int32(wv[3])
				}
			}
		}
		copy(c[cOff+i*ldc:cOff+i*ldc+16*nb], acc[:16*nb])
	}
}

// dotOC4Go is the micro-kernel for at most 4 channels in Go: for row i < rows and channel
// j < 4, c[i·ldc + j] = Σ_{s,q,e} uint8(a[aOff + s·segStride + i·lda + 4q + e]) ·
// w[((s·nq + q)/4)·64 + j·16 + (q%4)·4 + e] (nq a multiple of 4), in wrapping int32 arithmetic.
func dotOC4Go(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	dotOC4GoT[uint8](rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
}

// dotSDOTOC4Go is dotOC4Go with a read as int8.
func dotSDOTOC4Go(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	dotOC4GoT[int8](rows, a, aOff, lda, segs, segStride, nq, w, c, ldc)
}

func dotOC4GoT[T uint8 | int8](rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
	for i := range rows {
		var acc [4]int32
		for s := range segs {
			row := a[aOff+s*segStride+i*lda : aOff+s*segStride+i*lda+4*nq]
			for q := range nq {
				g := s*nq + q
				ws := w[(g/4)*64+(g%4)*4:]
				x := row[4*q : 4*q+4]
				x0, x1, x2, x3 := int32(T(x[0])), int32(T(x[1])), int32(T(x[2])), int32(T(x[3]))
				for j := range acc {
					wj := ws[j*16 : j*16+4]
					acc[j] += x0*int32(wj[0]) + x1*int32(wj[1]) + x2*int32(wj[2]) + x3*int32(wj[3])
				}
			}
		}
		copy(c[i*ldc:i*ldc+4], acc[:])
	}
}
