package kern

// genericKernel6x16 is the pure-Go micro-kernel: c[i*ldc+j] (+)= bias[i] + sum_l
// a[l*6+i]*b[l*16+j] (bias may be nil). It is used where the assembly kernel is unavailable
// (non-amd64, or no AVX2/FMA). The tile is done as four 6x4 column blocks so the 24
// accumulators can live in registers (arm64 has 32 FP registers).
func genericKernel6x16(k int, a, b, c []float32, ldc int, accum bool, bias *[gemmMR]float32) {
	a = a[:k*gemmMR]
	b = b[:k*gemmNR]
	var bv [gemmMR]float32
	if bias != nil {
		bv = *bias
	}
	for jb := 0; jb < gemmNR; jb += 4 {
		c00, c01, c02, c03 := bv[0], bv[0], bv[0], bv[0]
		c10, c11, c12, c13 := bv[1], bv[1], bv[1], bv[1]
		c20, c21, c22, c23 := bv[2], bv[2], bv[2], bv[2]
		c30, c31, c32, c33 := bv[3], bv[3], bv[3], bv[3]
		c40, c41, c42, c43 := bv[4], bv[4], bv[4], bv[4]
		c50, c51, c52, c53 := bv[5], bv[5], bv[5], bv[5]
		for l := 0; l < k; l++ {
			bb := (*[4]float32)(b[l*gemmNR+jb:])
			aa := (*[gemmMR]float32)(a[l*gemmMR:])
			b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
			a0 := aa[0]
			c00, c01, c02, c03 = c00+a0*b0, c01+a0*b1, c02+a0*b2, c03+a0*b3
			a1 := aa[1]
			c10, c11, c12, c13 = c10+a1*b0, c11+a1*b1, c12+a1*b2, c13+a1*b3
			a2 := aa[2]
			c20, c21, c22, c23 = c20+a2*b0, c21+a2*b1, c22+a2*b2, c23+a2*b3
			a3 := aa[3]
			c30, c31, c32, c33 = c30+a3*b0, c31+a3*b1, c32+a3*b2, c33+a3*b3
			a4 := aa[4]
			c40, c41, c42, c43 = c40+a4*b0, c41+a4*b1, c42+a4*b2, c43+a4*b3
			a5 := aa[5]
			c50, c51, c52, c53 = c50+a5*b0, c51+a5*b1, c52+a5*b2, c53+a5*b3
		}
		res := [gemmMR][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}}
		for i := 0; i < gemmMR; i++ {
			row := (*[4]float32)(c[i*ldc+jb:])
			if accum {
				row[0] += res[i][0]
				row[1] += res[i][1]
				row[2] += res[i][2]
				row[3] += res[i][3]
			} else {
				*row = res[i]
			}
		}
	}
}

func copyRows16Generic(dst, src []float32, offs []int, off1 int) {
	for l, o := range offs {
		d := dst[l*16 : l*16+16 : l*16+16]
		s0 := src[o : o+8 : o+8]
		s1 := src[o+off1 : o+off1+8 : o+off1+8]
		for j := range s0 {
			d[j] = s0[j]
			d[8+j] = s1[j]
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
