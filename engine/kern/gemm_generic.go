package kern

// genericKernel6x16 is the pure-Go micro-kernel: c[i*ldc+j] (+)= bias[i] + sum_l
// a[l*6+i]*b[l*16+j] (bias may be nil).
// It is used where the assembly kernel is unavailable (non-amd64, or no AVX2/FMA).
func genericKernel6x16(k int, a, b, c []float32, ldc int, accum bool, bias *[gemmMR]float32) {
	var acc [gemmMR][gemmNR]float32
	if bias != nil {
		for i := range acc {
			for j := range acc[i] {
				acc[i][j] = bias[i]
			}
		}
	}
	a = a[:k*gemmMR]
	b = b[:k*gemmNR]
	for l := 0; l < k; l++ {
		bb := (*[gemmNR]float32)(b[l*gemmNR:])
		aa := (*[gemmMR]float32)(a[l*gemmMR:])
		for i := 0; i < gemmMR; i++ {
			ai := aa[i]
			r := &acc[i]
			for j := 0; j < gemmNR; j++ {
				r[j] += ai * bb[j]
			}
		}
	}
	for i := 0; i < gemmMR; i++ {
		row := c[i*ldc : i*ldc+gemmNR]
		if accum {
			for j, v := range acc[i] {
				row[j] += v
			}
		} else {
			copy(row, acc[i][:])
		}
	}
}

func copyRows16Generic(dst, src []float32, offs []int) {
	for l, o := range offs {
		d := dst[l*16 : l*16+16 : l*16+16]
		s := src[o : o+16 : o+16]
		for j := range d {
			d[j] = s[j]
		}
	}
}

func transposeRows16Generic(dst, src []float32, offs *[16]int, n int) {
	for j, o := range offs {
		s := src[o : o+n]
		for t, v := range s {
			dst[t*16+j] = v
		}
	}
}
