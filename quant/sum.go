package quant

// SumLanes is the float32 vector width ATen's CPU sum uses: 8 (AVX2, the default here and the
// capability the golden vectors were generated with) or 16 (AVX-512 builds). torch.sum's result
// depends on it in the last bits, so a histogram search can differ on near-ties between the two.
var SumLanes = 8

// sum32 emulates torch.sum of a contiguous float32 vector on the CPU (ATen's cascade_sum:
// vectorized_inner_sum -> row_sum -> multi_row_sum with 4 ILP accumulators and 4 levels), with
// float32 accumulators of `lanes` lanes.
func sum32(x []float32, lanes int) float32 {
	n := len(x)
	if n < lanes { // scalar_inner_sum: the same cascade on single elements
		lanes = 1
	}
	L := lanes
	vecSize := n / L
	const ilp = 4
	sizeILP := vecSize / ilp
	levelPower := ceilLog2(sizeILP) / 4
	if levelPower < 4 {
		levelPower = 4
	}
	levelStep := 1 << levelPower
	levelMask := levelStep - 1
	const levels = 4
	// acc[level][row k][lane]
	var accBuf [levels * ilp * 16]float32
	acc := func(j, k int) []float32 { o := (j*ilp + k) * L; return accBuf[o : o+L] }
	load := func(dst []float32, vec int) { // dst += vector number vec
		src := x[vec*L : vec*L+L]
		for l := range dst {
			dst[l] += src[l]
		}
	}
	i := 0
	for i+levelStep <= sizeILP {
		for j := 0; j < levelStep; j, i = j+1, i+1 {
			for k := 0; k < ilp; k++ {
				load(acc(0, k), i*ilp+k)
			}
		}
		for j := 1; j < levels; j++ {
			for k := 0; k < ilp; k++ {
				a, b := acc(j, k), acc(j-1, k)
				for l := range a {
					a[l] += b[l]
					b[l] = 0
				}
			}
			if i&(levelMask<<(j*levelPower)) != 0 {
				break
			}
		}
	}
	for ; i < sizeILP; i++ {
		for k := 0; k < ilp; k++ {
			load(acc(0, k), i*ilp+k)
		}
	}
	for j := 1; j < levels; j++ {
		for k := 0; k < ilp; k++ {
			a, b := acc(0, k), acc(j, k)
			for l := range a {
				a[l] += b[l]
			}
		}
	}
	p0 := acc(0, 0)
	for v := sizeILP * ilp; v < vecSize; v++ {
		load(p0, v)
	}
	for k := 1; k < ilp; k++ {
		b := acc(0, k)
		for l := range p0 {
			p0[l] += b[l]
		}
	}
	if L == 1 {
		return p0[0]
	}
	var final float32
	for k := vecSize * L; k < n; k++ {
		final += x[k]
	}
	for _, v := range p0 {
		final += v
	}
	return final
}

// ceilLog2 is c10::utils::CeilLog2 (1 for x <= 2).
func ceilLog2(x int) int {
	if x <= 2 {
		return 1
	}
	n, v := 0, uint64(x-1)
	for v != 0 {
		n++
		v >>= 1
	}
	return n
}
