package data

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var writeSamples = flag.Bool("write-samples", false, "write ../docs/builtin-samples.png")

func readAll(t testing.TB, s Source, n int) [][]float32 {
	h, w := s.Size()
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, 3*h*w)
		if err := s.Read(i, nil, out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func toImage(x []float32, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			var c [3]uint8
			for ch := range c {
				c[ch] = uint8(math.Round(float64(x[ch*h*w+y*w+xx]) * 255))
			}
			img.Set(xx, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	return img
}

func savePNG(t testing.TB, path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// contactSheet tiles n x n images, each scaled up by zoom (nearest).
func contactSheet(imgs [][]float32, size, n, zoom int) *image.RGBA {
	gap := 2
	side := n*(size*zoom+gap) + gap
	sheet := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := range sheet.Pix {
		sheet.Pix[i] = 255
	}
	for k := 0; k < n*n && k < len(imgs); k++ {
		im := toImage(imgs[k], size, size)
		ox, oy := gap+(k%n)*(size*zoom+gap), gap+(k/n)*(size*zoom+gap)
		for y := 0; y < size*zoom; y++ {
			for x := 0; x < size*zoom; x++ {
				sheet.Set(ox+x, oy+y, im.At(x/zoom, y/zoom))
			}
		}
	}
	return sheet
}

// TestWriteSamples writes the contact sheet docs/builtin-samples.png
// when run with -args -write-samples.
func TestWriteSamples(t *testing.T) {
	if !*writeSamples {
		t.Skip("run with -args -write-samples to regenerate docs/builtin-samples.png")
	}
	ds := Builtin(BuiltinOptions{TrainSize: 64, TestSize: 1})
	imgs := readAll(t, ds.Train, 64)
	path := filepath.Join("..", "docs", "builtin-samples.png")
	savePNG(t, path, contactSheet(imgs, 32, 8, 4))
	t.Logf("wrote %s", path)
}

func TestBuiltinRenderPNG(t *testing.T) {
	ds := Builtin(BuiltinOptions{TrainSize: 8, TestSize: 8})
	dir := t.TempDir()
	for i, x := range readAll(t, ds.Train, 4) {
		savePNG(t, filepath.Join(dir, "img"+string(rune('0'+i))+".png"), toImage(x, 32, 32))
	}
}

// upsample2x is PyTorch's bilinear 2x upsampling (align_corners=False).
func upsample2x(lr []float32, c, h, w int, hr []float32) {
	oh, ow := 2*h, 2*w
	idx := func(o, in int) (i0, i1 int, l1 float32) {
		src := max((float32(o)+0.5)*0.5-0.5, 0)
		i0 = int(src)
		i1 = min(i0+1, in-1)
		return i0, i1, src - float32(i0)
	}
	for ch := 0; ch < c; ch++ {
		in := lr[ch*h*w:]
		for y := 0; y < oh; y++ {
			y0, y1, ly := idx(y, h)
			for x := 0; x < ow; x++ {
				x0, x1, lx := idx(x, w)
				t0 := (1-lx)*in[y0*w+x0] + lx*in[y0*w+x1]
				t1 := (1-lx)*in[y1*w+x0] + lx*in[y1*w+x1]
				hr[ch*oh*ow+y*ow+x] = (1-ly)*t0 + ly*t1
			}
		}
	}
}

// bilinearPSNR is the PSNR (dB, peak 1) of bilinear down-then-up
// sampling over the images.
func bilinearPSNR(t testing.TB, imgs [][]float32, size int) float64 {
	lr := make([]float32, 3*size*size/4)
	up := make([]float32, 3*size*size)
	var mse float64
	for _, x := range imgs {
		if err := Downsample2x(x, 3, size, size, lr); err != nil {
			t.Fatal(err)
		}
		upsample2x(lr, 3, size/2, size/2, up)
		for k := range x {
			d := float64(x[k] - up[k])
			mse += d * d
		}
	}
	mse /= float64(len(imgs) * len(imgs[0]))
	return 10 * math.Log10(1/mse)
}

func TestBuiltinStatistics(t *testing.T) {
	ds := Builtin(BuiltinOptions{TrainSize: 2000, TestSize: 2000})
	imgs := readAll(t, ds.Test, 2000)
	var sum, sum2 float64
	var cnt int
	flat := 0
	for _, x := range imgs {
		var s, s2 float64
		for _, v := range x {
			if v < 0 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("pixel %v out of [0,1]", v)
			}
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(x))
		if s2/n-(s/n)*(s/n) < 1e-4 {
			flat++
		}
		sum += s
		sum2 += s2
		cnt += len(x)
	}
	mean := sum / float64(cnt)
	variance := sum2/float64(cnt) - mean*mean
	t.Logf("mean %.3f, std %.3f, flat images %d/%d", mean, math.Sqrt(variance), flat, len(imgs))
	if mean < 0.25 || mean > 0.65 {
		t.Errorf("mean %.3f outside [0.25,0.65]", mean)
	}
	if variance < 0.02 || variance > 0.12 {
		t.Errorf("variance %.4f outside [0.02,0.12]", variance)
	}
	if flat > len(imgs)/100 {
		t.Errorf("%d nearly flat images", flat)
	}
	psnr := bilinearPSNR(t, imgs, 32)
	t.Logf("bilinear down/up baseline PSNR on %d builtin test images: %.2f dB", len(imgs), psnr)
	if psnr < 20 || psnr > 30 {
		t.Errorf("bilinear baseline PSNR %.2f dB outside the photo-like range 20-30 dB", psnr)
	}
}

func TestBuiltinDeterministic(t *testing.T) {
	opt := BuiltinOptions{TrainSize: 200, TestSize: 200, Seed: 7}
	a := readAll(t, Builtin(opt).Train, 200)
	// Second dataset, read concurrently in reverse order from many goroutines.
	s := Builtin(opt).Train
	b := make([][]float32, 200)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 199 - g; i >= 0; i -= 8 {
				b[i] = make([]float32, 3*32*32)
				if err := s.Read(i, nil, b[i]); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	for i := range a {
		for k := range a[i] {
			if math.Float32bits(a[i][k]) != math.Float32bits(b[i][k]) {
				t.Fatalf("image %d differs at %d between calls", i, k)
			}
		}
	}
	// A different seed gives different images.
	c := readAll(t, Builtin(BuiltinOptions{TrainSize: 1, TestSize: 1, Seed: 8}).Train, 1)
	if equalImg(a[0], c[0]) {
		t.Error("seed does not change the images")
	}
}

func equalImg(a, b []float32) bool {
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func TestBuiltinTrainTestDisjoint(t *testing.T) {
	ds := Builtin(BuiltinOptions{TrainSize: 500, TestSize: 500})
	train := readAll(t, ds.Train, 500)
	test := readAll(t, ds.Test, 500)
	seen := map[uint64]int{}
	hash := func(x []float32) uint64 {
		h := uint64(1469598103934665603)
		for _, v := range x {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
		return h
	}
	for i, x := range train {
		if j, ok := seen[hash(x)]; ok {
			t.Errorf("train images %d and %d are identical", j, i)
		}
		seen[hash(x)] = i
	}
	for i, x := range test {
		if j, ok := seen[hash(x)]; ok && j >= 0 {
			t.Errorf("test image %d equals train image %d", i, j)
		}
	}
}

func BenchmarkBuiltinRead(b *testing.B) {
	s := Builtin(BuiltinOptions{}).Train
	dst := make([]float32, 3*32*32)
	i := 0
	for b.Loop() {
		if err := s.Read(i%s.Len(), nil, dst); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestBuiltinSizes(t *testing.T) {
	for _, size := range []int{2, 8, 64, 300} {
		ds := Builtin(BuiltinOptions{TrainSize: 20, TestSize: 1, Size: size})
		for _, x := range readAll(t, ds.Train, 20) {
			for _, v := range x {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("size %d: pixel %v", size, v)
				}
			}
		}
	}
	if err := (BuiltinOptions{Size: 33}).Validate(); err == nil {
		t.Error("odd size accepted")
	}
	if err := (BuiltinOptions{}).Validate(); err != nil {
		t.Error(err)
	}
}
