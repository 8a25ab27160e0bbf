package kern

import "sync"

// Blocked, packed GEMM (Goto/BLIS style). op(B) is packed KC x NC into micro-panels of gemmNR
// columns, op(A) MC x KC into micro-panels of gemmMR rows (scaled by alpha), and a gemmMR x gemmNR
// micro-kernel (AVX2+FMA assembly on amd64, plain Go elsewhere) multiplies one pair of panels.
//
// Every element of C is computed by exactly one micro-kernel call sequence whose summation order
// depends only on k (KC blocks in order, l in order inside a block), never on how the output is
// split across goroutines, so results are bit-identical whatever the thread count.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 96   // multiple of gemmMR; MC x KC packed A = 96 KiB, lives in L2
	gemmNC = 1024 // multiple of gemmNR; KC x NC packed B = 2 MiB, lives in L3

	// gemmParallelFlops is the m*n*k above which Sgemm splits the output across goroutines.
	gemmParallelFlops = 1 << 18
)

// forceGeneric makes the GEMM use the pure-Go micro-kernel even when the assembly one is
// available (tests flip it to cover the fallback path).
var forceGeneric bool

func useAsmKernel() bool { return hasAsmKernel && !forceGeneric }

type gemmBufs struct {
	a, b []float32
	tile [gemmMR * gemmNR]float32
}

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

func (g *gemmBufs) packA(n int) []float32 {
	if cap(g.a) < n {
		g.a = make([]float32, n)
	}
	return g.a[:n]
}

func (g *gemmBufs) packB(n int) []float32 {
	if cap(g.b) < n {
		g.b = make([]float32, n)
	}
	return g.b[:n]
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C (row-major), op(A) m x k, op(B) k x n.
// Large problems are split across Threads() goroutines by blocks of C.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	sgemm(transA, m, n, k, alpha, a, lda, matB{transB, b, ldb}, beta, c, ldc, nil, true)
}

// bPacker packs op(B)[pc:pc+kc, jc:jc+nc] into micro-panels of gemmNR columns,
// dst[q*NR*kc + l*NR + j], zero-filling columns past nc. It lets convolutions feed the GEMM
// straight from the image (im2col fused into packing) instead of materialising the column matrix.
// packB may be called concurrently with disjoint dst.
type bPacker interface {
	packB(pc, jc, kc, nc int, dst []float32)
}

// matB is a plain row-major op(B).
type matB struct {
	trans bool
	b     []float32
	ldb   int
}

func (m matB) packB(pc, jc, kc, nc int, dst []float32) {
	packB(m.trans, m.b, m.ldb, pc, jc, kc, nc, dst)
}

// sgemm computes C = alpha*op(A)*B + beta*C with B given by a packer. parallel=false keeps it on
// the calling goroutine (callers that already run one GEMM per worker).
//
// rowBias, if not nil, holds m values added to the rows of C (C = alpha*op(A)*B + beta*C + bias).
func sgemm(transA bool, m, n, k int, alpha float32, a []float32, lda int, b bPacker, beta float32, c []float32, ldc int, rowBias []float32, parallel bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		if rowBias != nil {
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				for j := range row {
					row[j] += rowBias[i]
				}
			}
		}
		return
	}
	threads := Threads()
	if !parallel || threads <= 1 || m*n*k < gemmParallelFlops {
		g := gemmPool.Get().(*gemmBufs)
		sgemmSerial(transA, m, 0, n, k, alpha, a, lda, b, beta, c, ldc, rowBias, g)
		gemmPool.Put(g)
		return
	}
	// Split the larger output dimension into chunks of whole micro-tiles; finer than one chunk per
	// thread so a thread slowed down by other load does not hold everything up.
	if n >= m {
		tiles := (n + gemmNR - 1) / gemmNR
		ParallelForDynamic(tiles, max(1, tiles/(4*threads)), func(lo, hi int) {
			g := gemmPool.Get().(*gemmBufs)
			sgemmSerial(transA, m, lo*gemmNR, min(hi*gemmNR, n), k, alpha, a, lda, b, beta, c, ldc, rowBias, g)
			gemmPool.Put(g)
		})
		return
	}
	tiles := (m + gemmMR - 1) / gemmMR
	ParallelForDynamic(tiles, max(1, tiles/(4*threads)), func(lo, hi int) {
		i0, i1 := lo*gemmMR, min(hi*gemmMR, m)
		aoff := i0 * lda
		if transA {
			aoff = i0
		}
		var rb []float32
		if rowBias != nil {
			rb = rowBias[i0:i1]
		}
		g := gemmPool.Get().(*gemmBufs)
		sgemmSerial(transA, i1-i0, 0, n, k, alpha, a[aoff:], lda, b, beta, c[i0*ldc:], ldc, rb, g)
		gemmPool.Put(g)
	})
}

// scaleC sets C = beta*C (C = 0 when beta == 0, ignoring NaNs already there).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// kcSplit is the KC block of a GEMM over k: k split into equal blocks of at most gemmKC, so no
// block is a short, inefficient tail. Every path that must give sgemm's bits uses it.
func kcSplit(k int) int {
	kblocks := (k + gemmKC - 1) / gemmKC
	return (k + kblocks - 1) / kblocks
}

// sgemmSerial computes columns [j0, j1) of C on the calling goroutine.
func sgemmSerial(transA bool, m, j0, j1, k int, alpha float32, a []float32, lda int, b bPacker, beta float32, c []float32, ldc int, rowBias []float32, g *gemmBufs) {
	if beta != 0 && beta != 1 {
		scaleC(m, j1-j0, beta, c[j0:], ldc)
	}
	asm := useAsmKernel()
	kcBlock := kcSplit(k)
	for jc := j0; jc < j1; jc += gemmNC {
		nc := min(gemmNC, j1-jc)
		ncp := (nc + gemmNR - 1) / gemmNR * gemmNR
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			pb := g.packB(ncp * kc)
			b.packB(pc, jc, kc, nc, pb)
			accum := beta != 0 || pc > 0
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				mcp := (mc + gemmMR - 1) / gemmMR * gemmMR
				pa := g.packA(mcp * kc)
				packA(transA, a, lda, ic, pc, mc, kc, alpha, pa)
				var rb []float32
				if pc == 0 && rowBias != nil {
					rb = rowBias[ic : ic+mc]
				}
				macroKernel(mc, nc, kc, pa, pb, c[ic*ldc+jc:], ldc, accum, asm, rb, g)
			}
		}
	}
}

// macroKernel multiplies packed A (mc x kc) by packed B (kc x nc) into C, adding bias[i] to
// row i when bias is not nil.
func macroKernel(mc, nc, kc int, pa, pb, c []float32, ldc int, accum, asm bool, bias []float32, g *gemmBufs) {
	var biasTile [gemmMR]float32
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		bp := pb[jr*kc:]
		for ir := 0; ir < mc; ir += gemmMR {
			mr := min(gemmMR, mc-ir)
			ap := pa[ir*kc:]
			// The tile's row biases, padded to gemmMR rows.
			var bt *[gemmMR]float32
			if bias != nil {
				bt = &biasTile
				*bt = [gemmMR]float32{}
				copy(bt[:], bias[ir:ir+mr])
			}
			var bptr *float32
			if bt != nil {
				bptr = &bt[0]
			}
			if asm && nr == gemmNR {
				// Straight into C; a kernel for just the tile's rows when there are fewer than 6.
				asmKernelRows(mr, kc, ap, bp, c[ir*ldc+jr:(ir+mr-1)*ldc+jr+gemmNR], ldc, accum, bptr)
				continue
			}
			if !asm && mr == gemmMR && nr == gemmNR {
				genericKernel6x16(kc, ap, bp, c[ir*ldc+jr:(ir+gemmMR-1)*ldc+jr+gemmNR], ldc, accum, bt)
				continue
			}
			t := g.tile[:]
			if asm {
				asmKernelRows(mr, kc, ap, bp, t, gemmNR, false, bptr)
			} else {
				genericKernel6x16(kc, ap, bp, t, gemmNR, false, bt)
			}
			for i := 0; i < mr; i++ {
				row := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+nr]
				src := t[i*gemmNR : i*gemmNR+nr]
				if accum {
					for j, v := range src {
						row[j] += v
					}
				} else {
					copy(row, src)
				}
			}
		}
	}
}

// packA packs alpha*op(A)[ic:ic+mc, pc:pc+kc] into panels of gemmMR rows: dst[p*MR*kc + l*MR + r].
// Rows past mc are zero.
func packA(trans bool, a []float32, lda, ic, pc, mc, kc int, alpha float32, dst []float32) {
	for ir := 0; ir < mc; ir += gemmMR {
		mr := min(gemmMR, mc-ir)
		panel := dst[ir*kc : ir*kc+gemmMR*kc]
		if trans {
			// op(A)[i][l] = a[l*lda+i]: gemmMR contiguous values per l.
			for l := 0; l < kc; l++ {
				src := a[(pc+l)*lda+ic+ir:]
				d := panel[l*gemmMR : l*gemmMR+gemmMR : l*gemmMR+gemmMR]
				if mr == gemmMR {
					src = src[:gemmMR:gemmMR]
					if alpha == 1 {
						d[0], d[1], d[2], d[3], d[4], d[5] = src[0], src[1], src[2], src[3], src[4], src[5]
					} else {
						d[0], d[1], d[2], d[3], d[4], d[5] = alpha*src[0], alpha*src[1], alpha*src[2], alpha*src[3], alpha*src[4], alpha*src[5]
					}
					continue
				}
				for r := 0; r < gemmMR; r++ {
					if r < mr {
						d[r] = alpha * src[r]
					} else {
						d[r] = 0
					}
				}
			}
			continue
		}
		if mr == gemmMR {
			// Six row streams interleaved, contiguous writes.
			o := (ic+ir)*lda + pc
			r0, r1, r2 := a[o:o+kc], a[o+lda:o+lda+kc], a[o+2*lda:o+2*lda+kc]
			r3, r4, r5 := a[o+3*lda:o+3*lda+kc], a[o+4*lda:o+4*lda+kc], a[o+5*lda:o+5*lda+kc]
			for l := 0; l < kc; l++ {
				d := (*[gemmMR]float32)(panel[l*gemmMR:])
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[l], r1[l], r2[l], r3[l], r4[l], r5[l]
			}
			if alpha != 1 {
				for l := range panel {
					panel[l] *= alpha
				}
			}
			continue
		}
		for r := 0; r < gemmMR; r++ {
			if r >= mr {
				for l := 0; l < kc; l++ {
					panel[l*gemmMR+r] = 0
				}
				continue
			}
			src := a[(ic+ir+r)*lda+pc : (ic+ir+r)*lda+pc+kc]
			if alpha == 1 {
				for l, v := range src {
					panel[l*gemmMR+r] = v
				}
			} else {
				for l, v := range src {
					panel[l*gemmMR+r] = alpha * v
				}
			}
		}
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into panels of gemmNR columns: dst[q*NR*kc + l*NR + j].
// Columns past nc are zero.
func packB(trans bool, b []float32, ldb, pc, jc, kc, nc int, dst []float32) {
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		panel := dst[jr*kc : jr*kc+gemmNR*kc]
		if !trans && nr == gemmNR {
			var offs [gemmKC]int
			for l := 0; l < kc; l++ {
				offs[l] = (pc+l)*ldb + jc + jr
			}
			copyRows16(panel, b, offs[:kc], 8)
			continue
		}
		if !trans {
			for l := 0; l < kc; l++ {
				src := b[(pc+l)*ldb+jc+jr : (pc+l)*ldb+jc+jr+nr]
				d := panel[l*gemmNR : l*gemmNR+gemmNR]
				copy(d, src)
				if nr < gemmNR {
					clear(d[nr:])
				}
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
			src := b[(jc+jr+j)*ldb+pc : (jc+jr+j)*ldb+pc+kc]
			for l, v := range src {
				panel[l*gemmNR+j] = v
			}
		}
	}
}

// sgemmStridedA computes C += op(A)*B (A m x k row-major with row stride lda, not transposed;
// alpha 1, beta 1, no bias) on the calling goroutine with the arithmetic of sgemm's serial path
// (the same KC blocks, 6-row tiles, kernels and edge tiles, so the same bits), reading A in
// place instead of packing it (hasStridedKernel only).
func sgemmStridedA(m, n, k int, a []float32, lda int, b bPacker, c []float32, ldc int, g *gemmBufs) {
	kcBlock := kcSplit(k)
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		ncp := (nc + gemmNR - 1) / gemmNR * gemmNR
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			pb := g.packB(ncp * kc)
			b.packB(pc, jc, kc, nc, pb)
			for jr := 0; jr < nc; jr += gemmNR {
				nr := min(gemmNR, nc-jr)
				bp := pb[jr*kc:]
				for ir := 0; ir < m; ir += gemmMR {
					mr := min(gemmMR, m-ir)
					ap := a[ir*lda+pc:]
					if nr == gemmNR {
						stridedKernelRows(mr, kc, ap, lda, bp, c[ir*ldc+jc+jr:], ldc, true)
						continue
					}
					t := g.tile[:]
					stridedKernelRows(mr, kc, ap, lda, bp, t, gemmNR, false)
					for i := 0; i < mr; i++ {
						row := c[(ir+i)*ldc+jc+jr : (ir+i)*ldc+jc+jr+nr]
						for j, v := range t[i*gemmNR : i*gemmNR+nr] {
							row[j] += v
						}
					}
				}
			}
		}
	}
}

// boolInt is 1 for true, 0 for false (the kernels' accum argument).
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
