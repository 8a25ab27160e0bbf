package kern

import (
	"math"
	"sync"
)

// convGeom is a convolution with an explicit output grid: input C x H x W, weight
// O x C/G x KH x KW, output O x OH x OW. The output grid is explicit (not derived from the other
// fields) because a transposed convolution's input grid is the output grid of its AsConv()
// convolution, which with output padding need not be what OutHW would compute.
type convGeom struct {
	C, H, W        int
	O, OH, OW      int
	KH, KW         int
	SH, SW         int
	PH, PW         int
	DH, DW         int
	G              int
	cg, og, kk, ck int // C/G, O/G, KH*KW, cg*kk
}

func newGeom(p Conv2dParams, oh, ow int) convGeom {
	g := convGeom{C: p.C, H: p.H, W: p.W, O: p.O, OH: oh, OW: ow, KH: p.KH, KW: p.KW,
		SH: p.StrideH, SW: p.StrideW, PH: p.PadH, PW: p.PadW, DH: p.DilH, DW: p.DilW, G: p.Groups}
	g.cg, g.og, g.kk = g.C/g.G, g.O/g.G, g.KH*g.KW
	g.ck = g.cg * g.kk
	return g
}

func (g *convGeom) inSize() int  { return g.C * g.H * g.W }
func (g *convGeom) outSize() int { return g.O * g.OH * g.OW }

func (g *convGeom) depthwise() bool { return g.G == g.C && g.G == g.O }

// direct1x1 reports whether the input itself is the column matrix.
func (g *convGeom) direct1x1() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0 &&
		g.OH == g.H && g.OW == g.W
}

// rowRange returns the j in [jlo, jhi) within [0, n) for which 0 <= iw0 + j*s < w
// (0, 0 when there are none).
func rowRange(iw0, s, w, n int) (int, int) {
	jlo := 0
	if iw0 < 0 {
		jlo = (-iw0 + s - 1) / s
	}
	jhi := 0
	if iw0 < w {
		jhi = (w-1-iw0)/s + 1
	}
	jlo, jhi = min(jlo, n), min(jhi, n)
	if jhi <= jlo {
		return 0, 0 // empty
	}
	return jlo, jhi
}

// addRow does xc[ih][iw0 + j*s] += d[j] for the positions inside the plane.
func addRow(d, xc []float32, ih, iw0, s, h, w int) {
	if ih < 0 || ih >= h {
		return
	}
	row := xc[ih*w : ih*w+w]
	jlo, jhi := rowRange(iw0, s, w, len(d))
	if jhi == 0 {
		return
	}
	if s == 1 {
		dst := row[iw0+jlo : iw0+jhi]
		src := d[jlo:jhi]
		for j := range dst {
			dst[j] += src[j]
		}
		return
	}
	for j := jlo; j < jhi; j++ {
		row[iw0+j*s] += d[j]
	}
}

// addCol is the adjoint of fillCol: image xg += d placed as row r of the column matrix.
func (g *convGeom) addCol(d, xg []float32, r, p0 int) {
	c := r / g.kk
	rem := r - c*g.kk
	kh := rem / g.KW
	kw := rem - kh*g.KW
	hw := g.H * g.W
	xc := xg[c*hw : c*hw+hw]
	oh, ow := p0/g.OW, p0%g.OW
	ihOff, iwOff := kh*g.DH-g.PH, kw*g.DW-g.PW
	for j := 0; j < len(d); {
		seg := min(len(d)-j, g.OW-ow)
		addRow(d[j:j+seg], xc, oh*g.SH+ihOff, ow*g.SW+iwOff, g.SW, g.H, g.W)
		j += seg
		oh, ow = oh+1, 0
	}
}

// padImage copies the C x H x W image x into dst as C x (H+2PH) x (W+2PW) with a zero border
// (extended at the bottom/right as far as the output grid reaches), so that every tap of every
// output pixel is a valid index and im2col needs no bounds checks. It returns the padded sizes.
func (g *convGeom) padImage(x, dst []float32, ch int) (hp, wp int) {
	hp, wp = g.paddedHW()
	dst = dst[:ch*hp*wp]
	for c := 0; c < ch; c++ {
		pl := dst[c*hp*wp : (c+1)*hp*wp]
		clear(pl[:g.PH*wp])
		padRows(pl[g.PH*wp:], x[c*g.H*g.W:], g.H, g.W, wp, g.PW)
		clear(pl[(g.PH+g.H)*wp:])
	}
	return hp, wp
}

// padRowsGeneric is padRows in Go.
func padRowsGeneric(dst, src []float32, rows, w, wp, pw int) {
	for i := 0; i < rows; i++ {
		row := dst[i*wp : (i+1)*wp]
		clear(row[:pw])
		copy(row[pw:], src[i*w:(i+1)*w])
		clear(row[pw+w:])
	}
}

// paddedHW is the size of the zero-padded image: the padding on both sides, extended at the
// bottom/right as far as the output grid reaches.
func (g *convGeom) paddedHW() (hp, wp int) {
	return max(g.H+2*g.PH, (g.OH-1)*g.SH+(g.KH-1)*g.DH+1), max(g.W+2*g.PW, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
}

func (g *convGeom) paddedSize(ch int) int {
	hp, wp := g.paddedHW()
	return ch * hp * wp
}

// im2colB packs the column matrix (ck x OH*OW) of one group of one image, read from the padded
// image xp (cg x hp x wp), as op(B).
type im2colB struct {
	g      *convGeom
	xp     []float32
	hp, wp int
}

// rowBase returns the offset in the padded group image of tap r = (c, kh, kw) for output pixel 0.
func (b *im2colB) rowBase(r int) int {
	g := b.g
	c := r / g.kk
	rem := r - c*g.kk
	kh := rem / g.KW
	kw := rem - kh*g.KW
	return (c*b.hp+kh*g.DH)*b.wp + kw*g.DW
}

func (b im2colB) packB(pc, jc, kc, nc int, dst []float32) {
	g := b.g
	var bases [gemmKC]int
	for l := 0; l < kc; l++ {
		bases[l] = b.rowBase(pc + l)
	}
	xp := b.xp
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		panel := dst[jr*kc : jr*kc+gemmNR*kc]
		p0 := jc + jr
		oh, ow := p0/g.OW, p0%g.OW
		if g.SW == 1 && nr == gemmNR {
			// The common case: the panel's pixels are two runs of 8 consecutive pixels of an
			// output row each (16 of one row, or 8 of two rows as in an 8-wide image), so
			// every tap reads two contiguous runs of the padded image.
			oh1, ow1 := (p0+8)/g.OW, (p0+8)%g.OW
			if ow+8 <= g.OW && ow1+8 <= g.OW {
				off0 := oh*g.SH*b.wp + ow
				off1 := oh1*g.SH*b.wp + ow1
				copyRows16(panel, xp[off0:], bases[:kc], off1-off0)
				continue
			}
		}
		// General case: per pixel offsets.
		var offs [gemmNR]int
		for j := 0; j < nr; j++ {
			offs[j] = oh*g.SH*b.wp + ow*g.SW
			if ow++; ow == g.OW {
				oh, ow = oh+1, 0
			}
		}
		for l := 0; l < kc; l++ {
			d := panel[l*gemmNR : l*gemmNR+gemmNR]
			src := xp[bases[l]:]
			for j := 0; j < nr; j++ {
				d[j] = src[offs[j]]
			}
			clear(d[nr:])
		}
	}
}

// im2colTB packs the transposed column matrix (OH*OW x ck) of one group of one image, read from
// the padded image, as op(B).
type im2colTB struct{ im2colB }

func (b im2colTB) packB(pc, jc, kc, nc int, dst []float32) {
	g := b.g
	xp := b.xp
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		panel := dst[jr*kc : jr*kc+gemmNR*kc]
		if g.SW == 1 {
			// 16 taps at once: each output-row run of pixels is a contiguous run of the padded
			// image for every tap, transposed into the panel. Columns past nr repeat the last
			// tap: they only feed columns of C that are never stored.
			var bases [gemmNR]int
			for j := range bases {
				bases[j] = b.rowBase(jc + jr + min(j, nr-1))
			}
			oh, ow := pc/g.OW, pc%g.OW
			for l := 0; l < kc; {
				seg := min(kc-l, g.OW-ow)
				transposeRows16(panel[l*gemmNR:], xp[oh*g.SH*b.wp+ow:], &bases, seg)
				l += seg
				oh, ow = oh+1, 0
			}
			continue
		}
		for j := 0; j < gemmNR; j++ {
			if j >= nr {
				for l := 0; l < kc; l++ {
					panel[l*gemmNR+j] = 0
				}
				continue
			}
			base := b.rowBase(jc + jr + j)
			oh, ow := pc/g.OW, pc%g.OW
			for l := 0; l < kc; {
				seg := min(kc-l, g.OW-ow)
				src := xp[base+oh*g.SH*b.wp+ow*g.SW:]
				if g.SW == 1 {
					src = src[:seg]
					for t, v := range src {
						panel[(l+t)*gemmNR+j] = v
					}
				} else {
					for t := 0; t < seg; t++ {
						panel[(l+t)*gemmNR+j] = src[t*g.SW]
					}
				}
				l += seg
				oh, ow = oh+1, 0
			}
		}
	}
}

// convScratch is per-worker scratch memory for convolutions.
type convScratch struct {
	col, pad, a []float32
	offs, boffs []int
}

func (s *convScratch) aBuf(n int) []float32 {
	if cap(s.a) < n {
		s.a = make([]float32, n)
	}
	return s.a[:n]
}

func (s *convScratch) boffsBuf(n int) []int {
	if cap(s.boffs) < n {
		s.boffs = make([]int, n)
	}
	return s.boffs[:n]
}

func (s *convScratch) offsBuf(n int) []int {
	if cap(s.offs) < n {
		s.offs = make([]int, n)
	}
	return s.offs[:n]
}

func (s *convScratch) padBuf(n int) []float32 {
	if cap(s.pad) < n {
		s.pad = make([]float32, n)
	}
	return s.pad[:n]
}

var convPool = sync.Pool{New: func() any { return new(convScratch) }}

// scratchPools recycle the per-call float buffers of the convolutions (packed weights, flipped
// weights, weight-gradient partials), one pool per length, so that a training step does not
// allocate them anew.
var scratchPools sync.Map // int -> *sync.Pool

// getScratch returns a buffer of n floats with arbitrary contents.
func getScratch(n int) []float32 {
	if p, ok := scratchPools.Load(n); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]float32); ok {
			return *b
		}
	}
	return make([]float32, n)
}

// putScratch hands a buffer from getScratch back (nothing may use it afterwards).
func putScratch(b []float32) {
	p, _ := scratchPools.LoadOrStore(len(b), new(sync.Pool))
	p.(*sync.Pool).Put(&b)
}

func (s *convScratch) colBuf(n int) []float32 {
	if cap(s.col) < n {
		s.col = make([]float32, n)
	}
	return s.col[:n]
}

// forImages runs fn over images [0, n), parallel across images when there are enough of them
// (fn gets inner=false: run single-threaded inside) or sequentially with inner=true (fn may
// parallelise inside each image).
func forImages(n, threads int, fn func(i int, inner bool)) {
	if n >= threads && threads > 1 {
		ParallelForDynamic(n, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				fn(i, false)
			}
		})
		return
	}
	for i := 0; i < n; i++ {
		fn(i, true)
	}
}

// convFwd computes y = conv(x, w) + b (b may be nil) for n images; accumulate=true adds into y
// instead of overwriting it.
func convFwd(g *convGeom, n int, x, w, b, y []float32, accumulate, relu bool) {
	if g.depthwise() {
		depthwiseFwd(g, n, x, w, b, y, accumulate)
		if relu {
			ParallelFor(len(y), 1<<14, func(lo, hi int) { ReLUInPlace(y[lo:hi]) })
		}
		return
	}
	in, out := g.inSize(), g.outSize()
	var packedW []float32 // for fwdIndirect: each group's weights packed once for all images
	if g.indirectManyOK() {
		packedW = g.packWeights(w)
		defer putScratch(packedW)
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	forImages(n, Threads(), func(i int, inner bool) {
		g.fwdImage(x[i*in:(i+1)*in], w, b, packedW, y[i*out:(i+1)*out], beta, inner, relu)
	})
}

// columns returns the column matrix (ck x OH*OW) of one group's image xg as a GEMM B operand:
// the image itself for a direct 1x1 convolution, else the image padded into s's buffer and read
// as im2col; trans gives its transpose (OH*OW x ck).
func (g *convGeom) columns(xg []float32, s *convScratch, trans bool) bPacker {
	p := g.OH * g.OW
	if g.direct1x1() {
		return matB{trans, xg, p}
	}
	xp := s.padBuf(g.paddedSize(g.cg))
	hp, wp := g.padImage(xg, xp, g.cg)
	if trans {
		return im2colTB{im2colB{g, xp, hp, wp}}
	}
	return im2colB{g, xp, hp, wp}
}

// fwdImage computes one image of convFwd: yn = conv(xn, w) + b (+ yn when beta = 1), then ReLU
// when relu. packedW (packWeights, may be nil) enables fwdIndirect; inner lets the GEMM split
// across goroutines.
func (g *convGeom) fwdImage(xn, w, b, packedW, yn []float32, beta float32, inner, relu bool) {
	p := g.OH * g.OW
	s := convPool.Get().(*convScratch)
	for gi := 0; gi < g.G; gi++ {
		bp := g.columns(xn[gi*g.cg*g.H*g.W:], s, false)
		var rb []float32
		if b != nil {
			rb = b[gi*g.og : (gi+1)*g.og] // added by the micro-kernel, no extra pass over y
		}
		if ib, ok := bp.(im2colB); ok && g.indirectOK() {
			g.fwdFewOutputs(ib, w[gi*g.og*g.ck:(gi+1)*g.og*g.ck], rb, beta, yn[gi*g.og*p:(gi+1)*g.og*p], s)
			continue
		}
		if ib, ok := bp.(im2colB); ok && packedW != nil {
			ps := len(packedW) / g.G
			g.fwdIndirect(ib, packedW[gi*ps:(gi+1)*ps], rb, beta, yn[gi*g.og*p:(gi+1)*g.og*p], s, inner)
			continue
		}
		sgemm(false, g.og, p, g.ck, 1, w[gi*g.og*g.ck:], g.ck, bp, beta, yn[gi*g.og*p:], p, rb, inner)
	}
	convPool.Put(s)
	if relu { // while the image's output is still in cache
		ReLUInPlace(yn)
	}
}

// ReLUInPlace sets y[i] = max(y[i], 0) with NaN kept and -0 becoming +0 (PyTorch's relu),
// branch-free (the sign test is unpredictable).
func ReLUInPlace(y []float32) {
	y = y[reluFast(y):]
	for i, v := range y {
		var m uint32
		if !(v <= 0) { // v > 0 or NaN, one comparison
			m = ^uint32(0)
		}
		y[i] = math.Float32frombits(math.Float32bits(v) & m)
	}
}

// AddMasked adds g into dx where mask is set: dx[i] = mask[i] ? dx[i] + g[i] : dx[i] (dx
// itself elsewhere, not dx + 0, which would turn -0 into +0). Branch-free; AVX on amd64.
func AddMasked(dx, g []float32, mask []bool) {
	g, mask = g[:len(dx)], mask[:len(dx)]
	k := addMaskedFast(dx, g, mask)
	for i, d := range dx[k:] {
		var m uint32
		if mask[k+i] {
			m = ^uint32(0)
		}
		sum := math.Float32bits(d + g[k+i])
		dx[k+i] = math.Float32frombits(sum&m | math.Float32bits(d)&^m)
	}
}

// ReLUTo sets y[i] = max(x[i], 0) as ReLUInPlace does (NaN kept, -0 becomes +0).
func ReLUTo(x, y []float32) {
	y = y[:len(x)]
	k := reluToFast(x, y)
	for i, v := range x[k:] {
		var m uint32
		if !(v <= 0) {
			m = ^uint32(0)
		}
		y[k+i] = math.Float32frombits(math.Float32bits(v) & m)
	}
}

// ReLUBackward adds to dx the gradient of ReLU: dx[i] += g[i] where y[i] > 0 (y the ReLU's
// output), else += +0, which leaves dx unchanged except that -0 becomes +0, as PyTorch's
// where(y > 0, g, 0) accumulated into a zero gradient does. Branch-free; AVX on amd64.
func ReLUBackward(y, g, dx []float32) {
	g, dx = g[:len(y)], dx[:len(y)]
	k := reluBackwardFast(y, g, dx)
	y, g, dx = y[k:], g[k:], dx[k:]
	for i, v := range y {
		dx[i] += math.Float32frombits(math.Float32bits(g[i]) & positiveMask(v))
	}
}

// positiveMask is all ones when v > 0, else 0 (branch-free selects for the ReLU gradient).
func positiveMask(v float32) uint32 {
	var m uint32
	if v > 0 {
		m = ^uint32(0)
	}
	return m
}

// ReLUBackwardSet is ReLUBackward into a zeroed dx without reading dx: dx[i] = g[i] where
// y[i] > 0, else +0, plus +0 (so a -0 gradient becomes +0, exactly as accumulated into zero).
func ReLUBackwardSet(y, g, dx []float32) {
	g, dx = g[:len(y)], dx[:len(y)]
	k := reluBackwardSetFast(y, g, dx)
	y, g, dx = y[k:], g[k:], dx[k:]
	for i, v := range y {
		dx[i] = 0 + math.Float32frombits(math.Float32bits(g[i])&positiveMask(v))
	}
}

// indirectOK reports whether the forward convolution can use the unpacked-B kernels: few output
// channels per group (one A panel, so every packed B element would be used once) and output rows
// made of runs of 8 pixels reading contiguous input (stride 1, width a multiple of 8).
func (g *convGeom) indirectOK() bool {
	return hasIndKernel && useAsmKernel() && g.og <= gemmMR && g.SW == 1 && g.OW%8 == 0
}

// fwdFewOutputs computes one group of one image, y_g = W_g * col + bias (+ y_g when beta = 1),
// with W_g (og <= 6 rows) packed once and the column matrix read straight from the padded image.
func (g *convGeom) fwdFewOutputs(b im2colB, wg, bias []float32, beta float32, yg []float32, s *convScratch) {
	pa := s.aBuf(gemmMR * g.ck)
	packA(false, wg, g.ck, 0, 0, g.og, g.ck, 1, pa)
	offs, boffs := g.indOffsets(b, s)
	var bt [gemmMR]float32
	var bptr *float32
	if bias != nil {
		copy(bt[:], bias)
		bptr = &bt[0]
	}
	accum := beta != 0
	p := g.OH * g.OW
	nfull := p / gemmNR
	indKernelBlocks(g.og, nfull, g.ck, pa, b.xp, boffs, offs, yg, p, accum, bptr)
	if p0 := nfull * gemmNR; p0 < p {
		g.lastRun(b, p0, g.og, g.ck, pa, offs, yg, p, accum, bptr)
	}
}

// indirectMany enables fwdIndirect (a variable for tests and benchmarks).
var indirectMany = true

// indirectManyOK reports whether a forward convolution with more output channels per group than
// one A panel holds can read the column matrix straight from the image (fwdIndirect).
func (g *convGeom) indirectManyOK() bool {
	return indirectMany && indBlocksNative && useAsmKernel() && g.og > gemmMR && g.SW == 1 && g.OW%8 == 0
}

// packWeights packs each group's weights (og x ck) for fwdIndirect, KC block by block: block
// pc of a group holds panels of 6 rows x kc at [pc*mcp:] of the group's og-rounded-up-to-6 x
// ck floats, as sgemm packs A.
func (g *convGeom) packWeights(w []float32) []float32 {
	mcp := (g.og + gemmMR - 1) / gemmMR * gemmMR
	kcBlock := kcSplit(g.ck)
	pw := getScratch(g.G * mcp * g.ck) // every element written below
	for gi := 0; gi < g.G; gi++ {
		wg, pg := w[gi*g.og*g.ck:(gi+1)*g.og*g.ck], pw[gi*mcp*g.ck:(gi+1)*mcp*g.ck]
		for pc := 0; pc < g.ck; pc += kcBlock {
			kc := min(kcBlock, g.ck-pc)
			packA(false, wg, g.ck, 0, pc, g.og, kc, 1, pg[pc*mcp:pc*mcp+mcp*kc])
		}
	}
	return pw
}

// fwdIndirect computes one group of one image like sgemm(false, og, p, ck, 1, wg, ck, b, beta,
// yg, p, bias), pa being wg packed by packWeights, and gives the same bits, but without packing the column matrix: each of its
// elements would be packed once and then read by every 6-row panel of W, so the panels read the
// padded image directly (the indirect kernels). The arithmetic is the packed path's: k split
// into the same KC blocks (each block's sum started from zero, the bias in the first, then
// added to C), the same 6-row tiles with the same kernel per tile height.
func (g *convGeom) fwdIndirect(b im2colB, pa, bias []float32, beta float32, yg []float32, s *convScratch, parallel bool) {
	og, ck, p := g.og, g.ck, g.OH*g.OW
	kcBlock := kcSplit(ck)
	mcp := (og + gemmMR - 1) / gemmMR * gemmMR
	offs, boffs := g.indOffsets(b, s)
	// each calls f for every KC block and 6-row tile, in sgemm's order, with the rows' packed
	// weights, the block's k offsets, their output rows, whether to add to them and the bias
	// (first block only).
	each := func(f func(mr, kc int, ap []float32, koffs []int, c []float32, accum bool, bias *float32)) {
		for pc := 0; pc < ck; pc += kcBlock {
			kc := min(kcBlock, ck-pc)
			for ir := 0; ir < og; ir += gemmMR {
				var bptr *float32
				if pc == 0 && bias != nil {
					bptr = &bias[ir]
				}
				f(min(gemmMR, og-ir), kc, pa[pc*mcp+ir*kc:], offs[pc:pc+kc], yg[ir*p:], beta != 0 || pc > 0, bptr)
			}
		}
	}
	// The full 16-pixel blocks [b0, b1) of every row, in one call per row tile and KC block;
	// the blocks are independent, so any split gives the same bits.
	blocks := func(b0, b1 int) {
		each(func(mr, kc int, ap []float32, koffs []int, c []float32, accum bool, bias *float32) {
			indKernelBlocks(mr, b1-b0, kc, ap, b.xp, boffs[2*b0:], koffs, c[b0*gemmNR:], p, accum, bias)
		})
	}
	nfull := p / gemmNR
	if threads := Threads(); parallel && threads > 1 && nfull >= 8*threads {
		// one image split across goroutines (a batch of one)
		ParallelForDynamic(nfull, max(1, nfull/(4*threads)), blocks)
	} else {
		blocks(0, nfull)
	}
	if p0 := nfull * gemmNR; p0 < p { // a last run of 8 pixels
		each(func(mr, kc int, ap []float32, koffs []int, c []float32, accum bool, bias *float32) {
			g.lastRun(b, p0, mr, kc, ap, koffs, c, p, accum, bias)
		})
	}
}

// indOffsets returns, for the indirect kernels over the padded image of b, each k's offset
// (rowBase) and each full 16-pixel block's two 8-pixel run offsets.
func (g *convGeom) indOffsets(b im2colB, s *convScratch) (offs, boffs []int) {
	offs = s.offsBuf(g.ck)
	for r := range offs {
		offs[r] = b.rowBase(r)
	}
	p := g.OH * g.OW
	boffs = s.boffsBuf(2 * (p / gemmNR))
	for j := range p / gemmNR {
		p0, p1 := j*gemmNR, j*gemmNR+8
		boffs[2*j] = p0/g.OW*g.SH*b.wp + p0%g.OW
		boffs[2*j+1] = p1/g.OW*g.SH*b.wp + p1%g.OW
	}
	return offs, boffs
}

// lastRun computes the last 8 pixels (from p0) of rows of C: the kernel over a 16-pixel tile
// reading the run twice, half of the result kept (added to C when accum).
func (g *convGeom) lastRun(b im2colB, p0, mr, k int, a []float32, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	var tile [gemmMR * gemmNR]float32
	off0 := p0/g.OW*g.SH*b.wp + p0%g.OW
	indKernelRows(mr, k, a, b.xp, off0, off0, offs, tile[:], gemmNR, false, bias)
	for i := 0; i < mr; i++ {
		row := c[i*ldc+p0 : (i+1)*ldc]
		src := tile[i*gemmNR : i*gemmNR+len(row)]
		if accum {
			for j, v := range src {
				row[j] += v
			}
		} else {
			copy(row, src)
		}
	}
}

// flippedForData returns, when the stride is 1 and the padding small enough, the geometry and
// weights of the forward convolution from the output grid back to the input grid that computes
// the data gradient (a "full" convolution with the spatially flipped, channel-transposed kernel).
func flippedForData(g *convGeom, w []float32) (convGeom, []float32, bool) {
	ph, pw := g.DH*(g.KH-1)-g.PH, g.DW*(g.KW-1)-g.PW
	if g.SH != 1 || g.SW != 1 || ph < 0 || pw < 0 ||
		g.OH+2*ph-g.DH*(g.KH-1) != g.H || g.OW+2*pw-g.DW*(g.KW-1) != g.W {
		return convGeom{}, nil, false
	}
	f := newGeom(Conv2dParams{C: g.O, H: g.OH, W: g.OW, O: g.C, KH: g.KH, KW: g.KW,
		StrideH: 1, StrideW: 1, PadH: ph, PadW: pw, DilH: g.DH, DilW: g.DW, Groups: g.G}, g.H, g.W)
	wf := getScratch(len(w[:g.O*g.ck])) // every element written below
	for gi := 0; gi < g.G; gi++ {
		for o := 0; o < g.og; o++ {
			for c := 0; c < g.cg; c++ {
				src := w[((gi*g.og+o)*g.cg+c)*g.kk:][:g.kk]
				dst := wf[((gi*g.cg+c)*g.og+o)*g.kk:][:g.kk]
				for k := range src {
					dst[g.kk-1-k] = src[k]
				}
			}
		}
	}
	return f, wf, true
}

// flipMinChannels is the number of input channels per group from which the data gradient of a
// stride-1 convolution uses the flipped-kernel forward convolution (a variable for tests).
var flipMinChannels = 16

// convBwdData adds the data gradient of conv(x, w) for output gradient dy into dx.
func convBwdData(g *convGeom, n int, w, dy, dx []float32) {
	if g.depthwise() {
		depthwiseBwdData(g, n, w, dy, dx)
		return
	}
	// The flipped-kernel convolution packs the im2col of dy (O*KH*KW x pixels) for a GEMM with
	// only C/G rows; with few input channels GEMM + col2im (packing just dy) is cheaper.
	if g.cg >= flipMinChannels {
		if f, wf, ok := flippedForData(g, w); ok {
			convFwd(&f, n, dy, wf, nil, dx, true, false)
			putScratch(wf)
			return
		}
	}
	in, out, p := g.inSize(), g.outSize(), g.OH*g.OW
	forImages(n, Threads(), func(i int, inner bool) {
		dyn, dxn := dy[i*out:(i+1)*out], dx[i*in:(i+1)*in]
		s := convPool.Get().(*convScratch)
		col := s.colBuf(g.ck * p)
		for gi := 0; gi < g.G; gi++ {
			// col = W_g^T * dY_g, then scatter-add into the image.
			sgemm(true, g.ck, p, g.og, 1, w[gi*g.og*g.ck:], g.ck, matB{false, dyn[gi*g.og*p:], p}, 0, col, p, nil, inner)
			xg := dxn[gi*g.cg*g.H*g.W:]
			for r := 0; r < g.ck; r++ {
				g.addCol(col[r*p:(r+1)*p], xg, r, 0)
			}
		}
		convPool.Put(s)
	})
}

// weightParts is the number of partial weight gradients the batch is split into (contiguous
// ranges of images, each summed in order, then the partials summed in order). It is a constant,
// not the thread count, so the result does not depend on scheduling or on GOMAXPROCS.
func weightParts(n int) int { return min(n, 8) }

// convBwdWeight adds the weight gradient of conv(x, w) for output gradient dy into dw.
func convBwdWeight(g *convGeom, n int, x, dy, dw []float32) {
	if g.depthwise() {
		depthwiseBwdWeight(g, n, x, dy, dw)
		return
	}
	in, out := g.inSize(), g.outSize()
	wsz := g.O * g.ck
	parts := weightParts(n)
	partial := getScratch(parts * wsz)
	clear(partial)
	defer putScratch(partial)
	// With fewer parts than threads, the GEMMs themselves are split (over disjoint blocks of
	// the partial, which does not change any summation order).
	inner := parts < Threads()
	wb := g.wgradPlan(inner)
	ParallelForDynamic(parts, 1, func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			part := partial[pi*wsz : (pi+1)*wsz]
			for i := pi * n / parts; i < (pi+1)*n/parts; i++ {
				g.wgradImage(x[i*in:(i+1)*in], dy[i*out:(i+1)*out], part, inner, wb)
			}
		}
	})
	g.reduceWgrad(partial, parts, wb != nil, dw)
}

// wgradPlan returns the blocked-image weight-gradient plan when that path applies (it keeps
// each partial with its columns in (kh, kw, c) order), else nil.
func (g *convGeom) wgradPlan(inner bool) *wgradBlk16 {
	if !inner && g.wgradBlk16OK() {
		return newWgradBlk16(g)
	}
	return nil
}

// wgradImage adds one image's weight gradient into part (wb from wgradPlan).
func (g *convGeom) wgradImage(xn, dyn, part []float32, inner bool, wb *wgradBlk16) {
	if wb != nil {
		wb.accImage(xn, dyn, part)
		return
	}
	p := g.OH * g.OW
	s := convPool.Get().(*convScratch)
	for gi := 0; gi < g.G; gi++ {
		bp := g.columns(xn[gi*g.cg*g.H*g.W:], s, true)
		if !inner && indirectMany && hasStridedKernel && useAsmKernel() {
			// dY read in place (same bits as sgemm, which packs it)
			gb := gemmPool.Get().(*gemmBufs)
			sgemmStridedA(g.og, g.ck, p, dyn[gi*g.og*p:], p, bp, part[gi*g.og*g.ck:], g.ck, gb)
			gemmPool.Put(gb)
			continue
		}
		sgemm(false, g.og, g.ck, p, 1, dyn[gi*g.og*p:], p, bp, 1, part[gi*g.og*g.ck:], g.ck, nil, inner)
	}
	convPool.Put(s)
}

// reduceWgrad adds the sum of the parts partials (in order) into dw; blk: the partials' columns
// are in (kh, kw, c) order.
func (g *convGeom) reduceWgrad(partial []float32, parts int, blk bool, dw []float32) {
	wsz := g.O * g.ck
	ParallelFor(wsz, 4096, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			jp := j
			if blk {
				jp = g.blk16Col(j)
			}
			s := partial[jp]
			for pi := 1; pi < parts; pi++ {
				s += partial[pi*wsz+jp]
			}
			dw[j] += s
		}
	})
}

// wgradBlk16 computes the weight gradient of one image without packing the column matrix: the
// image is copied once into blocks of 16 channels, padded, pixel-major ([c/16][hp][wp][16]), so
// that the 16 consecutive channels of one tap at one pixel — a row of a 16-wide B tile when the
// GEMM's columns are taken in (kh, kw, c) order — are 16 contiguous floats, and the indirect
// micro-kernels read the B tiles straight from it. The arithmetic is sgemm's: the same KC blocks
// over the pixels (each block summed from zero, then added to the partial), the same dY values
// (read in place, not packed) and 6-row tiles, so each gradient element gets the same bits as on the packed path;
// only the partial's columns are permuted (blk16Col).
type wgradBlk16 struct {
	g      *convGeom
	hp, wp int
	offs   []int // per output pixel, its offset in one channel block (pixel * 16)
}

// wgradBlk16OK: the indirect kernels read the image (amd64), and every group's channels fill
// whole blocks of 16.
func (g *convGeom) wgradBlk16OK() bool {
	return indirectMany && indReadsImage && useAsmKernel() && g.cg%16 == 0 && !g.direct1x1()
}

func newWgradBlk16(g *convGeom) *wgradBlk16 {
	hp, wp := g.paddedHW()
	w := &wgradBlk16{g: g, hp: hp, wp: wp, offs: make([]int, g.OH*g.OW)}
	for oh := 0; oh < g.OH; oh++ {
		for ow := 0; ow < g.OW; ow++ {
			w.offs[oh*g.OW+ow] = (oh*g.SH*wp + ow*g.SW) * 16
		}
	}
	return w
}

// blk16Col maps index j of the weight (o, c, kh, kw order within its group) to its place in a
// partial whose columns are in (kh, kw, c) order.
func (g *convGeom) blk16Col(j int) int {
	row, col := j/g.ck, j%g.ck
	c, r := col/g.kk, col%g.kk
	return row*g.ck + r*g.cg + c
}

// padBlk16 copies the channels of one group (cg x H x W) into dst as cg/16 blocks of
// hp x wp x 16 with a zero border.
func (w *wgradBlk16) padBlk16(x, dst []float32) {
	g := w.g
	rowLen := w.wp * 16
	var offs [16]int
	for cb := 0; cb < g.cg/16; cb++ {
		blk := dst[cb*w.hp*rowLen : (cb+1)*w.hp*rowLen]
		clear(blk[:g.PH*rowLen])
		for i := 0; i < g.H; i++ {
			row := blk[(g.PH+i)*rowLen : (g.PH+i+1)*rowLen]
			clear(row[:g.PW*16])
			for j := range offs {
				offs[j] = ((cb*16+j)*g.H + i) * g.W
			}
			transposeRows16(row[g.PW*16:], x, &offs, g.W)
			clear(row[(g.PW+g.W)*16:])
		}
		clear(blk[(g.PH+g.H)*rowLen:])
	}
}

// accImage adds one image's weight gradient into part (columns in (kh, kw, c) order).
func (w *wgradBlk16) accImage(xn, dyn, part []float32) {
	g := w.g
	p := g.OH * g.OW
	s := convPool.Get().(*convScratch)
	defer convPool.Put(s)
	xb := s.padBuf(g.cg * w.hp * w.wp)
	kcBlock := kcSplit(p)
	blkSize := w.hp * w.wp * 16
	for gi := 0; gi < g.G; gi++ {
		w.padBlk16(xn[gi*g.cg*g.H*g.W:], xb)
		dyg := dyn[gi*g.og*p:]
		pg := part[gi*g.og*g.ck:]
		for pc := 0; pc < p; pc += kcBlock {
			kc := min(kcBlock, p-pc)
			offs := w.offs[pc : pc+kc]
			for r := 0; r < g.kk; r++ {
				kh, kw := r/g.KW, r%g.KW
				tap := (kh*g.DH*w.wp + kw*g.DW) * 16
				for cb := 0; cb < g.cg/16; cb++ {
					off0 := cb*blkSize + tap
					col := r*g.cg + cb*16
					for ir := 0; ir < g.og; ir += gemmMR {
						mr := min(gemmMR, g.og-ir)
						indKernelRowsStrided(mr, kc, dyg[ir*p+pc:], p, xb, off0, off0+8, offs, pg[ir*g.ck+col:], g.ck, true, nil)
					}
				}
			}
		}
	}
}

// imageChannelSums sets out[o] to biasGrad's term of one image for each of its ch channels:
// four running sums over the plane (element 4j+q into sum q, the tail into sum 0) combined as
// (t0+t1)+(t2+t3). With AVX, four channels' chains run interleaved (sum4x4), the same
// additions in the same order.
func imageChannelSums(ch, plane int, dy, out []float32) {
	body := plane &^ 3
	o := 0
	var t [16]float32
	for ; o+4 <= ch && sum4x4(dy[o*plane:], plane, body, &t); o += 4 {
		for r := range 4 {
			t0 := t[4*r]
			for _, v := range dy[(o+r)*plane+body : (o+r+1)*plane] {
				t0 += v
			}
			out[o+r] = (t0 + t[4*r+1]) + (t[4*r+2] + t[4*r+3])
		}
	}
	for ; o < ch; o++ {
		row := dy[o*plane : (o+1)*plane]
		var t0, t1, t2, t3 float32
		j := 0
		for ; j+4 <= len(row); j += 4 {
			t0 += row[j]
			t1 += row[j+1]
			t2 += row[j+2]
			t3 += row[j+3]
		}
		for ; j < len(row); j++ {
			t0 += row[j]
		}
		out[o] = (t0 + t1) + (t2 + t3)
	}
}

// biasGrad adds the per-channel sums of dy (n x ch x plane) into db: each image's term per
// channel (imageChannelSums), the images' terms added in order.
func biasGrad(n, ch, plane int, dy, db []float32) {
	ParallelFor(ch, 1, func(lo, hi int) {
		terms, s := make([]float32, hi-lo), make([]float32, hi-lo)
		for i := 0; i < n; i++ {
			imageChannelSums(hi-lo, plane, dy[(i*ch+lo)*plane:], terms)
			for o, v := range terms {
				s[o] += v
			}
		}
		for o, v := range s {
			db[lo+o] += v
		}
	})
}
