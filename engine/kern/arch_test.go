package kern

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// TestConvSameBitsOnEveryArch: the float32 results of the assembly GEMM and convolutions are
// the same on amd64 (AVX2+FMA) and arm64 (NEON): both do one fused multiply-add per k in the same
// order (two accumulator sets for tiles of at most 3 rows, whole-k indirect kernels for convs
// with at most 6 outputs), so calibration on either gives the same quantized model. The hashes
// were recorded on amd64; tools/cross/test-arm64.sh checks them on arm64. (The pure-Go fallback
// is not covered: Go fuses a*b+c on arm64 but not on amd64.)
func TestConvSameBitsOnEveryArch(t *testing.T) {
	if !hasAsmKernel {
		t.Skip("no assembly micro-kernel on this CPU")
	}
	det := func(n int, s uint32) []float32 {
		x := make([]float32, n)
		for i := range x {
			s = s*1664525 + 1013904223
			x[i] = float32(int32(s>>8)%2000) / 1000
		}
		return x
	}
	hash := func(x []float32) string {
		h := sha256.New()
		for _, v := range x {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
		return fmt.Sprintf("%x", h.Sum(nil)[:8])
	}
	conv := func(c, o, k int) Conv2dParams {
		return Conv2dParams{N: 2, C: c, H: 16, W: 16, O: o, KH: k, KW: k, StrideH: 1, StrideW: 1, PadH: k / 2, PadW: k / 2, DilH: 1, DilW: 1, Groups: 1}
	}
	for _, tc := range []struct {
		name string
		p    Conv2dParams
		want string
	}{
		{"3to32k3", conv(3, 32, 3), "f2ee1b50f1af2e5d f33bf37ad6d1a3a6 aeb71991598d2eb0"},   // 6-row tiles and a 2-row tile (two accumulator sets)
		{"32to3k3", conv(32, 3, 3), "b1e4c5e78304fb64 a384f94fb909fff7 2045845cba59b8c4"},   // indirect kernel, k = 288 > KC
		{"32to32k5", conv(32, 32, 5), "c69181b3311bdf40 25906641d7e419aa 62ff86dfcd091764"}, // KC blocks (k = 800), 6-row tiles and a 2-row tile
		{"8to5k1", conv(8, 5, 1), "406f3b1da822bf12 340dd0d2013edfa9 bda89e2f36453e0d"},     // direct 1x1, 5-row tile
	} {
		p := tc.p
		oh, ow := p.OutHW()
		x, w, b := det(p.N*p.C*p.H*p.W, 1), det(p.O*p.C*p.KH*p.KW, 2), det(p.O, 3)
		y := make([]float32, p.N*p.O*oh*ow)
		Conv2d(p, x, w, b, y)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		Conv2dBackward(p, x, w, y, dx, dw, nil)
		got := hash(y) + " " + hash(dx) + " " + hash(dw)
		t.Logf("%s: %s", tc.name, got)
		if got != tc.want {
			t.Errorf("%s: hashes of y, dx, dw = %s, want %s", tc.name, got, tc.want)
		}
	}
}
