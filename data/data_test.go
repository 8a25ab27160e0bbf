package data

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// atenRef is ATen's upsample_bilinear2d for an exact 0.5 scale written
// out with float64 arithmetic rounded to float32 after every operation.
func atenRef(x00, x01, x10, x11 float32) float32 {
	r := func(v float64) float64 { return float64(float32(v)) }
	const l = 0.5
	t0 := r(r(l*float64(x00)) + r(l*float64(x01)))
	t1 := r(r(l*float64(x10)) + r(l*float64(x11)))
	return float32(r(l*t0) + r(l*t1))
}

func TestDownsample2xMatchesATen(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const c, h, w = 3, 8, 6
	hr := make([]float32, c*h*w)
	lr := make([]float32, c*h*w/4)
	orderMatters := 0
	for it := 0; it < 200; it++ {
		for i := range hr {
			hr[i] = rng.Float32()
			if it%2 == 0 {
				hr[i] = float32(rng.IntN(256)) / 255
			}
		}
		if err := Downsample2x(hr, c, h, w, lr); err != nil {
			t.Fatal(err)
		}
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h/2; y++ {
				for x := 0; x < w/2; x++ {
					p := hr[ch*h*w:]
					a, b := p[2*y*w+2*x], p[2*y*w+2*x+1]
					cc, d := p[(2*y+1)*w+2*x], p[(2*y+1)*w+2*x+1]
					got := lr[ch*h*w/4+y*w/2+x]
					if want := atenRef(a, b, cc, d); math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("pixel (%d,%d,%d) = %v, want %v", ch, y, x, got, want)
					}
					if naive := (a + b + cc + d) / 4; naive != got {
						orderMatters++
					}
				}
			}
		}
	}
	t.Logf("%d outputs differ from the naive (a+b+c+d)/4", orderMatters)
	// Exact cases.
	if err := Downsample2x([]float32{0, 1, 1, 0}, 1, 2, 2, lr); err != nil || lr[0] != 0.5 {
		t.Errorf("mean of {0,1,1,0} = %v, %v", lr[0], err)
	}
}

func TestDownsample2xErrors(t *testing.T) {
	buf := make([]float32, 100)
	for _, tc := range []struct{ c, h, w, nin, nout int }{
		{3, 3, 4, 36, 100}, {3, 4, 5, 60, 100}, {0, 4, 4, 100, 100}, {1, 4, 4, 15, 100}, {1, 4, 4, 16, 3},
	} {
		if err := Downsample2x(buf[:tc.nin], tc.c, tc.h, tc.w, buf[:tc.nout]); err == nil {
			t.Errorf("%+v: no error", tc)
		}
	}
}

// indexSource returns images filled with their index and, with a
// non-nil rng, a random offset; it records nothing else.
type indexSource struct{ n, h, w int }

func (s indexSource) Len() int         { return s.n }
func (s indexSource) Size() (h, w int) { return s.h, s.w }
func (s indexSource) Read(i int, rng *rand.Rand, dst []float32) error {
	off := float32(0)
	if rng != nil {
		off = rng.Float32()
	}
	for k := range dst[:3*s.h*s.w] {
		dst[k] = float32(i) + off + float32(k%2)
	}
	return nil
}

func collect(t *testing.T, l *Loader) (batches [][]float32, lrs [][]float32, idx []int) {
	t.Helper()
	for {
		b, err := l.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, slices.Clone(b.HR))
		lrs = append(lrs, slices.Clone(b.LR))
		idx = append(idx, b.Indices...)
	}
}

func TestLoader(t *testing.T) {
	src := indexSource{n: 23, h: 4, w: 6}
	opt := LoaderOptions{BatchSize: 5, Shuffle: true, Seed: 42, Random: true, Workers: 1}
	l1, err := NewLoader(src, opt)
	if err != nil {
		t.Fatal(err)
	}
	if l1.NumBatches() != 5 {
		t.Errorf("NumBatches = %d, want 5", l1.NumBatches())
	}
	hr1, lr1, idx1 := collect(t, l1)
	if len(hr1) != 5 || len(hr1[4]) != 3*3*4*6 || len(lr1[4]) != 3*3*2*3 {
		t.Fatalf("got %d batches, last %d/%d floats", len(hr1), len(hr1[4]), len(lr1[4]))
	}
	sorted := slices.Sorted(slices.Values(idx1))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("epoch does not visit every image once: %v", idx1)
		}
	}
	if slices.IsSorted(idx1) {
		t.Error("not shuffled")
	}
	// Same seed, more workers: identical batches.
	opt.Workers = 3
	l3, _ := NewLoader(src, opt)
	hr3, lr3, idx3 := collect(t, l3)
	if !slices.Equal(idx1, idx3) {
		t.Fatal("order depends on the number of workers")
	}
	for i := range hr1 {
		if !slices.Equal(hr1[i], hr3[i]) || !slices.Equal(lr1[i], lr3[i]) {
			t.Fatal("batch content depends on the number of workers")
		}
	}
	// LR is the downsampled HR.
	want := make([]float32, len(lr1[0]))
	if err := Downsample2x(hr1[0], 3*5, 4, 6, want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(want, lr1[0]) {
		t.Error("LR is not Downsample2x(HR)")
	}
	// A new epoch has another order; SetEpoch(0) reproduces epoch 0.
	l3.SetEpoch(1)
	_, _, idxE1 := collect(t, l3)
	if slices.Equal(idx1, idxE1) {
		t.Error("epoch 1 has the same order as epoch 0")
	}
	l3.SetEpoch(0)
	hr0, _, idx0 := collect(t, l3)
	if !slices.Equal(idx0, idx1) || !slices.Equal(hr0[2], hr1[2]) {
		t.Error("SetEpoch(0) does not reproduce epoch 0")
	}
	// Skip resumes mid-epoch with identical batches.
	l3.SetEpoch(0)
	l3.Skip(3)
	hrS, _, idxS := collect(t, l3)
	if len(hrS) != 2 || !slices.Equal(idxS, idx1[15:]) || !slices.Equal(hrS[0], hr1[3]) {
		t.Error("Skip(3) does not continue with batch 3")
	}
	// Another seed, another order.
	opt.Seed = 43
	l4, _ := NewLoader(src, opt)
	if _, _, idx4 := collect(t, l4); slices.Equal(idx4, idx1) {
		t.Error("seed does not change the order")
	}
	// DropLast, no shuffle, no randomness.
	l5, _ := NewLoader(src, LoaderOptions{BatchSize: 5, DropLast: true})
	if l5.NumBatches() != 4 {
		t.Errorf("NumBatches with DropLast = %d, want 4", l5.NumBatches())
	}
	hr5, _, idx5 := collect(t, l5)
	if len(hr5) != 4 || !slices.Equal(idx5, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}) {
		t.Errorf("DropLast: %d batches, indices %v", len(hr5), idx5)
	}
	if hr5[1][0] != 5 {
		t.Errorf("without Random, Read got a rng: %v", hr5[1][0])
	}
}

func TestLoaderErrors(t *testing.T) {
	if _, err := NewLoader(indexSource{n: 3, h: 4, w: 4}, LoaderOptions{}); err == nil {
		t.Error("batch size 0 accepted")
	}
	if _, err := NewLoader(indexSource{n: 3, h: 5, w: 4}, LoaderOptions{BatchSize: 1}); err == nil {
		t.Error("odd size accepted")
	}
	if _, err := NewLoader(indexSource{n: 0, h: 4, w: 4}, LoaderOptions{BatchSize: 1}); err == nil {
		t.Error("empty source accepted")
	}
}

func TestLoaderBuiltin(t *testing.T) {
	ds := Builtin(BuiltinOptions{TrainSize: 64, TestSize: 16})
	l, err := NewLoader(ds.Train, LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b.N != 16 || b.H != 32 || b.W != 32 || len(b.HR) != 16*3*32*32 || len(b.LR) != 16*3*16*16 {
		t.Errorf("batch shape N=%d H=%d W=%d, %d/%d floats", b.N, b.H, b.W, len(b.HR), len(b.LR))
	}
}
