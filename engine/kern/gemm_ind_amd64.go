//go:build amd64

package kern

// Micro-kernels that read B straight from an image instead of a packed panel
// (gemm_ind_amd64.s, generated like gemm_small_amd64.s): row l of the 16-wide B tile is
// b0[offs[l]:+8] followed by b1[offs[l]:+8]. A convolution with at most 6 output channels per
// group uses them so that the column matrix, each element of which would be used only once or
// twice, is never packed.

//go:noescape
func sgemmKernelInd1x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

//go:noescape
func sgemmKernelInd2x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

//go:noescape
func sgemmKernelInd3x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

//go:noescape
func sgemmKernelInd4x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

//go:noescape
func sgemmKernelInd5x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

//go:noescape
func sgemmKernelInd6x16(k int, a, b0, b1 *float32, offs *int, c *float32, ldc int, accum int, bias *float32)

const hasIndKernel = true

// indKernelRows computes, for the first mr rows of the packed A panel a (k x 6),
// c[i*ldc+j] (+)= bias[i] + sum_l a[l*6+i] * src[off0+offs[l]+j] (j < 8) or
// src[off1+offs[l]+j-8] (8 <= j < 16). The caller guarantees the index ranges.
func indKernelRows(mr, k int, a, src []float32, off0, off1 int, offs []int, c []float32, ldc int, accum bool, bias *float32) {
	acc := 0
	if accum {
		acc = 1
	}
	pa, p0, p1, po, pc := &a[0], &src[off0], &src[off1], &offs[0], &c[0]
	switch mr {
	case 1:
		sgemmKernelInd1x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	case 2:
		sgemmKernelInd2x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	case 3:
		sgemmKernelInd3x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	case 4:
		sgemmKernelInd4x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	case 5:
		sgemmKernelInd5x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	default:
		sgemmKernelInd6x16(k, pa, p0, p1, po, pc, ldc, acc, bias)
	}
}
