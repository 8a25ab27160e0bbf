//go:build amd64

#include "textflag.h"

// func fakeQuantAVX(dst, x *float32, n int, mask *bool, p *[8]float32)
//
// FakeQuantTensor over n values (a positive multiple of 8) with AVX: p holds inv (1/scale),
// zp, qmin, qmax, scale, big (float32(9.223372e18)) as float32. Per value, in float32 as the
// scalar code computes it: u = zp + roundeven(x*inv); special = u is NaN or u >= big (where
// the scalar code's int64 conversion gives MinInt64; for u < -big it does too, and clamping
// gives the same qmin and false mask); c = special ? qmin :
// min(max(u, qmin), qmax); dst = (c - zp) * scale (exact difference, one rounding of the
// product, as float32(float64(c-zp)*float64(scale))); mask (unless nil) = !special &&
// qmin <= u <= qmax as 0/1 bytes.
TEXT ·fakeQuantAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ mask+24(FP), DX
	MOVQ p+32(FP), AX
	VBROADCASTSS 0(AX), Y8   // inv
	VBROADCASTSS 4(AX), Y9   // zp
	VBROADCASTSS 8(AX), Y10  // qmin
	VBROADCASTSS 12(AX), Y11 // qmax
	VBROADCASTSS 16(AX), Y12 // scale
	VBROADCASTSS 20(AX), Y13 // big

fqloop:
	VMOVUPS    (SI), Y0
	VMULPS     Y8, Y0, Y0
	VROUNDPS   $0, Y0, Y0
	VADDPS     Y0, Y9, Y0           // u = zp + r
	VCMPPS     $3, Y0, Y0, Y1       // NaN
	VCMPPS     $13, Y13, Y0, Y2     // u >= big
	VORPS      Y2, Y1, Y1           // special (u < -big clamps to qmin with a false mask anyway)
	VMAXPS     Y10, Y0, Y4
	VMINPS     Y11, Y4, Y4
	VBLENDVPS  Y1, Y10, Y4, Y4      // special ? qmin : clamp
	VSUBPS     Y9, Y4, Y4
	VMULPS     Y12, Y4, Y4
	VMOVUPS    Y4, (DI)
	TESTQ      DX, DX
	JE         fqnext
	VCMPPS     $13, Y10, Y0, Y2     // u >= qmin
	VCMPPS     $2, Y11, Y0, Y3      // u <= qmax
	VANDPS     Y3, Y2, Y2
	VANDNPS    Y2, Y1, Y2           // !special && in range
	VEXTRACTF128 $1, Y2, X3
	VPACKSSDW  X3, X2, X2
	VPACKSSWB  X2, X2, X2
	VPABSB     X2, X2
	MOVQ       X2, (DX)
	ADDQ       $8, DX

fqnext:
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  fqloop
	VZEROUPPER
	RET

// func minMaxAVX(x *float32, n int, out *[3]float32)
//
// Over n values (a positive multiple of 8): out[0] = a minimum, out[1] = a maximum (lane-wise
// VMINPS/VMAXPS, then across lanes: the exact extreme values, though which of ±0 is not
// defined), out[2] != 0 when some value is NaN.
TEXT ·minMaxAVX(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    out+16(FP), DI
	VMOVUPS (SI), Y4
	VMOVUPS Y4, Y5
	VXORPS  Y6, Y6, Y6

mmloop:
	VMOVUPS (SI), Y0
	VMINPS  Y0, Y4, Y4
	VMAXPS  Y0, Y5, Y5
	VCMPPS  $3, Y0, Y0, Y1
	VORPS   Y1, Y6, Y6
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     mmloop
	VEXTRACTF128 $1, Y4, X0
	VMINPS  X0, X4, X4
	VPERMILPS $0x4e, X4, X0
	VMINPS  X0, X4, X4
	VPERMILPS $0xb1, X4, X0
	VMINPS  X0, X4, X4
	VEXTRACTF128 $1, Y5, X0
	VMAXPS  X0, X5, X5
	VPERMILPS $0x4e, X5, X0
	VMAXPS  X0, X5, X5
	VPERMILPS $0xb1, X5, X0
	VMAXPS  X0, X5, X5
	VEXTRACTF128 $1, Y6, X0
	VORPS   X0, X6, X6
	VPERMILPS $0x4e, X6, X0
	VORPS   X0, X6, X6
	VPERMILPS $0xb1, X6, X0
	VORPS   X0, X6, X6
	VMOVSS  X4, 0(DI)
	VMOVSS  X5, 4(DI)
	VMOVSS  X6, 8(DI)
	VZEROUPPER
	RET

// func histBinsAVX(x *float32, n int, bins *int32, p *[4]float32)
//
// For n values (a positive multiple of 8), p = a, b, 2048, w: bins[i] = the histc bin of x[i],
// trunc(fl32(fl32(x-a)*2048) / w) with results outside [0, 2048) (2048 itself, and overflowing
// ranges) giving 2047, or 2048 when !(a <= x <= b) (not counted).
TEXT ·histBinsAVX(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         bins+16(FP), DI
	MOVQ         p+24(FP), AX
	VBROADCASTSS 0(AX), Y8  // a
	VBROADCASTSS 4(AX), Y9  // b
	VBROADCASTSS 8(AX), Y10 // 2048
	VBROADCASTSS 12(AX), Y11 // w
	MOVL         $2047, BX
	VMOVD        BX, X12
	VPBROADCASTD X12, Y12
	MOVL         $2048, BX
	VMOVD        BX, X13
	VPBROADCASTD X13, Y13

hbloop:
	VMOVUPS    (SI), Y0
	VSUBPS     Y8, Y0, Y1
	VMULPS     Y10, Y1, Y1
	VDIVPS     Y11, Y1, Y1
	VCVTTPS2DQ Y1, Y1
	VPMINUD    Y12, Y1, Y1      // negative (as unsigned) or >= 2048 -> 2047
	VCMPPS     $13, Y8, Y0, Y2  // x >= a
	VCMPPS     $2, Y9, Y0, Y3   // x <= b
	VANDPS     Y3, Y2, Y2
	VBLENDVPS  Y2, Y1, Y13, Y1  // in range ? bin : 2048
	VMOVDQU    Y1, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	SUBQ       $8, CX
	JNZ        hbloop
	VZEROUPPER
	RET
