//go:build !amd64

package kern

const hasAsmKernel = false

func asmKernel6x16(k int, a, b, c []float32, ldc int, accum bool) {
	panic("kern: no assembly kernel on this architecture")
}
