//go:build amd64

#include "textflag.h"

// func reluAVX(y *float32, n int)
//
// y[i] = v AND (v NLE_UQ 0 ? all ones : 0) for i < n (a positive multiple of 8): v when v > 0
// or NaN, else +0 — kern.ReLUInPlace's definition.
TEXT ·reluAVX(SB), NOSPLIT, $0-16
	MOVQ   y+0(FP), DI
	MOVQ   n+8(FP), CX
	VXORPS Y1, Y1, Y1

rloop:
	VMOVUPS (DI), Y0
	VCMPPS  $6, Y1, Y0, Y2
	VANDPS  Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     rloop
	VZEROUPPER
	RET

// func reluBackwardAVX(y, gr, dx *float32, n int)
//
// dx[i] += gr[i] AND (y[i] GT_OQ 0 ? all ones : 0) for i < n (a positive multiple of 8): the
// gradient where the output is > 0, else +0 — kern.ReLUBackward's definition.
TEXT ·reluBackwardAVX(SB), NOSPLIT, $0-32
	MOVQ   y+0(FP), SI
	MOVQ   gr+8(FP), BX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VXORPS Y1, Y1, Y1

bloop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y1, Y0, Y2
	VANDPS  (BX), Y2, Y3
	VADDPS  (DI), Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     bloop
	VZEROUPPER
	RET

// func reluBackwardSetAVX(y, gr, dx *float32, n int)
//
// dx[i] = (gr[i] AND (y[i] GT_OQ 0 ? all ones : 0)) + 0 for i < n (a positive multiple of 8):
// reluBackwardAVX into a zeroed dx, without reading dx.
TEXT ·reluBackwardSetAVX(SB), NOSPLIT, $0-32
	MOVQ   y+0(FP), SI
	MOVQ   gr+8(FP), BX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VXORPS Y1, Y1, Y1

sloop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y1, Y0, Y2
	VANDPS  (BX), Y2, Y3
	VADDPS  Y1, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     sloop
	VZEROUPPER
	RET

// func sum4x4AVX(rows *float32, stride int, n int, out *[16]float32)
//
// For each of 4 rows r (rows + r*stride floats): four running sums t[r][q] = Σ row[4j+q] over
// j < n/4 (n a positive multiple of 4), in j order — the four scalar accumulators of biasGrad,
// one 128-bit lane each, the 4 rows' chains interleaved. out[4r+q] = t[r][q].
TEXT ·sum4x4AVX(SB), NOSPLIT, $0-32
	MOVQ   rows+0(FP), SI
	MOVQ   stride+8(FP), R8
	SHLQ   $2, R8
	MOVQ   n+16(FP), CX
	SHRQ   $2, CX
	MOVQ   out+24(FP), DI
	LEAQ   (SI)(R8*2), R9
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3

s4loop:
	VADDPS  (SI), X0, X0
	VADDPS  (SI)(R8*1), X1, X1
	VADDPS  (R9), X2, X2
	VADDPS  (R9)(R8*1), X3, X3
	ADDQ    $16, SI
	ADDQ    $16, R9
	DECQ    CX
	JNZ     s4loop
	VMOVUPS X0, 0(DI)
	VMOVUPS X1, 16(DI)
	VMOVUPS X2, 32(DI)
	VMOVUPS X3, 48(DI)
	RET

// func padRowsAVX(dst, src *float32, rows, w, wp, pw int)
//
// For r < rows: dst[r*wp : r*wp+pw] = 0, dst[r*wp+pw : r*wp+pw+w] = src[r*w : r*w+w],
// dst[r*wp+pw+w : (r+1)*wp] = 0 (w >= 1, wp >= pw+w): the rows of a zero-padded plane.
TEXT ·padRowsAVX(SB), NOSPLIT, $0-48
	MOVQ rows+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ wp+32(FP), R10
	MOVQ pw+40(FP), R11
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI

prow:
	XORQ AX, AX

pleft:
	CMPQ AX, R11
	JGE  pcopy
	MOVL $0, (DI)(AX*4)
	INCQ AX
	JMP  pleft

pcopy:
	LEAQ (DI)(R11*4), DX // start of the row's data
	XORQ AX, AX
	MOVQ R9, CX
	SUBQ $8, CX

pvec:
	CMPQ    AX, CX
	JG      pscalar
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS Y0, (DX)(AX*4)
	ADDQ    $8, AX
	JMP     pvec

pscalar:
	CMPQ AX, R9
	JGE  pright
	MOVL (SI)(AX*4), BX
	MOVL BX, (DX)(AX*4)
	INCQ AX
	JMP  pscalar

pright:
	MOVQ R11, AX
	ADDQ R9, AX

prloop:
	CMPQ AX, R10
	JGE  pnext
	MOVL $0, (DI)(AX*4)
	INCQ AX
	JMP  prloop

pnext:
	LEAQ (DI)(R10*4), DI
	LEAQ (SI)(R9*4), SI
	DECQ R8
	JNZ  prow
	VZEROUPPER
	RET

// func reluToAVX(x, y *float32, n int)
//
// y[i] = x[i] AND (x[i] NLE_UQ 0 ? all ones : 0) for i < n (a positive multiple of 8): reluAVX
// from x into y.
TEXT ·reluToAVX(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y1, Y1, Y1

rtloop:
	VMOVUPS (SI), Y0
	VCMPPS  $6, Y1, Y0, Y2
	VANDPS  Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     rtloop
	VZEROUPPER
	RET

// func addMaskedAVX(d, gr *float32, mask *bool, n int)
//
// dx[i] = mask[i] ? dx[i] + g[i] : dx[i] for i < n (a positive multiple of 8; mask bytes 0 or
// 1): the sum is selected, never dx + 0, so a -0 stays -0.
TEXT ·addMaskedAVX(SB), NOSPLIT, $0-32
	MOVQ   d+0(FP), DI
	MOVQ   gr+8(FP), SI
	MOVQ   mask+16(FP), BX
	MOVQ   n+24(FP), CX
	VPXOR  Y3, Y3, Y3

amloop:
	VPMOVZXBD (BX), Y2
	VPCMPGTD  Y3, Y2, Y2     // mask byte > 0
	VMOVUPS   (DI), Y0
	VADDPS    (SI), Y0, Y1
	VBLENDVPS Y2, Y1, Y0, Y0 // mask ? dx + g : dx
	VMOVUPS   Y0, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	ADDQ      $8, BX
	SUBQ      $8, CX
	JNZ       amloop
	VZEROUPPER
	RET

// func bilinearRowAVX(dst, r0, r1 *float32, i0, i1 *int32, l0, l1 *float32, n int, ly *[2]float32)
//
// For x < n (a positive multiple of 8), with f(a, b, c) = fl32(fma64(a, b, c)) (the exact
// a*b+c rounded to float64, then to float32, as float32(math.FMA(...)) of float32 operands):
// t0 = f(r0[i0[x]], l0[x], fl32(r0[i1[x]]*l1[x])), t1 likewise on r1,
// dst[x] = f(t0, ly[0], fl32(t1*ly[1])) — engine.Resize's bilinear row, ATen's order.
TEXT ·bilinearRowAVX(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ i0+24(FP), R8
	MOVQ i1+32(FP), R9
	MOVQ l0+40(FP), R10
	MOVQ l1+48(FP), R11
	MOVQ n+56(FP), CX
	MOVQ ly+64(FP), AX
	VBROADCASTSS 0(AX), Y14
	VBROADCASTSS 4(AX), Y15

blloop:
	VMOVDQU  (R8), Y0
	VMOVDQU  (R9), Y1
	VPCMPEQD Y2, Y2, Y2
	VGATHERDPS Y2, (SI)(Y0*4), Y3 // r0[i0]
	VPCMPEQD Y2, Y2, Y2
	VGATHERDPS Y2, (SI)(Y1*4), Y4 // r0[i1]
	VPCMPEQD Y2, Y2, Y2
	VGATHERDPS Y2, (DX)(Y0*4), Y5 // r1[i0]
	VPCMPEQD Y2, Y2, Y2
	VGATHERDPS Y2, (DX)(Y1*4), Y6 // r1[i1]
	VMOVUPS  (R10), Y7            // l0
	VMULPS   (R11), Y4, Y4        // fl32(r0[i1]*l1)
	VMULPS   (R11), Y6, Y6        // fl32(r1[i1]*l1)

	// t0 = f(r0[i0], l0, Y4) -> Y8; t1 = f(r1[i0], l0, Y6) -> Y9 (low and high 4 lanes)
	VCVTPS2PD X3, Y10
	VCVTPS2PD X7, Y11
	VCVTPS2PD X4, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X8
	VEXTRACTF128 $1, Y3, X10
	VCVTPS2PD X10, Y10
	VEXTRACTF128 $1, Y7, X11
	VCVTPS2PD X11, Y11
	VEXTRACTF128 $1, Y4, X12
	VCVTPS2PD X12, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X12
	VINSERTF128 $1, X12, Y8, Y8

	VCVTPS2PD X5, Y10
	VCVTPS2PD X7, Y11
	VCVTPS2PD X6, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X9
	VEXTRACTF128 $1, Y5, X10
	VCVTPS2PD X10, Y10
	VEXTRACTF128 $1, Y7, X11
	VCVTPS2PD X11, Y11
	VEXTRACTF128 $1, Y6, X12
	VCVTPS2PD X12, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X12
	VINSERTF128 $1, X12, Y9, Y9

	// dst = f(t0, ly0, fl32(t1*ly1))
	VMULPS   Y15, Y9, Y9
	VCVTPS2PD X8, Y10
	VCVTPS2PD X14, Y11
	VCVTPS2PD X9, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X13
	VEXTRACTF128 $1, Y8, X10
	VCVTPS2PD X10, Y10
	VEXTRACTF128 $1, Y9, X12
	VCVTPS2PD X12, Y12
	VFMADD231PD Y11, Y10, Y12
	VCVTPD2PSY Y12, X12
	VINSERTF128 $1, X12, Y13, Y13
	VMOVUPS  Y13, (DI)

	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ  blloop
	VZEROUPPER
	RET
