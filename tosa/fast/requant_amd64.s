//go:build amd64

#include "textflag.h"

// func requantAVX512(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, nblk int, tail uint64, ozp int32, out *int8, ldo uintptr)
//
// For each of rows rows and each block of 16 channels (nblk blocks; the last one stores only
// the channels set in tail): v = c[ch] + corr[ch] (int32, wrapping), then apply_scale_32 with
// the block's parameters prm[blk·64 : blk·64+64] (eight vectors of 8 int64: multipliers of the
// even channels, of the odd channels, shifts even/odd, rounding constants for v >= 0 even/odd,
// rndNeg - rndPos even/odd), + ozp, saturated to int8 (VPMOVSDB), stored at out. ldc and ldo
// are in bytes. The caller has proved that no REQUIRE of RESCALE can fail for these values.
TEXT ·requantAVX512(SB), NOSPLIT, $0-80
	MOVQ c+0(FP), SI
	MOVQ ldc+8(FP), BX
	MOVQ rows+16(FP), CX
	MOVQ corr+24(FP), R8
	MOVQ prm+32(FP), R9
	MOVQ nblk+40(FP), R10
	MOVQ tail+48(FP), AX
	KMOVW AX, K3
	MOVL ozp+56(FP), AX
	VPBROADCASTD AX, Z31
	MOVQ out+64(FP), DI
	MOVQ ldo+72(FP), DX
	MOVL $0xAAAA, AX
	KMOVW AX, K1

row:
	MOVQ SI, R11
	MOVQ R8, R12
	MOVQ R9, R13
	MOVQ DI, AX
	MOVQ R10, R14

blk:
	VMOVDQU32 (R11), Z0
	VPADDD    (R12), Z0, Z0
	VPSRLQ    $32, Z0, Z1
	VPMULDQ   (R13), Z0, Z2
	VPMULDQ   64(R13), Z1, Z3
	VPSRAQ    $63, Z2, Z4
	VPSRAQ    $63, Z3, Z5
	VPANDQ    384(R13), Z4, Z4
	VPANDQ    448(R13), Z5, Z5
	VPADDQ    256(R13), Z4, Z4
	VPADDQ    320(R13), Z5, Z5
	VPADDQ    Z4, Z2, Z2
	VPADDQ    Z5, Z3, Z3
	VPSRAVQ   128(R13), Z2, Z2
	VPSRAVQ   192(R13), Z3, Z3
	VPSLLQ    $32, Z3, Z3
	VPBLENDMD Z3, Z2, K1, Z2
	VPADDD    Z31, Z2, Z2
	CMPQ      R14, $1
	JEQ       last
	VPMOVSDB  Z2, (AX)
	ADDQ      $64, R11
	ADDQ      $64, R12
	ADDQ      $512, R13
	ADDQ      $16, AX
	DECQ      R14
	JMP       blk

last:
	VPMOVSDB Z2, K3, (AX)
	ADDQ     BX, SI
	ADDQ     DX, DI
	DECQ     CX
	JNZ      row
	VZEROUPPER
	RET

// func requantSingleAVX512(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, nblk int, tail uint64, ozp int32, out *int8, ldo uintptr)
//
// requantAVX512 when the rounding constant does not depend on the sign (rndNeg = rndPos).
TEXT ·requantSingleAVX512(SB), NOSPLIT, $0-80
	MOVQ c+0(FP), SI
	MOVQ ldc+8(FP), BX
	MOVQ rows+16(FP), CX
	MOVQ corr+24(FP), R8
	MOVQ prm+32(FP), R9
	MOVQ nblk+40(FP), R10
	MOVQ tail+48(FP), AX
	KMOVW AX, K3
	MOVL ozp+56(FP), AX
	VPBROADCASTD AX, Z31
	MOVQ out+64(FP), DI
	MOVQ ldo+72(FP), DX
	MOVL $0xAAAA, AX
	KMOVW AX, K1

srow:
	MOVQ SI, R11
	MOVQ R8, R12
	MOVQ R9, R13
	MOVQ DI, AX
	MOVQ R10, R14

sblk:
	VMOVDQU32 (R11), Z0
	VPADDD    (R12), Z0, Z0
	VPSRLQ    $32, Z0, Z1
	VPMULDQ   (R13), Z0, Z2
	VPMULDQ   64(R13), Z1, Z3
	VPADDQ    256(R13), Z2, Z2
	VPADDQ    320(R13), Z3, Z3
	VPSRAVQ   128(R13), Z2, Z2
	VPSRAVQ   192(R13), Z3, Z3
	VPSLLQ    $32, Z3, Z3
	VPBLENDMD Z3, Z2, K1, Z2
	VPADDD    Z31, Z2, Z2
	CMPQ      R14, $1
	JEQ       slast
	VPMOVSDB  Z2, (AX)
	ADDQ      $64, R11
	ADDQ      $64, R12
	ADDQ      $512, R13
	ADDQ      $16, AX
	DECQ      R14
	JMP       sblk

slast:
	VPMOVSDB Z2, K3, (AX)
	ADDQ     BX, SI
	ADDQ     DX, DI
	DECQ     CX
	JNZ      srow
	VZEROUPPER
	RET

// func xor80AVX2(dst *byte, src *int8, n int)
//
// dst[i] = src[i] XOR 0x80 for i < n; n is a positive multiple of 32.
TEXT ·xor80AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x80808080, AX
	MOVD AX, X1
	VPBROADCASTD X1, Y1

xloop:
	VPXOR   (SI), Y1, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $32, CX
	JNZ     xloop
	VZEROUPPER
	RET

// func requantOC4AVX512(c *int32, rows int, corr *int32, prm *int64, shuf *byte, mask uint64, ozp int32, out *int8, ldo uintptr)
//
// requantAVX512 for groups of 4 pixels × 4 channels (16 int32 per row of c, 64 bytes apart),
// one block of parameters for all rows; the 16 result bytes are packed by the byte shuffle
// shuf and the bytes set in mask stored at out (ldo bytes apart).
TEXT ·requantOC4AVX512(SB), NOSPLIT, $0-72
	MOVQ c+0(FP), SI
	MOVQ rows+8(FP), CX
	MOVQ corr+16(FP), R8
	MOVQ prm+24(FP), R13
	MOVQ shuf+32(FP), R9
	MOVQ mask+40(FP), AX
	KMOVW AX, K3
	MOVL ozp+48(FP), AX
	VPBROADCASTD AX, Z31
	MOVQ out+56(FP), DI
	MOVQ ldo+64(FP), DX
	MOVL $0xAAAA, AX
	KMOVW AX, K1
	VMOVDQU (R9), X6

qrow:
	VMOVDQU32 (SI), Z0
	VPADDD    (R8), Z0, Z0
	VPSRLQ    $32, Z0, Z1
	VPMULDQ   (R13), Z0, Z2
	VPMULDQ   64(R13), Z1, Z3
	VPSRAQ    $63, Z2, Z4
	VPSRAQ    $63, Z3, Z5
	VPANDQ    384(R13), Z4, Z4
	VPANDQ    448(R13), Z5, Z5
	VPADDQ    256(R13), Z4, Z4
	VPADDQ    320(R13), Z5, Z5
	VPADDQ    Z4, Z2, Z2
	VPADDQ    Z5, Z3, Z3
	VPSRAVQ   128(R13), Z2, Z2
	VPSRAVQ   192(R13), Z3, Z3
	VPSLLQ    $32, Z3, Z3
	VPBLENDMD Z3, Z2, K1, Z2
	VPADDD    Z31, Z2, Z2
	VPMOVSDB  Z2, X2
	VPSHUFB   X6, X2, X2
	VMOVDQU8  X2, K3, (DI)
	ADDQ      $64, SI
	ADDQ      DX, DI
	DECQ      CX
	JNZ       qrow
	VZEROUPPER
	RET
