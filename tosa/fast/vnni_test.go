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
	testDotKernel(t, dotVNNI, dotVNNIGo)
}

// TestSDOTKernel checks the NEON SDOT micro-kernels (arm64) against dotSDOTGo, as
// TestVNNIKernel does for VNNI.
func TestSDOTKernel(t *testing.T) {
	if !useSDOT {
		t.Skip("no ASIMD dot product on this CPU")
	}
	testDotKernel(t, dotSDOT, dotSDOTGo)
}

// TestDotGoKernels checks the Go micro-kernels (unsigned and signed bytes) against a direct
// evaluation of their definition in int64, reduced modulo 2^32.
func TestDotGoKernels(t *testing.T) {
	for _, signed := range []bool{false, true} {
		f := dotVNNIGo
		if signed {
			f = dotSDOTGo
		}
		testDotKernel(t, f, func(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int) {
			for i := range rows {
				for ch := range 16 * nb {
					s := int64(0)
					for sg := range segs {
						for q := range nq {
							for e := range 4 {
								x := int64(a[aOff+sg*segStride+i*lda+4*q+e])
								if signed {
									x = int64(int8(a[aOff+sg*segStride+i*lda+4*q+e]))
								}
								s += x * int64(w[((sg*nq+q)*nb+ch/16)*64+(ch%16)*4+e])
							}
						}
					}
					c[cOff+i*ldc+ch] = int32(s)
				}
			}
		})
	}
}

type dotKernel func(rows, nb int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, cOff, ldc int)

// testDotKernel compares kernel against want on random tiles of 1-12 rows × 16/32 channels.
func testDotKernel(t *testing.T, kernel, wantKernel dotKernel) {
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
				a[i] = []byte{255, 128}[it%2]
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
		kernel(rows, nb, a, aOff, lda, segs, segStride, nq, w, got, cOff, ldc)
		wantKernel(rows, nb, a, aOff, lda, segs, segStride, nq, w, want, cOff, ldc)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("it %d rows %d nb %d segs %d nq %d: c[%d] = %d, want %d", it, rows, nb, segs, nq, i, got[i], want[i])
			}
		}
	}
}

// withPaths runs f with each CONV2D path this machine has: the VNNI layout with the assembly
// kernels (amd64) or its signed variant with the SDOT kernels (arm64), the VNNI layout with the
// Go micro-kernel and scalar epilogue, the signed variant with the Go micro-kernel, and the int16
// path (AVX2 or Go).
func withPaths(t *testing.T, f func(t *testing.T)) {
	saved, savedSDOT := useVNNI, useSDOT
	defer func() { useVNNI, useSDOT, vnniGo, sdotGo = saved, savedSDOT, false, false }()
	if saved {
		t.Run("vnni", f)
	}
	useVNNI = false
	if savedSDOT {
		t.Run("sdot", f)
	}
	useSDOT, vnniGo = false, true
	t.Run("vnniGo", f)
	vnniGo, sdotGo = false, true
	t.Run("sdotGo", f)
	sdotGo = false
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
			if oc4 := s.conv.v.groups[0].nb == 0; oc4 != (s.conv.OC == 3) {
				t.Errorf("conv with OC %d: 4-channel kernel %v", s.conv.OC, oc4)
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

// TestOC4Kernel checks the assembly kernels for at most 4 channels against dotOC4Go.
func TestOC4Kernel(t *testing.T) {
	if !useVNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	testOC4Kernel(t, dotOC4, dotOC4Go)
}

// TestSDOTOC4Kernel checks the NEON SDOT kernels for at most 4 channels against dotSDOTOC4Go.
func TestSDOTOC4Kernel(t *testing.T) {
	if !useSDOT {
		t.Skip("no ASIMD dot product on this CPU")
	}
	testOC4Kernel(t, dotSDOTOC4, dotSDOTOC4Go)
}

// TestOC4GoKernels checks the Go 4-channel kernels against their definition evaluated in int64.
func TestOC4GoKernels(t *testing.T) {
	for _, signed := range []bool{false, true} {
		f := dotOC4Go
		if signed {
			f = dotSDOTOC4Go
		}
		testOC4Kernel(t, f, func(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int) {
			for i := range rows {
				for j := range 4 {
					s := int64(0)
					for sg := range segs {
						for q := range nq {
							g := sg*nq + q
							for e := range 4 {
								x := int64(a[aOff+sg*segStride+i*lda+4*q+e])
								if signed {
									x = int64(int8(a[aOff+sg*segStride+i*lda+4*q+e]))
								}
								s += x * int64(w[(g/4)*64+j*16+(g%4)*4+e])
							}
						}
					}
					c[i*ldc+j] = int32(s)
				}
			}
		})
	}
}

type oc4Kernel func(rows int, a []byte, aOff, lda, segs, segStride, nq int, w []int8, c []int32, ldc int)

func testOC4Kernel(t *testing.T, kernel, wantKernel oc4Kernel) {
	r := newRand(78)
	for it := range 120 {
		rows := 1 + it%vnniMR
		segs, nq := 1+r.IntN(4), 4*(1+r.IntN(10))
		lda := 4*nq + r.IntN(9)
		segStride := rows*lda + r.IntN(17)
		aOff := r.IntN(5)
		a := make([]byte, aOff+segs*segStride+rows*lda+4*nq)
		w := make([]int8, segs*nq*16)
		for i := range a {
			a[i] = byte(r.IntN(256))
			if it%7 == 0 {
				a[i] = []byte{255, 128}[it%2]
			}
		}
		for i := range w {
			w[i] = randI8(r)
			if it%7 == 0 {
				w[i] = -128
			}
		}
		ldc := 4 + r.IntN(20)
		got := make([]int32, rows*ldc+4)
		want := make([]int32, len(got))
		kernel(rows, a, aOff, lda, segs, segStride, nq, w, got, ldc)
		wantKernel(rows, a, aOff, lda, segs, segStride, nq, w, want, ldc)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("it %d rows %d segs %d nq %d: c[%d] = %d, want %d", it, rows, segs, nq, i, got[i], want[i])
			}
		}
	}
}

// TestDiffConvFewChannels: CONV2D → RESCALE with at most 4 output channels and 16 or 32 input
// channels (the layout of dotOC4), on every path.
func TestDiffConvFewChannels(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		var st diffStats
		oc4 := 0
		for it := range 60 {
			r := newRand(8500 + uint64(it))
			IH, IW, IC, OC := 1+r.IntN(14), 1+r.IntN(30), 16*(1+r.IntN(2)), 1+r.IntN(4)
			KH, KW := 1+r.IntN(3), []int{1, 2, 3, 4}[r.IntN(4)]
			attr := tosa.Attr{Pad: []int{r.IntN(2), r.IntN(2), r.IntN(2), r.IntN(2)}, Stride: []int{1 + r.IntN(2), 1 + r.IntN(2)}, Dilation: []int{1 + r.IntN(2), 1}, AccType: tosa.Int32}
			IH = fitDim(IH, attr.Pad[0], attr.Pad[1], (KH-1)*attr.Dilation[0], attr.Stride[0])
			IW = fitDim(IW, attr.Pad[2], attr.Pad[3], (KW-1)*attr.Dilation[1], attr.Stride[1])
			b := tosa.NewBuilder()
			x := b.Input("x", tosa.Int8, 1, IH, IW, IC)
			ws := b.AddConst("w", tosa.Int8, []int{OC, KH, KW, IC}, tosa.Int8Data(i8s(r, OC*KH*KW*IC)))
			bs := b.AddConst("b", tosa.Int32, []int{OC}, tosa.Int32Data(i32s(r, OC, 1<<16)))
			iz := b.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
			wz := b.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
			acc := b.AddOp(tosa.OpConv2D, attr, []string{x, ws, bs, iz, wz}, "acc", tosa.Int32)
			mul, sh := make([]int32, OC), make([]int8, OC)
			for c := range OC {
				mul[c] = int32(1<<30 + r.IntN(1<<30))
				sh[c] = int8(30 + 8 + r.IntN(8))
			}
			m := b.AddConst("m", tosa.Int32, []int{OC}, tosa.Int32Data(mul))
			s := b.AddConst("s", tosa.Int8, []int{OC}, tosa.Int8Data(sh))
			riz := b.AddConst("rizp", tosa.Int32, []int{1}, tosa.Int32Data([]int32{0}))
			roz := b.AddConst("rozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{randI8(r)}))
			y := b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, PerChannel: true, RoundingMode: tosa.DoubleRound}, []string{acc, m, s, riz, roz}, "y", tosa.Int8)
			b.Output(y)
			if it%3 == 0 {
				b.Output(acc)
			}
			g, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			check(t, g, map[string]*tosa.Tensor{x: i8in(x, []int{1, IH, IW, IC}, i8s(r, IH*IW*IC))}, tosa.OpConv2D, &st)
			p, _ := Compile(g)
			for _, s := range p.steps {
				if s.conv != nil && s.conv.v != nil && s.conv.v.groups[0].nb == 0 {
					oc4++
				}
			}
		}
		t.Logf("%d graphs, %d with the 4-channel kernel", st.graphs, oc4)
		if dot4Layout() && oc4 < 10 {
			t.Errorf("only %d graphs used the 4-channel kernel", oc4)
		}
	})
}

// TestDiffTransposeConv2DPaths: TRANSPOSE_CONV2D on the VNNI path (as a CONV2D on the
// zero-inserted input), its Go kernel, and the scalar scatter.
func TestDiffTransposeConv2DPaths(t *testing.T) {
	withPaths(t, TestDiffTransposeConv2D)
}

// TestRequantNEON checks the NEON fused-RESCALE epilogue of the SDOT layout (arm64) against
// the scalar code, on random accumulators, corrections and per-channel or per-tensor parameters
// (shifts of 32-50: every intermediate fits, as fusePost proves for real plans).
func TestRequantNEON(t *testing.T) {
	if !useSDOT {
		t.Skip("no ASIMD dot product on this CPU")
	}
	r := newRand(93)
	for it := range 200 {
		rows, oc := 1+r.IntN(vnniMR), 1+r.IntN(40)
		ldc, ldo := oc+r.IntN(9), oc+r.IntN(5)
		nc := oc
		if it%3 == 0 {
			nc = 1
		}
		rp := &rescalePlan{ch: make([]rescaleCh, nc), ozp: int64(randI8(r)), outMin: -128, outMax: 127}
		for i := range rp.ch {
			sh := uint(32 + r.IntN(19))
			rp.ch[i] = rescaleCh{mul: int64(1<<30 + r.IntN(1<<30)), shift: sh, rndPos: 1 << (sh - 1)}
			if r.IntN(2) == 0 { // DOUBLE_ROUND-like constants that depend on the sign
				rp.ch[i].rndNeg = rp.ch[i].rndPos - 1<<(sh-32)
				rp.ch[i].rndDelta = rp.ch[i].rndNeg - rp.ch[i].rndPos
			} else {
				rp.ch[i].rndNeg = rp.ch[i].rndPos
			}
		}
		c := i32s(r, rows*ldc, 1<<31-1)
		corr := i32s(r, oc, 1<<20)
		v := &vnniPlan{signed: true, prmN: make([]int64, oc/4*14)}
		for ch := range oc / 4 * 4 {
			p := rp.chOf(ch)
			g, l := ch/4, ch%4
			q := v.prmN[g*14:]
			q[l/2] |= int64(uint64(uint32(p.mul)) << (32 * (l % 2)))
			h := 2 * (l / 2)
			q[2+h+l%2], q[6+h+l%2], q[10+h+l%2] = -int64(p.shift), p.rndPos, p.rndDelta
		}
		got, want := make([]int8, rows*ldo), make([]int8, rows*ldo)
		if !requantRowsN(c, ldc, rows, corr, v.prmN, rp, oc, got, ldo) {
			t.Fatal("requantRowsN unavailable")
		}
		requantSafeGo(c, ldc, rows, corr, rp, 0, oc, want, ldo)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("it %d rows %d oc %d: out[%d] = %d, want %d", it, rows, oc, i, got[i], want[i])
			}
		}
	}
}
