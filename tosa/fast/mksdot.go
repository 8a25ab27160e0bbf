//go:build ignore

// mksdot generates sdot_arm64.s (and its declarations, sdot_arm64.go): the NEON SDOT (ASIMD
// dot product, Armv8.2 FEAT_DotProd) micro-kernels of the INT8 CONV2D on arm64, for tiles of
// 1-4 output pixels, and the NEON epilogue of a fused RESCALE (requantNEON, below). Run: go run mksdot.go
//
// dotSDOT<r>x16(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, wstride uintptr, c *int32, ldc uintptr)
//
// For row (pixel) i < r and channel ch < 16:
//
//	c[i·ldc + ch] = Σ_{s<segs} Σ_{q<nq} Σ_{e<4} a[s·segStride + i·lda + 4q + e] · w[(s·nq + q)·wstride + ch·4 + e]
//
// with a and w read as int8 (SDOT by element: exact int32 products and sums of four, int32
// accumulation that wraps). lda, segStride, wstride and ldc are in bytes; segs, nq >= 1.
// Four quads of a pixel are loaded at once and used by element (index 0-3).
//
// dotSDOT<r>xOC4(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, c *int32, ldc uintptr)
//
// For row i < r and channel j < 4 (nq a multiple of 4):
//
//	c[i·ldc + j] = Σ_{s,q,e} a[s·segStride + i·lda + 4q + e] · w[((s·nq + q)/4)·64 + j·16 + (q%4)·4 + e]
//
// (the layout of dotOC4Go): one vector SDOT per pixel, channel and 4 quads, the four lanes
// summed at the end (ADDP).
//
// The Go assembler has no mnemonic for SDOT or ADDP on 32-bit lanes with these operand forms, so
// they are emitted as WORD encodings (Arm ARM, C7.2: SDOT (by element), SDOT (vector), ADDP (vector)).
package main

import (
	"fmt"
	"os"
	"strings"
)

const maxRows = 4

// sdotElem encodes SDOT Vd.4S, Vn.16B, Vm.4B[idx].
func sdotElem(d, n, m, idx int) uint32 {
	return 0x4F80E000 | uint32(idx&1)<<21 | uint32(idx>>1)<<11 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

// sdotVec encodes SDOT Vd.4S, Vn.16B, Vm.16B.
func sdotVec(d, n, m int) uint32 {
	return 0x4E809400 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

// addp encodes ADDP Vd.4S, Vn.4S, Vm.4S: [n0+n1, n2+n3, m0+m1, m2+m3].
func addp(d, n, m int) uint32 {
	return 0x4EA0BC00 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

func acc(r, j int) int { return 8 + 4*r + j } // V8-V23
func pix(r int) int    { return 24 + r }      // V24-V27
// weights: V0-V3

// rowPtr is the register holding row r's address in the current segment.
func rowPtr(r int) string { return fmt.Sprintf("R%d", 10+r) }

func prologue(b *strings.Builder, name string, frame, r int, extra string) {
	fmt.Fprintf(b, "\n// func %s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", name, name, frame)
	b.WriteString("\tMOVD a+0(FP), R0\n\tMOVD lda+8(FP), R1\n\tMOVD segs+16(FP), R2\n\tMOVD segStride+24(FP), R3\n\tMOVD nq+32(FP), R4\n\tMOVD w+40(FP), R5\n")
	b.WriteString(extra)
	for i := range r {
		for j := range 4 {
			v := acc(i, j)
			fmt.Fprintf(b, "\tVEOR V%d.B16, V%d.B16, V%d.B16\n", v, v, v)
		}
	}
	b.WriteString("seg:\n\tMOVD R0, R10\n")
	for i := 1; i < r; i++ {
		fmt.Fprintf(b, "\tADD R1, %s, %s\n", rowPtr(i-1), rowPtr(i))
	}
	b.WriteString("\tMOVD R4, R9\n")
}

func kernel16(b *strings.Builder, r int) {
	prologue(b, fmt.Sprintf("dotSDOT%dx16", r), 72, r, "\tMOVD wstride+48(FP), R6\n")
	b.WriteString("\tCMP $4, R9\n\tBLT tail\nquad4:\n")
	for i := range r {
		fmt.Fprintf(b, "\tVLD1.P 16(%s), [V%d.B16]\n", rowPtr(i), pix(i))
	}
	for idx := range 4 {
		b.WriteString("\tVLD1.P (R5)(R6), [V0.B16, V1.B16, V2.B16, V3.B16]\n")
		for i := range r {
			for j := range 4 {
				fmt.Fprintf(b, "\tWORD $0x%08x // SDOT V%d.4S, V%d.16B, V%d.4B[%d]\n", sdotElem(acc(i, j), j, pix(i), idx), acc(i, j), j, pix(i), idx)
			}
		}
	}
	b.WriteString("\tSUB $4, R9\n\tCMP $4, R9\n\tBGE quad4\ntail:\n\tCBZ R9, segend\ntail1:\n")
	for i := range r {
		fmt.Fprintf(b, "\tFMOVS (%s), F%d\n\tADD $4, %s\n", rowPtr(i), pix(i), rowPtr(i))
	}
	b.WriteString("\tVLD1.P (R5)(R6), [V0.B16, V1.B16, V2.B16, V3.B16]\n")
	for i := range r {
		for j := range 4 {
			fmt.Fprintf(b, "\tWORD $0x%08x // SDOT V%d.4S, V%d.16B, V%d.4B[0]\n", sdotElem(acc(i, j), j, pix(i), 0), acc(i, j), j, pix(i))
		}
	}
	b.WriteString("\tSUB $1, R9\n\tCBNZ R9, tail1\nsegend:\n\tADD R3, R0\n\tSUB $1, R2\n\tCBNZ R2, seg\n")
	b.WriteString("\tMOVD c+56(FP), R7\n\tMOVD ldc+64(FP), R8\n")
	for i := range r {
		if i > 0 {
			b.WriteString("\tADD R8, R7\n")
		}
		fmt.Fprintf(b, "\tVST1 [V%d.S4, V%d.S4, V%d.S4, V%d.S4], (R7)\n", acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3))
	}
	b.WriteString("\tRET\n")
}

func kernelOC4(b *strings.Builder, r int) {
	prologue(b, fmt.Sprintf("dotSDOT%dxOC4", r), 64, r, "")
	b.WriteString("quad4:\n")
	for i := range r {
		fmt.Fprintf(b, "\tVLD1.P 16(%s), [V%d.B16]\n", rowPtr(i), pix(i))
	}
	b.WriteString("\tVLD1.P 64(R5), [V0.B16, V1.B16, V2.B16, V3.B16]\n")
	for i := range r {
		for j := range 4 {
			fmt.Fprintf(b, "\tWORD $0x%08x // SDOT V%d.4S, V%d.16B, V%d.16B\n", sdotVec(acc(i, j), j, pix(i)), acc(i, j), j, pix(i))
		}
	}
	b.WriteString("\tSUB $4, R9\n\tCBNZ R9, quad4\n\tADD R3, R0\n\tSUB $1, R2\n\tCBNZ R2, seg\n")
	b.WriteString("\tMOVD c+48(FP), R7\n\tMOVD ldc+56(FP), R8\n")
	for i := range r {
		if i > 0 {
			b.WriteString("\tADD R8, R7\n")
		}
		fmt.Fprintf(b, "\tWORD $0x%08x // ADDP V28.4S, V%d.4S, V%d.4S\n", addp(28, acc(i, 0), acc(i, 1)), acc(i, 0), acc(i, 1))
		fmt.Fprintf(b, "\tWORD $0x%08x // ADDP V29.4S, V%d.4S, V%d.4S\n", addp(29, acc(i, 2), acc(i, 3)), acc(i, 2), acc(i, 3))
		fmt.Fprintf(b, "\tWORD $0x%08x // ADDP V30.4S, V28.4S, V29.4S\n", addp(30, 28, 29))
		b.WriteString("\tVST1 [V30.S4], (R7)\n")
	}
	b.WriteString("\tRET\n")
}

// requantNEON emits requantNEON(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, ngroups int, ozp int32, out *int8, ldo uintptr):
// the fused RESCALE epilogue (proven safe, input_zp 0, int8 output) for rows × 4·ngroups
// channels. Per channel: value = c + corr (int32, wrapping), res = (value·mul + rnd) >> shift
// in int64 with rnd = rndPos, or rndPos + rndDelta when value < 0, then res + ozp saturated to
// int8. prm holds per group of 4 channels 14 int64: mul as 4 int32 (2 slots), then for lanes
// 0-1 and 2-3: -shift, rndPos, rndDelta (4 slots each). ldc and ldo in bytes.
func requantNEON(b *strings.Builder) {
	w := func(x uint32, text string) { fmt.Fprintf(b, "\tWORD $0x%08x // %s\n", x, text) }
	rd := func(base uint32, d, n, m int) uint32 { return base | uint32(m)<<16 | uint32(n)<<5 | uint32(d) }
	b.WriteString("\n// func requantNEON(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, ngroups int, ozp int32, out *int8, ldo uintptr)\n")
	b.WriteString("TEXT ·requantNEON(SB), NOSPLIT, $0-72\n")
	b.WriteString("\tMOVD c+0(FP), R0\n\tMOVD ldc+8(FP), R1\n\tMOVD rows+16(FP), R2\n\tMOVD corr+24(FP), R3\n\tMOVD prm+32(FP), R4\n\tMOVD ngroups+40(FP), R5\n\tMOVW ozp+48(FP), R6\n\tMOVD out+56(FP), R7\n\tMOVD ldo+64(FP), R8\n")
	b.WriteString("\tVDUP R6, V31.S4\nrow:\n\tMOVD R0, R10\n\tMOVD R3, R11\n\tMOVD R4, R12\n\tMOVD R7, R13\n\tMOVD R5, R9\ngroup:\n")
	b.WriteString("\tVLD1.P 16(R10), [V0.S4]\n\tVLD1.P 16(R11), [V1.S4]\n\tVLD1.P 64(R12), [V2.D2, V3.D2, V4.D2, V5.D2]\n\tVLD1.P 48(R12), [V6.D2, V7.D2, V8.D2]\n")
	w(rd(0x4EA08400, 0, 0, 1), "ADD V0.4S, V0.4S, V1.4S")
	w(rd(0x4EA0A800, 9, 0, 0), "CMLT V9.4S, V0.4S, #0")
	w(rd(0x0F20A400, 10, 9, 0), "SXTL V10.2D, V9.2S")
	w(rd(0x4F20A400, 11, 9, 0), "SXTL2 V11.2D, V9.4S")
	w(rd(0x4E201C00, 10, 10, 7), "AND V10.16B, V10.16B, V7.16B")
	w(rd(0x4E201C00, 11, 11, 8), "AND V11.16B, V11.16B, V8.16B")
	w(rd(0x4EE08400, 10, 10, 5), "ADD V10.2D, V10.2D, V5.2D")
	w(rd(0x4EE08400, 11, 11, 6), "ADD V11.2D, V11.2D, V6.2D")
	w(rd(0x0EA0C000, 12, 0, 2), "SMULL V12.2D, V0.2S, V2.2S")
	w(rd(0x4EA0C000, 13, 0, 2), "SMULL2 V13.2D, V0.4S, V2.4S")
	w(rd(0x4EE08400, 12, 12, 10), "ADD V12.2D, V12.2D, V10.2D")
	w(rd(0x4EE08400, 13, 13, 11), "ADD V13.2D, V13.2D, V11.2D")
	w(rd(0x4EE04400, 12, 12, 3), "SSHL V12.2D, V12.2D, V3.2D (negative: arithmetic shift right)")
	w(rd(0x4EE04400, 13, 13, 4), "SSHL V13.2D, V13.2D, V4.2D")
	w(rd(0x0EA12800, 14, 12, 0), "XTN V14.2S, V12.2D")
	w(rd(0x4EA12800, 14, 13, 0), "XTN2 V14.4S, V13.2D")
	w(rd(0x4EA08400, 14, 14, 31), "ADD V14.4S, V14.4S, V31.4S")
	w(rd(0x0E614800, 15, 14, 0), "SQXTN V15.4H, V14.4S")
	w(rd(0x0E214800, 15, 15, 0), "SQXTN V15.8B, V15.8H")
	b.WriteString("\tFMOVS F15, (R13)\n\tADD $4, R13\n\tSUB $1, R9\n\tCBNZ R9, group\n")
	b.WriteString("\tADD R1, R0\n\tADD R8, R7\n\tSUB $1, R2\n\tCBNZ R2, row\n\tRET\n")
}

func main() {
	var b strings.Builder
	b.WriteString("// Code generated by mksdot.go; DO NOT EDIT.\n\n//go:build arm64\n\n#include \"textflag.h\"\n")
	var d strings.Builder
	d.WriteString("// Code generated by mksdot.go; DO NOT EDIT.\n\n//go:build arm64\n\npackage fast\n")
	for r := 1; r <= maxRows; r++ {
		kernel16(&b, r)
		fmt.Fprintf(&d, "\n//go:noescape\nfunc dotSDOT%dx16(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, wstride uintptr, c *int32, ldc uintptr)\n", r)
	}
	for r := 1; r <= maxRows; r++ {
		kernelOC4(&b, r)
		fmt.Fprintf(&d, "\n//go:noescape\nfunc dotSDOT%dxOC4(a *byte, lda uintptr, segs int, segStride uintptr, nq int, w *int8, c *int32, ldc uintptr)\n", r)
	}
	requantNEON(&b)
	d.WriteString("\n//go:noescape\nfunc requantNEON(c *int32, ldc uintptr, rows int, corr *int32, prm *int64, ngroups int, ozp int32, out *int8, ldo uintptr)\n")
	if err := os.WriteFile("sdot_arm64.s", []byte(b.String()), 0o644); err != nil {
		panic(err)
	}
	if err := os.WriteFile("sdot_arm64.go", []byte(d.String()), 0o644); err != nil {
		panic(err)
	}
}
