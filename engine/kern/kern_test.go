package kern

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// relErr returns max|got-want| / max|want| (or the absolute error when want is all zero).
func relErr(got, want []float32) float64 {
	var md, mr float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) {
			d = math.Inf(1)
		}
		md = max(md, d)
		mr = max(mr, math.Abs(float64(want[i])))
	}
	if mr == 0 {
		return md
	}
	return md / mr
}

const tol = 1e-5

// withGeneric runs f once with the assembly micro-kernel (when available) and once with the
// pure-Go fallback forced.
func withGeneric(t *testing.T, f func(t *testing.T)) {
	t.Run("default", f)
	t.Run("generic", func(t *testing.T) {
		old := forceGeneric
		forceGeneric = true
		defer func() { forceGeneric = old }()
		f(t)
	})
}

func checkSgemm(t *testing.T, r *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32, extra int) {
	t.Helper()
	lda, ldb := k+extra, n+extra
	arows, brows := m, k
	if ta {
		lda, arows = m+extra, k
	}
	if tb {
		ldb, brows = k+extra, n
	}
	ldc := n + extra
	a := randSlice(r, arows*lda)
	b := randSlice(r, brows*ldb)
	c := randSlice(r, m*ldc)
	want := append([]float32(nil), c...)
	RefSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	got := append([]float32(nil), c...)
	Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	if e := relErr(got, want); e > tol {
		t.Fatalf("Sgemm ta=%v tb=%v m=%d n=%d k=%d alpha=%v beta=%v extra=%d: rel err %g", ta, tb, m, n, k, alpha, beta, extra, e)
	}
	// Padding columns of C beyond n must be untouched.
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			if got[i*ldc+j] != c[i*ldc+j] {
				t.Fatalf("Sgemm wrote outside C at (%d,%d)", i, j)
			}
		}
	}
}

func TestSgemm(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		sizes := []int{1, 2, 5, 6, 7, 15, 16, 17, 31, 33, 64, 97, 130}
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for it := 0; it < 60; it++ {
					m := sizes[r.Intn(len(sizes))]
					n := sizes[r.Intn(len(sizes))]
					k := sizes[r.Intn(len(sizes))]
					alpha := []float32{1, 0.5, -2, 0}[r.Intn(4)]
					beta := []float32{0, 1, -0.75}[r.Intn(3)]
					checkSgemm(t, r, ta, tb, m, n, k, alpha, beta, r.Intn(3)*5)
				}
			}
		}
	})
}

func TestSgemmLarge(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		// Sizes crossing the KC/MC/NC block edges and the parallel split.
		for _, s := range [][3]int{{100, 2100, 300}, {257, 40, 513}, {37, 1000, 290}, {200, 200, 200}} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					checkSgemm(t, r, ta, tb, s[0], s[1], s[2], 1, []float32{0, 1}[r.Intn(2)], 3)
				}
			}
		}
	})
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	a := []float32{1, 2, 3, 4}
	c := []float32{float32(math.NaN()), float32(math.NaN()), float32(math.NaN()), float32(math.NaN())}
	Sgemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, c, 2)
	want := []float32{7, 10, 15, 22}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("got %v want %v", c, want)
		}
	}
}

var _ = fmt.Sprint

func randConvParams(r *rand.Rand) Conv2dParams {
	for {
		ks := [][2]int{{1, 1}, {3, 3}, {5, 5}, {2, 3}, {3, 1}}[r.Intn(5)]
		p := Conv2dParams{
			N: 1 + r.Intn(5), H: 1 + r.Intn(13), W: 1 + r.Intn(13),
			KH: ks[0], KW: ks[1],
			StrideH: 1 + r.Intn(3), StrideW: 1 + r.Intn(3),
			PadH: r.Intn(3), PadW: r.Intn(3),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2),
		}
		if r.Intn(3) == 0 {
			p.StrideW, p.PadW, p.DilW = p.StrideH, p.PadH, p.DilH
		}
		switch r.Intn(4) {
		case 0: // depthwise
			p.C = 1 + r.Intn(9)
			p.O, p.Groups = p.C, p.C
		case 1: // two groups
			p.Groups = 2
			p.C, p.O = 2*(1+r.Intn(6)), 2*(1+r.Intn(6))
		default:
			p.Groups = 1
			p.C, p.O = 1+r.Intn(19), 1+r.Intn(19)
		}
		if p.Validate() == nil {
			return p
		}
	}
}

func TestConv2d(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		defer func(v int) { flipMinChannels = v }(flipMinChannels)
		for it := 0; it < 300; it++ {
			// Cover both data-gradient strategies.
			flipMinChannels = []int{1, 16, 1 << 30}[it%3]
			p := randConvParams(r)
			oh, ow := p.OutHW()
			x := randSlice(r, p.N*p.C*p.H*p.W)
			w := randSlice(r, p.O*p.C/p.Groups*p.KH*p.KW)
			var b []float32
			if r.Intn(2) == 0 {
				b = randSlice(r, p.O)
			}
			want := make([]float32, p.N*p.O*oh*ow)
			got := randSlice(r, len(want)) // forward must overwrite
			RefConv2d(p, x, w, b, want)
			Conv2d(p, x, w, b, got)
			if e := relErr(got, want); e > tol {
				t.Fatalf("Conv2d %+v: rel err %g", p, e)
			}

			dy := randSlice(r, len(want))
			dx0, dw0, db0 := randSlice(r, len(x)), randSlice(r, len(w)), randSlice(r, p.O)
			wdx, wdw, wdb := clone(dx0), clone(dw0), clone(db0)
			gdx, gdw, gdb := clone(dx0), clone(dw0), clone(db0)
			RefConv2dBackward(p, x, w, dy, wdx, wdw, wdb)
			Conv2dBackward(p, x, w, dy, gdx, gdw, gdb)
			// Compare the added gradients, not the accumulators, so the random start values do
			// not hide errors.
			for _, c := range []struct {
				name           string
				got, want, old []float32
			}{{"dx", gdx, wdx, dx0}, {"dw", gdw, wdw, dw0}, {"db", gdb, wdb, db0}} {
				if e := relErr(sub(c.got, c.old), sub(c.want, c.old)); e > tol {
					t.Fatalf("Conv2dBackward %s %+v: rel err %g", c.name, p, e)
				}
			}
			// nil gradients are allowed.
			Conv2dBackward(p, x, w, dy, nil, nil, nil)
		}
	})
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

func sub(a, b []float32) []float32 {
	d := make([]float32, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

func randConvTParams(r *rand.Rand) ConvT2dParams {
	for {
		c := randConvParams(r)
		p := ConvT2dParams{N: c.N, C: c.C, H: c.H, W: c.W, O: c.O, KH: c.KH, KW: c.KW,
			StrideH: c.StrideH, StrideW: c.StrideW, PadH: c.PadH, PadW: c.PadW,
			DilH: c.DilH, DilW: c.DilW, Groups: c.Groups}
		if c.StrideH > 1 {
			p.OutPadH = r.Intn(c.StrideH)
		}
		if c.StrideW > 1 {
			p.OutPadW = r.Intn(c.StrideW)
		}
		// Output padding may also be anything below the dilation (then it can reach the stride).
		if r.Intn(4) == 0 {
			p.OutPadH = r.Intn(max(c.StrideH, c.DilH))
			p.OutPadW = r.Intn(max(c.StrideW, c.DilW))
		}
		if p.Validate() == nil {
			return p
		}
	}
}

func TestConvTranspose2d(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(4))
		defer func(v int) { flipMinChannels = v }(flipMinChannels)
		for it := 0; it < 300; it++ {
			flipMinChannels = []int{1, 16, 1 << 30}[it%3]
			p := randConvTParams(r)
			oh, ow := p.OutHW()
			x := randSlice(r, p.N*p.C*p.H*p.W)
			w := randSlice(r, p.C*p.O/p.Groups*p.KH*p.KW)
			var b []float32
			if r.Intn(2) == 0 {
				b = randSlice(r, p.O)
			}
			want := make([]float32, p.N*p.O*oh*ow)
			got := randSlice(r, len(want))
			RefConvTranspose2d(p, x, w, b, want)
			ConvTranspose2d(p, x, w, b, got)
			if e := relErr(got, want); e > tol {
				t.Fatalf("ConvTranspose2d %+v: rel err %g", p, e)
			}
			dy := randSlice(r, len(want))
			dx0, dw0, db0 := randSlice(r, len(x)), randSlice(r, len(w)), randSlice(r, p.O)
			wdx, wdw, wdb := clone(dx0), clone(dw0), clone(db0)
			gdx, gdw, gdb := clone(dx0), clone(dw0), clone(db0)
			RefConvTranspose2dBackward(p, x, w, dy, wdx, wdw, wdb)
			ConvTranspose2dBackward(p, x, w, dy, gdx, gdw, gdb)
			for _, c := range []struct {
				name           string
				got, want, old []float32
			}{{"dx", gdx, wdx, dx0}, {"dw", gdw, wdw, dw0}, {"db", gdb, wdb, db0}} {
				if e := relErr(sub(c.got, c.old), sub(c.want, c.old)); e > tol {
					t.Fatalf("ConvTranspose2dBackward %s %+v: rel err %g", c.name, p, e)
				}
			}
			ConvTranspose2dBackward(p, x, w, dy, nil, nil, nil)
		}
	})
}

// TestConvTranspose2dOutPadBeyondStride covers output padding >= stride (legal when it is below
// the dilation), checked against the definition written out directly.
func TestConvTranspose2dOutPadBeyondStride(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	p := ConvT2dParams{N: 2, C: 4, H: 5, W: 6, O: 6, KH: 3, KW: 2, StrideH: 1, StrideW: 1,
		PadH: 1, DilH: 2, DilW: 3, OutPadH: 1, OutPadW: 2, Groups: 2}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	oh, ow := p.OutHW()
	cg, og := p.C/p.Groups, p.O/p.Groups
	x := randSlice(r, p.N*p.C*p.H*p.W)
	w := randSlice(r, p.C*og*p.KH*p.KW)
	b := randSlice(r, p.O)
	want := make([]float32, p.N*p.O*oh*ow)
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			for k := 0; k < oh*ow; k++ {
				want[(n*p.O+o)*oh*ow+k] = b[o]
			}
		}
		for c := 0; c < p.C; c++ {
			g := c / cg
			for i := 0; i < p.H; i++ {
				for j := 0; j < p.W; j++ {
					for o := 0; o < og; o++ {
						for kh := 0; kh < p.KH; kh++ {
							for kw := 0; kw < p.KW; kw++ {
								ih, iw := i*p.StrideH-p.PadH+kh*p.DilH, j*p.StrideW-p.PadW+kw*p.DilW
								if ih < 0 || ih >= oh || iw < 0 || iw >= ow {
									continue
								}
								want[((n*p.O+g*og+o)*oh+ih)*ow+iw] += x[((n*p.C+c)*p.H+i)*p.W+j] * w[((c*og+o)*p.KH+kh)*p.KW+kw]
							}
						}
					}
				}
			}
		}
	}
	ref := make([]float32, len(want))
	RefConvTranspose2d(p, x, w, b, ref)
	if e := relErr(ref, want); e > tol {
		t.Fatalf("RefConvTranspose2d: rel err %g", e)
	}
	got := make([]float32, len(want))
	ConvTranspose2d(p, x, w, b, got)
	if e := relErr(got, want); e > tol {
		t.Fatalf("ConvTranspose2d: rel err %g", e)
	}
}

// TestDeterministic checks that repeated runs give bit-identical results, for batches that are
// split across goroutines (and with the GEMM split inside for batch 1).
func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, p := range []Conv2dParams{
		{N: 13, C: 24, H: 17, W: 15, O: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 9, C: 8, H: 16, W: 16, O: 12, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
		{N: 1, C: 32, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 7, C: 6, H: 11, W: 11, O: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 6},
	} {
		oh, ow := p.OutHW()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.O*p.C/p.Groups*p.KH*p.KW)
		b := randSlice(r, p.O)
		dy := randSlice(r, p.N*p.O*oh*ow)
		run := func() [][]float32 {
			y := make([]float32, len(dy))
			Conv2d(p, x, w, b, y)
			dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.O)
			Conv2dBackward(p, x, w, dy, dx, dw, db)
			return [][]float32{y, dx, dw, db}
		}
		first := run()
		// Repeated runs, and runs with other thread counts (which change how work is split
		// across goroutines but never the order of any sum), must agree bit for bit.
		procs := runtime.GOMAXPROCS(0)
		for rep, gmp := range []int{procs, procs, 1, 3, procs} {
			runtime.GOMAXPROCS(gmp)
			again := run()
			runtime.GOMAXPROCS(procs)
			for i := range first {
				for j := range first[i] {
					if math.Float32bits(first[i][j]) != math.Float32bits(again[i][j]) {
						t.Fatalf("%+v: run %d (GOMAXPROCS %d): output %d differs at %d: %v vs %v", p, rep, gmp, i, j, first[i][j], again[i][j])
					}
				}
			}
		}
	}
}

// TestSgemmRowBias covers the internal GEMM's fused row bias on the serial and both parallel
// split paths.
func TestSgemmRowBias(t *testing.T) {
	withGeneric(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(7))
		for _, s := range [][3]int{{7, 5, 3}, {300, 40, 100}, {40, 300, 100}, {13, 37, 0}} {
			m, n, k := s[0], s[1], s[2]
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			bias := randSlice(r, m)
			for _, beta := range []float32{0, 1} {
				c := randSlice(r, m*n)
				want := clone(c)
				RefSgemm(false, false, m, n, k, 1, a, k, b, n, beta, want, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						want[i*n+j] += bias[i]
					}
				}
				sgemm(false, m, n, k, 1, a, k, matB{false, b, n}, beta, c, n, bias, true)
				if e := relErr(c, want); e > tol {
					t.Fatalf("m=%d n=%d k=%d beta=%v: rel err %g", m, n, k, beta, e)
				}
			}
		}
	})
}

func TestDeterministicTranspose(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	p := ConvT2dParams{N: 11, C: 20, H: 9, W: 7, O: 18, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
		PadH: 1, PadW: 1, OutPadH: 1, OutPadW: 1, DilH: 1, DilW: 1, Groups: 2}
	oh, ow := p.OutHW()
	x := randSlice(r, p.N*p.C*p.H*p.W)
	w := randSlice(r, p.C*p.O/p.Groups*p.KH*p.KW)
	b := randSlice(r, p.O)
	dy := randSlice(r, p.N*p.O*oh*ow)
	run := func() [][]float32 {
		y := make([]float32, len(dy))
		ConvTranspose2d(p, x, w, b, y)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.O)
		ConvTranspose2dBackward(p, x, w, dy, dx, dw, db)
		return [][]float32{y, dx, dw, db}
	}
	first := run()
	procs := runtime.GOMAXPROCS(0)
	for rep, gmp := range []int{procs, 1, 3} {
		runtime.GOMAXPROCS(gmp)
		again := run()
		runtime.GOMAXPROCS(procs)
		for i := range first {
			for j := range first[i] {
				if math.Float32bits(first[i][j]) != math.Float32bits(again[i][j]) {
					t.Fatalf("run %d (GOMAXPROCS %d): output %d differs at %d", rep, gmp, i, j)
				}
			}
		}
	}
}

// TestConv2dNetShapes checks shapes like those of the training net (and its downsampled
// stages), large enough to reach the vectorised packing paths and the parallel splits.
func TestConv2dNetShapes(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, p := range []Conv2dParams{
		{N: 3, C: 32, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 3, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 32, H: 32, W: 32, O: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 4, C: 24, H: 8, W: 8, O: 40, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 48, H: 16, W: 24, O: 20, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 64, H: 12, W: 12, O: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 32, H: 10, W: 10, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 2, DilW: 2, Groups: 32},
		{N: 3, C: 5, H: 7, W: 8, O: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 12, H: 9, W: 16, O: 8, KH: 2, KW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
	} {
		oh, ow := p.OutHW()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.O*p.C/p.Groups*p.KH*p.KW)
		b := randSlice(r, p.O)
		want, got := make([]float32, p.N*p.O*oh*ow), make([]float32, p.N*p.O*oh*ow)
		RefConv2d(p, x, w, b, want)
		Conv2d(p, x, w, b, got)
		if e := relErr(got, want); e > tol {
			t.Fatalf("Conv2d %+v: rel err %g", p, e)
		}
		dy := randSlice(r, len(want))
		wdx, wdw, wdb := make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.O)
		gdx, gdw, gdb := make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.O)
		RefConv2dBackward(p, x, w, dy, wdx, wdw, wdb)
		Conv2dBackward(p, x, w, dy, gdx, gdw, gdb)
		for i, pair := range [][2][]float32{{gdx, wdx}, {gdw, wdw}, {gdb, wdb}} {
			if e := relErr(pair[0], pair[1]); e > tol {
				t.Fatalf("Conv2dBackward %+v: gradient %d: rel err %g", p, i, e)
			}
		}
	}
}

func TestConvTranspose2dFixedShapes(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	for _, p := range []ConvT2dParams{
		// dx is a stride-1 conv with 3 outputs over an 8-wide grid of 24 pixels (a half panel).
		{N: 2, C: 3, H: 3, W: 8, O: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 3, C: 32, H: 16, W: 16, O: 16, KH: 4, KW: 4, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 24, H: 8, W: 8, O: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 3},
	} {
		oh, ow := p.OutHW()
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.C*p.O/p.Groups*p.KH*p.KW)
		b := randSlice(r, p.O)
		want, got := make([]float32, p.N*p.O*oh*ow), make([]float32, p.N*p.O*oh*ow)
		RefConvTranspose2d(p, x, w, b, want)
		ConvTranspose2d(p, x, w, b, got)
		if e := relErr(got, want); e > tol {
			t.Fatalf("ConvTranspose2d %+v: rel err %g", p, e)
		}
		dy := randSlice(r, len(want))
		dx0 := randSlice(r, len(x))
		wdx, wdw, wdb := clone(dx0), make([]float32, len(w)), make([]float32, p.O)
		gdx, gdw, gdb := clone(dx0), make([]float32, len(w)), make([]float32, p.O)
		RefConvTranspose2dBackward(p, x, w, dy, wdx, wdw, wdb)
		ConvTranspose2dBackward(p, x, w, dy, gdx, gdw, gdb)
		for i, pair := range [][2][]float32{{sub(gdx, dx0), sub(wdx, dx0)}, {gdw, wdw}, {gdb, wdb}} {
			if e := relErr(pair[0], pair[1]); e > tol {
				t.Fatalf("ConvTranspose2dBackward %+v: gradient %d: rel err %g", p, i, e)
			}
		}
	}
}

// TestReLUInPlace: the AVX path and the Go loop agree bit for bit with max(v, 0) keeping NaN and
// turning -0 into +0, on every length (vector body and tail).
// TestReLUInPlace also covers ReLUTo (AVX and Go), which must give the same values.
func TestReLUInPlace(t *testing.T) {
	vals := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45, 3.5}
	for n := 0; n < 40; n++ {
		y := make([]float32, n)
		for i := range y {
			y[i] = vals[(i*7+n)%len(vals)]
		}
		want := make([]float32, n)
		for i, v := range y {
			if v > 0 || v != v {
				want[i] = v
			}
		}
		for _, generic := range []bool{false, true} {
			forceGeneric = generic
			to := randSlice(rand.New(rand.NewSource(int64(n))), n) // must be overwritten
			ReLUTo(y, to)
			forceGeneric = false
			for i := range to {
				if math.Float32bits(to[i]) != math.Float32bits(want[i]) {
					t.Fatalf("ReLUTo (generic %v) n %d: y[%d] = %v, want %v", generic, n, i, to[i], want[i])
				}
			}
		}
		ReLUInPlace(y)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d: y[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}

// TestReLUBackward: the AVX path and the Go loop agree bit for bit with dx + (y > 0 ? g : +0)
// on every length (vector body and tail), with NaN, ±0 and infinities in y, g and dx.
func TestReLUBackward(t *testing.T) {
	vals := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45, 3.5}
	for n := 0; n < 40; n++ {
		y, g, dx := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range y {
			y[i] = vals[(i*7+n)%len(vals)]
			g[i] = vals[(i*3+2*n+1)%len(vals)]
			dx[i] = vals[(i*5+n+4)%len(vals)]
		}
		want := make([]float32, n)
		for i, v := range y {
			var add float32 // +0
			if v > 0 {
				add = g[i]
			}
			want[i] = dx[i] + add
		}
		ReLUBackward(y, g, dx)
		for i := range dx {
			if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d: dx[%d] = %v (bits %#x), want %v (bits %#x)", n, i, dx[i], math.Float32bits(dx[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestReLUBackwardSet: ReLUBackwardSet gives the bits of ReLUBackward into a zeroed dx
// (a -0 gradient becomes +0) whatever dx held, on the AVX path and the Go loop.
func TestReLUBackwardSet(t *testing.T) {
	vals := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45, 3.5}
	for _, generic := range []bool{false, true} {
		forceGeneric = generic
		for n := 0; n < 40; n++ {
			y, g, dx := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range y {
				y[i] = vals[(i*7+n)%len(vals)]
				g[i] = vals[(i*3+2*n+1)%len(vals)]
				dx[i] = vals[(i*5+n+4)%len(vals)]
			}
			want := make([]float32, n)
			ReLUBackward(y, g, want)
			ReLUBackwardSet(y, g, dx)
			for i := range dx {
				if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
					t.Fatalf("generic %v n %d: dx[%d] = %v (bits %#x), want %v (bits %#x)", generic, n, i, dx[i], math.Float32bits(dx[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
	forceGeneric = false
}

// TestMicroKernel checks the assembly micro-kernels (AVX2+FMA on amd64, NEON FMLA on arm64) for
// every row count, odd and even k, with and without bias and accumulation, against a float64
// evaluation of c (+)= bias + Σ a·b, and that they write only their rows and columns.
func TestMicroKernel(t *testing.T) {
	if !hasAsmKernel {
		t.Skip("no assembly micro-kernel on this CPU")
	}
	r := rand.New(rand.NewSource(9))
	for it := 0; it < 300; it++ {
		mr := 1 + it%gemmMR
		k := []int{1, 2, 3, 4, 5, 8, 17, 64, 255, 256}[r.Intn(10)]
		ldc := gemmNR + r.Intn(9)
		accum := r.Intn(2) == 0
		a, b := randSlice(r, k*gemmMR), randSlice(r, k*gemmNR)
		var bias *float32
		bv := randSlice(r, gemmMR)
		if r.Intn(2) == 0 {
			bias = &bv[0]
		}
		c := randSlice(r, gemmMR*ldc)
		got := append([]float32(nil), c...)
		asmKernelRows(mr, k, a, b, got[:(mr-1)*ldc+gemmNR], ldc, accum, bias)
		want := append([]float32(nil), c...)
		for i := 0; i < mr; i++ {
			for j := 0; j < gemmNR; j++ {
				s := 0.0
				if bias != nil {
					s = float64(bv[i])
				}
				for l := 0; l < k; l++ {
					s += float64(a[l*gemmMR+i]) * float64(b[l*gemmNR+j])
				}
				if accum {
					s += float64(c[i*ldc+j])
				}
				want[i*ldc+j] = float32(s)
			}
		}
		if e := relErr(got, want); e > tol {
			t.Fatalf("it %d mr %d k %d accum %v bias %v: rel err %g", it, mr, k, accum, bias != nil, e)
		}
		for i := range got {
			if i/ldc >= mr || i%ldc >= gemmNR {
				if got[i] != c[i] {
					t.Fatalf("it %d mr %d: wrote c[%d] outside the tile", it, mr, i)
				}
			}
		}
	}
}

// TestIndirectPathsSameBits: the forward convolution reading the column matrix from the image
// (fwdIndirect, more than 6 outputs per group) and the weight gradient reading it from the
// 16-channel blocked image (wgradBlk16) give the packed GEMM's bits exactly, on random shapes
// (strides, dilations, padding, groups, k over several KC blocks, bias or not, accumulation,
// batches over 8 so a weight-gradient partial sums several images; channel counts that are
// not multiples of 16 take the weight gradient reading dY in place with a packed image),
// and the result is also checked against the reference convolution.
func TestIndirectPathsSameBits(t *testing.T) {
	if !indBlocksNative || !useAsmKernel() {
		t.Skip("no indirect kernels on this CPU")
	}
	r := rand.New(rand.NewSource(11))
	bitsEqual := func(a, b []float32) int {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return i
			}
		}
		return -1
	}
	for it := 0; it < 120; it++ {
		ks := [][2]int{{3, 3}, {5, 5}, {1, 3}, {3, 1}, {1, 1}, {7, 7}}[r.Intn(6)]
		g := 1 + r.Intn(2)
		p := Conv2dParams{
			N: []int{1, 2, 3, 5, 9, 12}[r.Intn(6)], C: g * []int{16, 32, 1 + r.Intn(9)}[r.Intn(3)], O: g * (1 + r.Intn(40)),
			H: 1 + r.Intn(40), W: 8 * (1 + r.Intn(4)), KH: ks[0], KW: ks[1],
			StrideH: 1 + r.Intn(2), StrideW: 1, PadH: r.Intn(3), PadW: r.Intn(3),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2), Groups: g,
		}
		if r.Intn(3) == 0 {
			p.StrideW = 2
		}
		if p.Validate() != nil {
			continue
		}
		oh, ow := p.OutHW()
		x, w := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.O*p.C/p.Groups*p.KH*p.KW)
		var b []float32
		if r.Intn(2) == 0 {
			b = randSlice(r, p.O)
		}
		dy := randSlice(r, p.N*p.O*oh*ow)
		dx0, dw0 := randSlice(r, len(x)), randSlice(r, len(w))
		run := func(indirect bool) [][]float32 {
			defer func(v bool) { indirectMany = v }(indirectMany)
			indirectMany = indirect
			y := make([]float32, len(dy))
			Conv2d(p, x, w, b, y)
			dx, dw := clone(dx0), clone(dw0)
			Conv2dBackward(p, x, w, dy, dx, dw, nil)
			return [][]float32{y, dx, dw}
		}
		fast, packed := run(true), run(false)
		for i, name := range []string{"y", "dx", "dw"} {
			if j := bitsEqual(fast[i], packed[i]); j >= 0 {
				t.Fatalf("%+v: %s differs at %d: %v vs packed %v", p, name, j, fast[i][j], packed[i][j])
			}
		}
		want := make([]float32, len(dy))
		RefConv2d(p, x, w, b, want)
		if e := relErr(fast[0], want); e > tol {
			t.Fatalf("%+v: y rel err %g", p, e)
		}
		wdx, wdw := clone(dx0), clone(dw0)
		RefConv2dBackward(p, x, w, dy, wdx, wdw, nil)
		if e := relErr(sub(fast[2], dw0), sub(wdw, dw0)); e > tol {
			t.Fatalf("%+v: dw rel err %g", p, e)
		}
	}
}

// TestBiasGradSameBits: the AVX bias gradient (four channels' sums interleaved) gives the bits
// of the scalar loop, for planes with and without a tail, channel counts that leave remainders.
func TestBiasGradSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for it := 0; it < 200; it++ {
		n, ch, plane := 1+r.Intn(5), 1+r.Intn(40), 1+r.Intn(70)
		if it%4 == 0 {
			plane = 1024
		}
		dy := randSlice(r, n*ch*plane)
		for i := range dy {
			dy[i] *= float32(math.Pow(10, float64(r.Intn(9)-4)))
		}
		db0 := randSlice(r, ch)
		got, want := clone(db0), clone(db0)
		biasGrad(n, ch, plane, dy, got)
		forceGeneric = true
		biasGrad(n, ch, plane, dy, want)
		forceGeneric = false
		for o := range got {
			if math.Float32bits(got[o]) != math.Float32bits(want[o]) {
				t.Fatalf("n %d ch %d plane %d: db[%d] = %v, scalar %v", n, ch, plane, o, got[o], want[o])
			}
		}
	}
}

// TestPadRows: the AVX row padding equals the Go version (every width's vector body and tail,
// borders of 0-3, stale values in dst overwritten).
func TestPadRows(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	for it := 0; it < 300; it++ {
		rows, w, pw := 1+r.Intn(5), 1+r.Intn(40), r.Intn(4)
		wp := w + pw + r.Intn(4)
		src := randSlice(r, rows*w)
		got, want := randSlice(r, rows*wp), make([]float32, rows*wp)
		padRows(got, src, rows, w, wp, pw)
		padRowsGeneric(want, src, rows, w, wp, pw)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("rows %d w %d wp %d pw %d: element %d = %v, want %v", rows, w, wp, pw, i, got[i], want[i])
			}
		}
	}
}

// TestConv2dReLUBackwardSameBits: the image-by-image backward of a convolution + ReLU gives the
// bits of masking the whole gradient (ReLUBackwardSet) and then Conv2dBackward, for random
// shapes, batch sizes (below and above the fused path's thresholds), both data-gradient
// strategies and any subset of nil gradients.
func TestConv2dReLUBackwardSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	defer func(v int) { flipMinChannels = v }(flipMinChannels)
	for it := 0; it < 150; it++ {
		flipMinChannels = []int{1, 16}[it%2]
		var p Conv2dParams
		if it%3 == 0 {
			p = randConvParams(r)
		} else {
			k := []int{1, 3, 5}[r.Intn(3)]
			p = Conv2dParams{N: 1 + r.Intn(12), C: []int{3, 16, 32}[r.Intn(3)], H: 1 + r.Intn(12), W: 8 * (1 + r.Intn(2)),
				O: 1 + r.Intn(40), KH: k, KW: k, StrideH: 1, StrideW: 1, PadH: k / 2, PadW: k / 2, DilH: 1, DilW: 1, Groups: 1}
		}
		if p.Validate() != nil {
			continue
		}
		oh, ow := p.OutHW()
		x, w := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.O*p.C/p.Groups*p.KH*p.KW)
		y, g := randSlice(r, p.N*p.O*oh*ow), randSlice(r, p.N*p.O*oh*ow)
		for i := range y {
			if r.Intn(3) == 0 {
				y[i] = 0
			}
		}
		dx0, dw0, db0 := randSlice(r, len(x)), randSlice(r, len(w)), randSlice(r, p.O)
		mask := r.Intn(8)
		pick := func(bit int, s []float32) []float32 {
			if mask&bit != 0 {
				return nil
			}
			return clone(s)
		}
		gdx, gdw, gdb := pick(1, dx0), pick(2, dw0), pick(4, db0)
		wdx, wdw, wdb := pick(1, dx0), pick(2, dw0), pick(4, db0)
		Conv2dReLUBackward(p, x, w, y, g, gdx, gdw, gdb)
		dy := make([]float32, len(y))
		ReLUBackwardSet(y, g, dy)
		Conv2dBackward(p, x, w, dy, wdx, wdw, wdb)
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"dx", gdx, wdx}, {"dw", gdw, wdw}, {"db", gdb, wdb}} {
			for i := range c.want {
				if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
					t.Fatalf("%+v: %s[%d] = %v, want %v", p, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}

// TestAddMasked: the AVX path and the Go loop give dx + g where the mask is set and dx itself
// (a -0 kept) elsewhere, with NaN, ±0 and infinities, on every length.
func TestAddMasked(t *testing.T) {
	vals := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, 3.5}
	for _, generic := range []bool{false, true} {
		forceGeneric = generic
		for n := 0; n < 40; n++ {
			dx, g, mask := make([]float32, n), make([]float32, n), make([]bool, n)
			want := make([]float32, n)
			for i := range dx {
				dx[i], g[i], mask[i] = vals[(i*5+n)%len(vals)], vals[(i*3+2*n+1)%len(vals)], (i*7+n)%3 != 0
				want[i] = dx[i]
				if mask[i] {
					want[i] = dx[i] + g[i]
				}
			}
			AddMasked(dx, g, mask)
			for i := range dx {
				if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
					t.Fatalf("generic %v n %d: dx[%d] = %v, want %v", generic, n, i, dx[i], want[i])
				}
			}
		}
	}
	forceGeneric = false
}

// TestBilinearRow: the AVX2 bilinear row (gathers, float64 FMAs) gives the Go loop's bits for
// random rows, taps and weights, with NaN, ±Inf, ±0, denormals and large values, every length.
func TestBilinearRow(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), 1e-45, 3e38, -3e38}
	pick := func() float32 {
		if r.Intn(8) == 0 {
			return specials[r.Intn(len(specials))]
		}
		return float32(r.NormFloat64())
	}
	for it := 0; it < 500; it++ {
		w, n := 1+r.Intn(40), r.Intn(50)
		r0, r1 := make([]float32, w), make([]float32, w)
		for i := range r0 {
			r0[i], r1[i] = pick(), pick()
		}
		c := &BilinearCols{I0: make([]int32, n), I1: make([]int32, n), L0: make([]float32, n), L1: make([]float32, n)}
		for x := range n {
			c.I0[x], c.I1[x] = int32(r.Intn(w)), int32(r.Intn(w))
			c.L1[x] = r.Float32()
			c.L0[x] = 1 - c.L1[x]
			if r.Intn(10) == 0 {
				c.L0[x] = pick()
			}
		}
		ly0, ly1 := r.Float32(), pick()
		got, want := make([]float32, n), make([]float32, n)
		BilinearRow(got, r0, r1, c, ly0, ly1)
		forceGeneric = true
		BilinearRow(want, r0, r1, c, ly0, ly1)
		forceGeneric = false
		for x := range want {
			if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
				t.Fatalf("it %d x %d: %v (bits %#x), Go %v (bits %#x)", it, x, got[x], math.Float32bits(got[x]), want[x], math.Float32bits(want[x]))
			}
		}
	}
}
