//go:build amd64

#include "textflag.h"

// func sgemmKernel6x16(k int, a, b, c *float32, ldc int, accum int, bias *float32)
//
// c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i] * b[l*16+j] for i < 6, j < 16, with a and b packed
// panels. accum != 0 adds to c; accum == 0 overwrites c. bias may be nil (no bias).
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	MOVQ bias+48(FP), AX
	TESTQ AX, AX
	JE   zinit
	VBROADCASTSS 0(AX), Y4
	VMOVAPS Y4, Y5
	VBROADCASTSS 4(AX), Y6
	VMOVAPS Y6, Y7
	VBROADCASTSS 8(AX), Y8
	VMOVAPS Y8, Y9
	VBROADCASTSS 12(AX), Y10
	VMOVAPS Y10, Y11
	VBROADCASTSS 16(AX), Y12
	VMOVAPS Y12, Y13
	VBROADCASTSS 20(AX), Y14
	VMOVAPS Y14, Y15
	JMP  initdone

zinit:
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

initdone:

	MOVQ CX, BX
	SHRQ $2, BX
	ANDQ $3, CX
	TESTQ BX, BX
	JE   tail

#define STEP(aoff, boff) \
	VMOVUPS boff(DI), Y0; \
	VMOVUPS boff+32(DI), Y1; \
	VBROADCASTSS aoff(SI), Y2; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VBROADCASTSS aoff+4(SI), Y3; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS aoff+8(SI), Y2; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VBROADCASTSS aoff+12(SI), Y3; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS aoff+16(SI), Y2; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VBROADCASTSS aoff+20(SI), Y3; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

loop4:
	PREFETCHT0 512(DI)
	STEP(0, 0)
	STEP(24, 64)
	PREFETCHT0 576(DI)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNE  loop4

tail:
	TESTQ CX, CX
	JE    store

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop1

store:
	MOVQ accum+40(FP), AX
	TESTQ AX, AX
	JE   overwrite

	VADDPS (DX), Y4, Y4
	VADDPS 32(DX), Y5, Y5
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y6, Y6
	VADDPS 32(DX), Y7, Y7
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y8, Y8
	VADDPS 32(DX), Y9, Y9
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y10, Y10
	VADDPS 32(DX), Y11, Y11
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y12, Y12
	VADDPS 32(DX), Y13, Y13
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y14, Y14
	VADDPS 32(DX), Y15, Y15
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

overwrite:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

// func gather16(dst, src *float32, offs *int, n int, off1 int)
//
// For l < n: dst[l*16 : l*16+8] = src[offs[l] : offs[l]+8] and
// dst[l*16+8 : l*16+16] = src[offs[l]+off1 : offs[l]+off1+8].
TEXT ·gather16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ off1+32(FP), DX
	SHLQ $2, DX
	LEAQ (SI)(DX*1), DX
	TESTQ CX, CX
	JE   gdone

gloop:
	MOVQ (BX), AX
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $8, BX
	ADDQ $64, DI
	DECQ CX
	JNE  gloop
	VZEROUPPER

gdone:
	RET

#define TRANSPOSE8(r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3, t4, t5, t6, t7) \
	VUNPCKLPS r1, r0, t0; \
	VUNPCKHPS r1, r0, t1; \
	VUNPCKLPS r3, r2, t2; \
	VUNPCKHPS r3, r2, t3; \
	VUNPCKLPS r5, r4, t4; \
	VUNPCKHPS r5, r4, t5; \
	VUNPCKLPS r7, r6, t6; \
	VUNPCKHPS r7, r6, t7; \
	VSHUFPS $0x44, t2, t0, r0; \
	VSHUFPS $0xEE, t2, t0, r1; \
	VSHUFPS $0x44, t3, t1, r2; \
	VSHUFPS $0xEE, t3, t1, r3; \
	VSHUFPS $0x44, t6, t4, r4; \
	VSHUFPS $0xEE, t6, t4, r5; \
	VSHUFPS $0x44, t7, t5, r6; \
	VSHUFPS $0xEE, t7, t5, r7; \
	VPERM2F128 $0x20, r4, r0, t0; \
	VPERM2F128 $0x20, r5, r1, t1; \
	VPERM2F128 $0x20, r6, r2, t2; \
	VPERM2F128 $0x20, r7, r3, t3; \
	VPERM2F128 $0x31, r4, r0, t4; \
	VPERM2F128 $0x31, r5, r1, t5; \
	VPERM2F128 $0x31, r6, r2, t6; \
	VPERM2F128 $0x31, r7, r3, t7

// func transpose16x8(dst, src *float32, offs *int, nb int)
//
// For b < nb, t < 8, j < 16: dst[(b*8+t)*16 + j] = src[offs[j] + b*8 + t]: blocks of 8
// consecutive source columns from 16 source rows, written as 8 packed rows of 16.
TEXT ·transpose16x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ nb+24(FP), CX
	TESTQ CX, CX
	JE   tdone

tloop:
	// rows 0..7 -> columns 0..7 of the 8 destination rows
	MOVQ 0(BX), AX
	VMOVUPS (SI)(AX*4), Y0
	MOVQ 8(BX), AX
	VMOVUPS (SI)(AX*4), Y1
	MOVQ 16(BX), AX
	VMOVUPS (SI)(AX*4), Y2
	MOVQ 24(BX), AX
	VMOVUPS (SI)(AX*4), Y3
	MOVQ 32(BX), AX
	VMOVUPS (SI)(AX*4), Y4
	MOVQ 40(BX), AX
	VMOVUPS (SI)(AX*4), Y5
	MOVQ 48(BX), AX
	VMOVUPS (SI)(AX*4), Y6
	MOVQ 56(BX), AX
	VMOVUPS (SI)(AX*4), Y7
	TRANSPOSE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VMOVUPS Y8, 0(DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)

	// rows 8..15 -> columns 8..15
	MOVQ 64(BX), AX
	VMOVUPS (SI)(AX*4), Y0
	MOVQ 72(BX), AX
	VMOVUPS (SI)(AX*4), Y1
	MOVQ 80(BX), AX
	VMOVUPS (SI)(AX*4), Y2
	MOVQ 88(BX), AX
	VMOVUPS (SI)(AX*4), Y3
	MOVQ 96(BX), AX
	VMOVUPS (SI)(AX*4), Y4
	MOVQ 104(BX), AX
	VMOVUPS (SI)(AX*4), Y5
	MOVQ 112(BX), AX
	VMOVUPS (SI)(AX*4), Y6
	MOVQ 120(BX), AX
	VMOVUPS (SI)(AX*4), Y7
	TRANSPOSE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VMOVUPS Y8, 32(DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 160(DI)
	VMOVUPS Y11, 224(DI)
	VMOVUPS Y12, 288(DI)
	VMOVUPS Y13, 352(DI)
	VMOVUPS Y14, 416(DI)
	VMOVUPS Y15, 480(DI)

	ADDQ $32, SI
	ADDQ $512, DI
	DECQ CX
	JNE  tloop
	VZEROUPPER

tdone:
	RET
