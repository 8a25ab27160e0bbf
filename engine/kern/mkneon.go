//go:build ignore

// mkneon generates gemm_arm64.s (and its declarations, gemm_kernels_arm64.go): the NEON FMLA
// micro-kernels of the FP32 GEMM on arm64, and their blocked indirect variants (B rows read
// from the image, as amd64's sgemmKernelIndB*). Run: go run mkneon.go
//
// sgemmNeon<r>x16(k int, a, b, c *float32, ldc int, accum int, bias *float32), r = 1..6:
//
//	c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i] * b[l*16+j]   (i < r, j < 16)
//
// with a and b the packed panels (6 and 16 floats per l), the contract of the amd64 AVX2+FMA
// kernels (gemm_amd64.s): each accumulator starts at bias[i] (or 0), takes one fused
// multiply-add per l in order (FMLA by element, one rounding per step as VFMADD231PS), and is
// added to c when accum != 0, so both architectures compute the same float32 values bit for
// bit. As there, tiles of at most 3 rows alternate two sets of accumulators over l (even l and
// the odd tail into the first, odd l into the second, added at the end) to hide the FMA
// latency. The accumulators are V8-V31 (row i, columns 4j..4j+3 in V(8+4i+j); the second set
// at V20+4i+j); B in V0-V3; A in V4-V6 (two values of l per iteration: 12 floats).
//
// FMLA (by element) and FADD (vector) are emitted as WORD encodings (Arm ARM C7.2).
package main

import (
	"fmt"
	"os"
	"strings"
)

// fmlaElem encodes FMLA Vd.4S, Vn.4S, Vm.S[idx].
func fmlaElem(d, n, m, idx int) uint32 {
	return 0x4F801000 | uint32(idx&1)<<21 | uint32(idx>>1)<<11 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

// fadd encodes FADD Vd.4S, Vn.4S, Vm.4S.
func fadd(d, n, m int) uint32 {
	return 0x4E20D400 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

func acc(i, j int) int  { return 8 + 4*i + j }
func acc2(i, j int) int { return 20 + 4*i + j }

// step emits the 4r FMLAs of one l into the accumulators a: row i's A value is element el(i) of
// register reg(i).
func step(b *strings.Builder, r int, a func(i, j int) int, reg func(i int) int, el func(i int) int) {
	for i := range r {
		for j := range 4 {
			fmt.Fprintf(b, "\tWORD $0x%08x // FMLA V%d.4S, V%d.4S, V%d.S[%d]\n", fmlaElem(a(i, j), j, reg(i), el(i)), a(i, j), j, reg(i), el(i))
		}
	}
}

// initAcc emits the accumulator set-up (bias from R6 or zero; for tiles of at most 3 rows the
// zeroed second set) and returns the accumulators of odd l.
func initAcc(b *strings.Builder, r int) func(i, j int) int {
	b.WriteString("\tCBZ R6, zinit\n")
	for i := range r {
		fmt.Fprintf(b, "\tVLD1R (R6), [V%d.S4]\n\tADD $4, R6\n", acc(i, 0))
		for j := 1; j < 4; j++ {
			fmt.Fprintf(b, "\tVMOV V%d.B16, V%d.B16\n", acc(i, 0), acc(i, j))
		}
	}
	b.WriteString("\tB initdone\nzinit:\n")
	for i := range r {
		for j := range 4 {
			v := acc(i, j)
			fmt.Fprintf(b, "\tVEOR V%d.B16, V%d.B16, V%d.B16\n", v, v, v)
		}
	}
	b.WriteString("initdone:\n")
	if r > 3 {
		return acc
	}
	for i := range r {
		for j := range 4 {
			v := acc2(i, j)
			fmt.Fprintf(b, "\tVEOR V%d.B16, V%d.B16, V%d.B16\n", v, v, v)
		}
	}
	return acc2
}

// addSecond emits the sum of the two accumulator sets into the first.
func addSecond(b *strings.Builder, r int) {
	for i := range r {
		for j := range 4 {
			fmt.Fprintf(b, "\tWORD $0x%08x // FADD V%d.4S, V%d.4S, V%d.4S\n", fadd(acc(i, j), acc(i, j), acc2(i, j)), acc(i, j), acc(i, j), acc2(i, j))
		}
	}
}

// storeRows emits the stores of the r rows to C (R3, row stride R4 bytes), added to C when accum.
func storeRows(b *strings.Builder, r int, accum bool) {
	for i := range r {
		if i > 0 {
			b.WriteString("\tADD R4, R3\n")
		}
		if accum {
			b.WriteString("\tVLD1 (R3), [V0.S4, V1.S4, V2.S4, V3.S4]\n")
			for j := range 4 {
				fmt.Fprintf(b, "\tWORD $0x%08x // FADD V%d.4S, V%d.4S, V%d.4S\n", fadd(acc(i, j), acc(i, j), j), acc(i, j), acc(i, j), j)
			}
		}
		fmt.Fprintf(b, "\tVST1 [V%d.S4, V%d.S4, V%d.S4, V%d.S4], (R3)\n", acc(i, 0), acc(i, 1), acc(i, 2), acc(i, 3))
	}
}

func kernel(b *strings.Builder, r int) {
	name := fmt.Sprintf("sgemmNeon%dx16", r)
	fmt.Fprintf(b, "\n// func %s(k int, a, b, c *float32, ldc int, accum int, bias *float32)\nTEXT ·%s(SB), NOSPLIT, $0-56\n", name, name)
	b.WriteString("\tMOVD k+0(FP), R0\n\tMOVD a+8(FP), R1\n\tMOVD b+16(FP), R2\n\tMOVD c+24(FP), R3\n\tMOVD ldc+32(FP), R4\n\tLSL $2, R4\n\tMOVD bias+48(FP), R6\n")
	second := initAcc(b, r)
	dual := r <= 3
	b.WriteString("\tLSR $1, R0, R7\n\tAND $1, R0\n\tCBZ R7, tail\nloop2:\n")
	b.WriteString("\tVLD1.P 48(R1), [V4.S4, V5.S4, V6.S4]\n\tVLD1.P 64(R2), [V0.S4, V1.S4, V2.S4, V3.S4]\n")
	// l0: a[0..5] = V4[0..3], V5[0..1]
	step(b, r, acc, func(i int) int { return 4 + i/4 }, func(i int) int { return i % 4 })
	b.WriteString("\tVLD1.P 64(R2), [V0.S4, V1.S4, V2.S4, V3.S4]\n")
	// l1: a[6..11] = V5[2..3], V6[0..3]
	step(b, r, second, func(i int) int { return 5 + (i+2)/4 }, func(i int) int { return (i + 2) % 4 })
	b.WriteString("\tSUB $1, R7\n\tCBNZ R7, loop2\ntail:\n\tCBZ R0, store\n")
	b.WriteString("\tVLD1 (R1), [V4.S4]\n\tFMOVD 16(R1), F5\n\tVLD1.P 64(R2), [V0.S4, V1.S4, V2.S4, V3.S4]\n")
	step(b, r, acc, func(i int) int { return 4 + i/4 }, func(i int) int { return i % 4 })
	b.WriteString("store:\n")
	if dual {
		addSecond(b, r)
	}
	b.WriteString("\tMOVD accum+40(FP), R5\n\tCBZ R5, overwrite\n")
	storeRows(b, r, true)
	b.WriteString("\tRET\noverwrite:\n")
	storeRows(b, r, false)
	b.WriteString("\tRET\n")
}

// indBlockedKernel writes sgemmNeonIndB<r>x16(nblk, k int, a, src *float32, boffs, offs *int,
// c *float32, ldc int, accum int, bias *float32): the kernel above over nblk blocks of 16
// columns whose B rows are read from the image: row l of block j is src[boffs[2j]+offs[l]:+8]
// followed by src[boffs[2j+1]+offs[l]:+8], and block j writes c[16j:] — each block the same
// FMLAs in the same order as one packed-kernel call over all of k (the amd64 indirect kernels'
// contract, sgemmKernelIndB*).
func indBlockedKernel(b *strings.Builder, r int) {
	name := fmt.Sprintf("sgemmNeonIndB%dx16", r)
	fmt.Fprintf(b, "\n// func %s(nblk, k int, a, src *float32, boffs, offs *int, c *float32, ldc int, accum int, bias *float32)\nTEXT ·%s(SB), NOSPLIT, $0-80\n", name, name)
	b.WriteString("\tMOVD nblk+0(FP), R12\n\tMOVD boffs+32(FP), R13\n\tMOVD c+48(FP), R14\n\tMOVD ldc+56(FP), R4\n\tLSL $2, R4\n")
	b.WriteString("blk:\n\tMOVD k+8(FP), R0\n\tMOVD a+16(FP), R1\n\tMOVD src+24(FP), R2\n")
	b.WriteString("\tMOVD (R13), R9\n\tADD R9<<2, R2, R10\n\tMOVD 8(R13), R9\n\tADD R9<<2, R2, R11\n")
	b.WriteString("\tMOVD offs+40(FP), R8\n\tMOVD R14, R3\n\tMOVD bias+72(FP), R6\n")
	second := initAcc(b, r)
	dual := r <= 3
	loadB := "\tMOVD.P 8(R8), R9\n\tADD R9<<2, R10, R15\n\tVLD1 (R15), [V0.S4, V1.S4]\n\tADD R9<<2, R11, R15\n\tVLD1 (R15), [V2.S4, V3.S4]\n"
	b.WriteString("\tLSR $1, R0, R7\n\tAND $1, R0\n\tCBZ R7, tail\nloop2:\n")
	b.WriteString("\tVLD1.P 48(R1), [V4.S4, V5.S4, V6.S4]\n" + loadB)
	step(b, r, acc, func(i int) int { return 4 + i/4 }, func(i int) int { return i % 4 })
	b.WriteString(loadB)
	step(b, r, second, func(i int) int { return 5 + (i+2)/4 }, func(i int) int { return (i + 2) % 4 })
	b.WriteString("\tSUB $1, R7\n\tCBNZ R7, loop2\ntail:\n\tCBZ R0, store\n")
	b.WriteString("\tVLD1 (R1), [V4.S4]\n\tFMOVD 16(R1), F5\n" + loadB)
	step(b, r, acc, func(i int) int { return 4 + i/4 }, func(i int) int { return i % 4 })
	b.WriteString("store:\n")
	if dual {
		addSecond(b, r)
	}
	b.WriteString("\tMOVD accum+64(FP), R5\n\tCBZ R5, overwrite\n")
	storeRows(b, r, true)
	b.WriteString("\tB next\noverwrite:\n")
	storeRows(b, r, false)
	b.WriteString("next:\n\tADD $16, R13\n\tADD $64, R14\n\tSUB $1, R12\n\tCBNZ R12, blk\n\tRET\n")
}

func main() {
	var b, d strings.Builder
	b.WriteString("// Code generated by mkneon.go; DO NOT EDIT.\n\n//go:build arm64\n\n#include \"textflag.h\"\n")
	d.WriteString("// Code generated by mkneon.go; DO NOT EDIT.\n\n//go:build arm64\n\npackage kern\n")
	for r := 1; r <= 6; r++ {
		kernel(&b, r)
		fmt.Fprintf(&d, "\n//go:noescape\nfunc sgemmNeon%dx16(k int, a, b, c *float32, ldc int, accum int, bias *float32)\n", r)
	}
	for r := 1; r <= 6; r++ {
		indBlockedKernel(&b, r)
		fmt.Fprintf(&d, "\n//go:noescape\nfunc sgemmNeonIndB%dx16(nblk, k int, a, src *float32, boffs, offs *int, c *float32, ldc int, accum int, bias *float32)\n", r)
	}
	if err := os.WriteFile("gemm_arm64.s", []byte(b.String()), 0o644); err != nil {
		panic(err)
	}
	if err := os.WriteFile("gemm_kernels_arm64.go", []byte(d.String()), 0o644); err != nil {
		panic(err)
	}
}
