package data

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pairImages returns an HR image and an LR image of half its size whose
// pixels encode their coordinates, so a test can check which area a crop
// came from: HR (x,y) = (x, y, seed), LR (x,y) = (2x, 2y, seed+1).
func pairImages(w, h int, seed uint8) (hr, lr *image.NRGBA) {
	hr = testRGBA(w, h, seed)
	lr = image.NewNRGBA(image.Rect(0, 0, w/2, h/2))
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			lr.SetNRGBA(x, y, color.NRGBA{uint8(2 * x), uint8(2 * y), seed + 1, 255})
		}
	}
	return hr, lr
}

// writeDIV2K writes n pairs as DIV2K ships them: HR/0001.png, LR_bicubic/X2/0001x2.png.
func writeDIV2K(t *testing.T, dir string, n, w, h int) {
	for i := 1; i <= n; i++ {
		hr, lr := pairImages(w, h, uint8(10*i))
		writeFile(t, filepath.Join(dir, "HR", fmt.Sprintf("%04d.png", i)), encodePNG(t, hr))
		writeFile(t, filepath.Join(dir, "LR_bicubic", "X2", fmt.Sprintf("%04dx2.png", i)), encodePNG(t, lr))
	}
}

func checkPairCrop(t *testing.T, hr, lr []float32, c int) {
	t.Helper()
	plane, lplane := c*c, (c/2)*(c/2)
	x0, y0 := hr[0]*255, hr[plane]*255
	seed := hr[2*plane] * 255
	if int(x0)%2 != 0 || int(y0)%2 != 0 {
		t.Fatalf("HR crop at odd position (%v,%v)", x0, y0)
	}
	for y := 0; y < c/2; y++ {
		for x := 0; x < c/2; x++ {
			o := y*(c/2) + x
			if lr[o]*255 != x0+float32(2*x) || lr[lplane+o]*255 != y0+float32(2*y) || lr[2*lplane+o]*255 != seed+1 {
				t.Fatalf("LR pixel (%d,%d) = %v,%v,%v, not aligned with the HR crop at (%v,%v) seed %v",
					x, y, lr[o]*255, lr[lplane+o]*255, lr[2*lplane+o]*255, x0, y0, seed)
			}
		}
	}
}

func TestPairedDIV2K(t *testing.T) {
	dir := t.TempDir()
	writeDIV2K(t, dir, 12, 40, 30)
	for _, lazy := range []bool{false, true} {
		ds, err := OpenDir(dir, FolderOptions{CropSize: 8, Lazy: lazy})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ds.Name, "paired:") || ds.Train.Len() != 11 || ds.Test.Len() != 1 {
			t.Fatalf("%s: train %d test %d", ds.Name, ds.Train.Len(), ds.Test.Len())
		}
		ps := ds.Train.(*PairedSource)
		if ps.Lazy() != lazy {
			t.Errorf("lazy %v", ps.Lazy())
		}
		if hr, lr := ps.Path(3); filepath.Base(hr) != "0004.png" || filepath.Base(lr) != "0004x2.png" {
			t.Errorf("pair 3: %s %s", hr, lr)
		}
		// Through the loader, random and centre crops: LR aligned with HR.
		for _, src := range []Source{ds.Train, ds.Test} {
			l, err := NewLoader(src, LoaderOptions{BatchSize: 4, Random: true, Seed: 3, Shuffle: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := l.Next()
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < b.N; k++ {
				checkPairCrop(t, b.HR[k*3*64:(k+1)*3*64], b.LR[k*3*16:(k+1)*3*16], 8)
			}
		}
	}
}

func TestPairedLayouts(t *testing.T) {
	// Set5-style: HR/ and LR/ with the same names; and train/ + test/ splits.
	dir := t.TempDir()
	for i, name := range []string{"baby", "bird", "butterfly"} {
		hr, lr := pairImages(20, 24, uint8(i))
		writeFile(t, filepath.Join(dir, "train", "HR", name+".png"), encodePNG(t, hr))
		writeFile(t, filepath.Join(dir, "train", "LR", name+".png"), encodePNG(t, lr))
	}
	hr, lr := pairImages(21, 25, 50) // odd size: LR is the floor of half
	writeFile(t, filepath.Join(dir, "test", "HR", "woman.png"), encodePNG(t, hr))
	writeFile(t, filepath.Join(dir, "test", "LR", "X2", "womanx2.png"), encodePNG(t, lr))
	ds, err := OpenDir(dir, FolderOptions{CropSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 3 || ds.Test.Len() != 1 {
		t.Fatalf("train %d test %d", ds.Train.Len(), ds.Test.Len())
	}
	hrb, lrb := make([]float32, 3*64), make([]float32, 3*16)
	if err := ds.Test.(PairSource).ReadPair(0, nil, hrb, lrb); err != nil {
		t.Fatal(err)
	}
	checkPairCrop(t, hrb, lrb, 8)
	// DIV2K's top level: DIV2K_train_HR with DIV2K_train_LR_bicubic/X2.
	dir = t.TempDir()
	for i := 1; i <= 10; i++ {
		hr, lr := pairImages(16, 16, uint8(i))
		writeFile(t, filepath.Join(dir, "DIV2K_train_HR", fmt.Sprintf("%04d.png", i)), encodePNG(t, hr))
		writeFile(t, filepath.Join(dir, "DIV2K_train_LR_bicubic", "X2", fmt.Sprintf("%04dx2.png", i)), encodePNG(t, lr))
	}
	if ds, err = OpenDir(dir, FolderOptions{CropSize: 8}); err != nil || ds.Train.Len() != 9 {
		t.Fatalf("DIV2K top level: %v", err)
	}
}

func TestPairedErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(dir string)
		want []string
	}{
		{"missing LR", func(dir string) {
			hr, _ := pairImages(40, 30, 1)
			writeFile(t, filepath.Join(dir, "HR", "0099.png"), encodePNG(t, hr))
		}, []string{"0099.png has no LR partner", "0099x2.png"}},
		{"extra LR", func(dir string) {
			_, lr := pairImages(40, 30, 1)
			writeFile(t, filepath.Join(dir, "LR_bicubic", "X2", "0077x2.png"), encodePNG(t, lr))
		}, []string{"0077x2.png has no HR partner"}},
		{"wrong size", func(dir string) {
			_, lr := pairImages(44, 30, 1)
			writeFile(t, filepath.Join(dir, "LR_bicubic", "X2", "0003x2.png"), encodePNG(t, lr))
		}, []string{"0003.png is 40x30 but its LR partner", "0003x2.png is 22x15", "needs 20x15"}},
		{"x4 folder as x2", func(dir string) {
			_, lr := pairImages(20, 14, 1)
			writeFile(t, filepath.Join(dir, "LR_bicubic", "X2", "0005x2.png"), encodePNG(t, lr))
		}, []string{"0005x2.png is 10x7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDIV2K(t, dir, 10, 40, 30)
			c.edit(dir)
			_, err := OpenDir(dir, FolderOptions{CropSize: 8, Lazy: true})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestFolderCacheBounded: a folder whose decoded images exceed the cache is
// read lazily, the cache never holds more than its budget, and the crops
// equal those of an eager source.
func TestFolderCacheBounded(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%02d.png", i)), encodePNG(t, testRGBA(40, 40, uint8(i))))
	}
	const budget = 3 * 40 * 40 * 3 // three images
	small, err := Folder(dir, FolderOptions{CropSize: 8, CacheBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	eager, err := Folder(dir, FolderOptions{CropSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	fs := small.Train.(*FolderSource)
	if !fs.Lazy() || eager.Train.(*FolderSource).Lazy() {
		t.Fatalf("lazy: small cache %v, default %v", fs.Lazy(), eager.Train.(*FolderSource).Lazy())
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			a, b := make([]float32, 3*64), make([]float32, 3*64)
			for k := 0; k < 60; k++ {
				i := (k*7 + g) % small.Train.Len()
				small.Train.Read(i, rand.New(rand.NewPCG(uint64(k), 1)), a)
				eager.Train.Read(i, rand.New(rand.NewPCG(uint64(k), 1)), b)
				for j := range a {
					if a[j] != b[j] {
						t.Errorf("image %d differs", i)
						return
					}
				}
				if n := fs.cache.bytes(); n > budget {
					t.Errorf("cache holds %d bytes, budget %d", n, budget)
				}
			}
		}(g)
	}
	wg.Wait()
}
