#include "textflag.h"

// func kernel4x16AVX2(a *int16, lda uintptr, w *int16, kp int, c *int32, ldc uintptr)
TEXT ·kernel4x16AVX2(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), BX
	MOVQ w+16(FP), DI
	MOVQ kp+24(FP), CX
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8

	LEAQ (SI)(BX*1), R9
	LEAQ (SI)(BX*2), R10
	LEAQ (R9)(BX*2), R11

	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11

loop:
	VMOVDQU (DI), Y0
	VMOVDQU 32(DI), Y1

	VPBROADCASTD (SI), Y2
	VPBROADCASTD (R9), Y3
	VPMADDWD Y0, Y2, Y12
	VPMADDWD Y1, Y2, Y13
	VPMADDWD Y0, Y3, Y14
	VPMADDWD Y1, Y3, Y15
	VPADDD Y12, Y4, Y4
	VPADDD Y13, Y5, Y5
	VPADDD Y14, Y6, Y6
	VPADDD Y15, Y7, Y7

	VPBROADCASTD (R10), Y2
	VPBROADCASTD (R11), Y3
	VPMADDWD Y0, Y2, Y12
	VPMADDWD Y1, Y2, Y13
	VPMADDWD Y0, Y3, Y14
	VPMADDWD Y1, Y3, Y15
	VPADDD Y12, Y8, Y8
	VPADDD Y13, Y9, Y9
	VPADDD Y14, Y10, Y10
	VPADDD Y15, Y11, Y11

	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $64, DI
	DECQ CX
	JNZ  loop

	VMOVDQU Y4, (DX)
	VMOVDQU Y5, 32(DX)
	ADDQ    R8, DX
	VMOVDQU Y6, (DX)
	VMOVDQU Y7, 32(DX)
	ADDQ    R8, DX
	VMOVDQU Y8, (DX)
	VMOVDQU Y9, 32(DX)
	ADDQ    R8, DX
	VMOVDQU Y10, (DX)
	VMOVDQU Y11, 32(DX)
	VZEROUPPER
	RET

// func dwAcc8AVX2(acc *int32, x *int8, w *int32, izp int32, n int)
//
// acc[i] += (int32(x[i]) - izp) * w[i] for i < n (n a positive multiple of 8), int32
// arithmetic that wraps (VPMOVSXBD, VPSUBD, VPMULLD, VPADDD).
TEXT ·dwAcc8AVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVL izp+24(FP), AX
	VMOVD AX, X3
	VPBROADCASTD X3, Y3
	MOVQ n+32(FP), CX
dw8loop:
	VPMOVSXBD (SI), Y0
	VPSUBD Y3, Y0, Y0
	VPMULLD (DX), Y0, Y0
	VPADDD (DI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNE dw8loop
	VZEROUPPER
	RET

// func dwAcc32AVX2(acc, x, w *int32, n int)
//
// acc[i] += x[i] * w[i] for i < n (n a positive multiple of 8), int32 arithmetic that wraps.
TEXT ·dwAcc32AVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), CX
dw32loop:
	VMOVDQU (SI), Y0
	VPMULLD (DX), Y0, Y0
	VPADDD (DI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNE dw32loop
	VZEROUPPER
	RET

// func dwPixelAVX2(acc *int32, x *int8, offs *int, w *int32, ntaps, c8 int, wstride uintptr, izp int32)
//
// For c < c8 (a positive multiple of 8): acc[c] += Σ_{t<ntaps} (x[offs[t] + c] - izp)·w[t·wstride/4 + c],
// int32 arithmetic that wraps; ntaps >= 1.
TEXT ·dwPixelAVX2(SB), NOSPLIT, $0-60
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ w+24(FP), DX
	MOVQ ntaps+32(FP), R10
	MOVQ c8+40(FP), R8
	MOVQ wstride+48(FP), R9
	MOVL izp+56(FP), AX
	VMOVD AX, X3
	VPBROADCASTD X3, Y3
	XORQ R11, R11
dwpchan:
	VMOVDQU (DI)(R11*4), Y0
	MOVQ R10, CX
	MOVQ BX, R12
	LEAQ (DX)(R11*4), R13
dwptap:
	MOVQ (R12), AX
	ADDQ R11, AX
	VPMOVSXBD (SI)(AX*1), Y1
	VPSUBD Y3, Y1, Y1
	VPMULLD (R13), Y1, Y1
	VPADDD Y1, Y0, Y0
	ADDQ $8, R12
	ADDQ R9, R13
	DECQ CX
	JNE dwptap
	VMOVDQU Y0, (DI)(R11*4)
	ADDQ $8, R11
	CMPQ R11, R8
	JLT dwpchan
	VZEROUPPER
	RET

// func resizeRowAVX2(dst, r0, r1, off0, off1, wx0, wx1 *int32, n int, wy0, wy1 int32)
//
// For e < n (a positive multiple of 8): dst[e] = wy0*(r0[off0[e]]*wx0[e] + r0[off1[e]]*wx1[e])
// + wy1*(r1[off0[e]]*wx0[e] + r1[off1[e]]*wx1[e]) in wrapping int32 arithmetic — equal to
// RESIZE BILINEAR's sum of the four products with weights wy*wx (the same ring element).
TEXT ·resizeRowAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ off0+24(FP), R8
	MOVQ off1+32(FP), R9
	MOVQ wx0+40(FP), R10
	MOVQ wx1+48(FP), R11
	MOVQ n+56(FP), CX
	MOVL wy0+64(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL wy1+68(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

rzloop:
	VMOVDQU  (R8), Y0
	VMOVDQU  (R9), Y1
	VPCMPEQD Y6, Y6, Y6
	VPGATHERDD Y6, (SI)(Y0*4), Y2
	VPCMPEQD Y6, Y6, Y6
	VPGATHERDD Y6, (SI)(Y1*4), Y3
	VPCMPEQD Y6, Y6, Y6
	VPGATHERDD Y6, (DX)(Y0*4), Y4
	VPCMPEQD Y6, Y6, Y6
	VPGATHERDD Y6, (DX)(Y1*4), Y5
	VMOVDQU  (R10), Y7
	VMOVDQU  (R11), Y8
	VPMULLD  Y7, Y2, Y2
	VPMULLD  Y8, Y3, Y3
	VPADDD   Y3, Y2, Y2
	VPMULLD  Y7, Y4, Y4
	VPMULLD  Y8, Y5, Y5
	VPADDD   Y5, Y4, Y4
	VPMULLD  Y14, Y2, Y2
	VPMULLD  Y15, Y4, Y4
	VPADDD   Y4, Y2, Y2
	VMOVDQU  Y2, (DI)
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ  rzloop
	VZEROUPPER
	RET
