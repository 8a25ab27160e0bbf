package kern

import "math"

// BilinearCols are the per-output-column taps of a bilinear resize along x: source indices I0,
// I1 (every index < the row's length) and weights L0, L1.
type BilinearCols struct {
	I0, I1 []int32
	L0, L1 []float32
}

// FMA32 is float32(math.FMA(a, b, c)) of float32 operands: the exact a*b+c rounded to float64,
// then to float32 (ATen's float code compiled with FMA contraction, as the engine reproduces it).
func FMA32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// BilinearRow computes one output row of a bilinear resize from the two source rows r0 (weight
// ly0) and r1 (weight ly1): per column x, t0 = FMA32(r0[I0], L0, r0[I1]*L1), t1 likewise on r1,
// dst[x] = FMA32(t0, ly0, t1*ly1) — ATen's Interpolate<2> order. AVX2 gathers and
// double-precision FMAs on amd64, the same values.
func BilinearRow(dst, r0, r1 []float32, c *BilinearCols, ly0, ly1 float32) {
	k := bilinearRowFast(dst, r0, r1, c, ly0, ly1)
	for x := k; x < len(dst); x++ {
		i0, i1, l0, l1 := c.I0[x], c.I1[x], c.L0[x], c.L1[x]
		t0 := FMA32(r0[i0], l0, r0[i1]*l1)
		t1 := FMA32(r1[i0], l0, r1[i1]*l1)
		dst[x] = FMA32(t0, ly0, t1*ly1)
	}
}
