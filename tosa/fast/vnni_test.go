package fast

import (
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// TestVNNIKernel checks every assembly micro-kernel (1-12 rows × 16/32 channels) against the Go
// micro-kernel on random bytes, including the extremes 255·(-128) that stress the int32 sums.
func TestVNNIKernel(t *testing.T) {
	if !useVNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := newRand(77)
	for it := range 200 {
		rows, nb := 1+it%vnniMR, 1+(it/vnniMR)%2
		segs, nq := 1+r.IntN(4), 1+r.IntN(40)
		lda := 4*nq + r.IntN(9)
		segStride := rows*lda + r.IntN(17)
		aOff := r.IntN(5)
		a := make([]byte, aOff+segs*segStride+rows*lda+4*nq)
		w := make([]int8, segs*nq*nb*64)
		for i := range a {
			a[i] = byte(r.IntN(256))
			if it%7 == 0 {
				a[i] = 255
			}
		}
		for i := range w {
			w[i] = randI8(r)
			if it%7 == 0 {
				w[i] = -128
			}
		}
		ldc := 16*nb + r.IntN(20)
		cOff := r.IntN(7)
		got := make([]int32, cOff+rows*ldc+32)
		want := make([]int32, len(got))
		dotVNNI(rows, nb, a, aOff, lda, segs, segStride, nq, w, got, cOff, ldc)
		dotVNNIGo(rows, nb, a, aOff, lda, segs, segStride, nq, w, want, cOff, ldc)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("it %d rows %d nb %d segs %d nq %d: c[%d] = %d, want %d", it, rows, nb, segs, nq, i, got[i], want[i])
			}
		}
	}
}

// withPaths runs f with each CONV2D path this machine has: the VNNI layout with the assembly
// kernels, the VNNI layout with the Go micro-kernel and scalar epilogue, and the int16 path
// (AVX2 or Go).
func withPaths(t *testing.T, f func(t *testing.T)) {
	saved := useVNNI
	defer func() { useVNNI, vnniGo = saved, false }()
	if saved {
		t.Run("vnni", f)
	}
	useVNNI, vnniGo = false, true
	t.Run("vnniGo", f)
	vnniGo = false
	t.Run("int16", f)
}

func TestDiffConv2DPaths(t *testing.T) {
	withPaths(t, TestDiffConv2D)
}

func TestDiffConvRescalePaths(t *testing.T) {
	withPaths(t, TestDiffConvRescale)
}

// TestVNNIChosen checks that the upscaler's convolutions take the VNNI path with the
// vectorized RESCALE epilogue on a VNNI CPU (or the Go VNNI layout when forced).
func TestVNNIChosen(t *testing.T) {
	saved := useVNNI
	defer func() { vnniGo = false }()
	vnniGo = true
	g := buildUpscaler(t, 3, 16, 16, 32)
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	n, fused := 0, 0
	for _, s := range p.steps {
		if s.op.Op == tosa.OpConv2D && s.conv != nil && s.conv.v != nil {
			n++
			if s.conv.v.prm != nil {
				fused++
			}
			if !s.conv.v.direct || s.conv.v.ICp != (s.conv.IC+3)/4*4 {
				t.Errorf("conv with IC %d: direct = %v, ICp = %d", s.conv.IC, s.conv.v.direct, s.conv.v.ICp)
			}
		}
	}
	if n != 3 || fused != 3 {
		t.Errorf("%d convolutions on the VNNI path, %d with the vectorized epilogue; want 3 and 3 (cpu VNNI: %v)", n, fused, saved)
	}
}

func TestXor80(t *testing.T) {
	r := newRand(5)
	for n := range 200 {
		src := i8s(r, n)
		dst := make([]byte, n+1)
		dst[n] = 7
		xor80(dst[:n], src)
		for i, x := range src {
			if dst[i] != byte(int(x)+128) {
				t.Fatalf("n %d: dst[%d] = %d, want %d", n, i, dst[i], int(x)+128)
			}
		}
		if dst[n] != 7 {
			t.Fatalf("n %d: wrote past the end", n)
		}
	}
}
