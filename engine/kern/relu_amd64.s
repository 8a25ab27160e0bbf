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
