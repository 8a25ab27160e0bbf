package metrics

import (
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// readRGB reads an 8-bit PNG as a 3 x H x W float32 image of value/255 (as vgfq's data loader).
func readRGB(t *testing.T, path string) ([]float32, int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := im.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, 3*h*w)
	rgba, ok := im.(*image.RGBA)
	if !ok {
		t.Fatalf("%s: decoded as %T, want 8-bit RGB", path, im)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := rgba.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				out[c*h*w+y*w+x] = float32(rgba.Pix[o+c]) / 255
			}
		}
	}
	return out, h, w
}

// Y-channel PSNR and SSIM against the NumPy reference (tools/golden/ypsnr_gen.py) on committed
// PNG pairs.
func TestYChannelGolden(t *testing.T) {
	dir := filepath.Join("testdata", "ycbcr")
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			GT, Pred    string
			H, W, Shave int
			YPSNR       float64 `json:"y_psnr"`
			YSSIM       float64 `json:"y_ssim"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range doc.Cases {
		gt, h, w := readRGB(t, filepath.Join(dir, c.GT))
		pred, _, _ := readRGB(t, filepath.Join(dir, c.Pred))
		if h != c.H || w != c.W {
			t.Fatalf("%s: %dx%d, golden says %dx%d", c.GT, w, h, c.W, c.H)
		}
		p := PSNRY(pred, gt, 1, h, w, c.Shave)
		s := SSIMY(pred, gt, 1, h, w, c.Shave)
		// float32 pixels (value/255 rounded to float32) against NumPy's float64: ~1e-7 dB here.
		if d := math.Abs(p - c.YPSNR); d > 1e-6 {
			t.Errorf("%s: Y-PSNR %.9f, numpy %.9f (diff %.2g)", c.Pred, p, c.YPSNR, d)
		}
		if d := math.Abs(s - c.YSSIM); d > 1e-7 {
			t.Errorf("%s: Y-SSIM %.9f, numpy %.9f (diff %.2g)", c.Pred, s, c.YSSIM, d)
		}
		t.Logf("%s %dx%d: Y-PSNR %.6f dB (numpy %.6f, diff %.1e), Y-SSIM %.6f (numpy %.6f, diff %.1e)", c.Pred, w, h, p, c.YPSNR, math.Abs(p-c.YPSNR), s, c.YSSIM, math.Abs(s-c.YSSIM))
	}
}

func TestLumaDefinition(t *testing.T) {
	// White, black, pure primaries: BT.601 studio-swing values.
	for _, c := range []struct {
		r, g, b float32
		want    float64
	}{{1, 1, 1, 235}, {0, 0, 0, 16}, {1, 0, 0, 16 + 65.481}, {0, 1, 0, 16 + 128.553}, {0, 0, 1, 16 + 24.966}} {
		y, _, _ := Luma([]float32{c.r, c.g, c.b}, 1, 1, 0)
		if math.Abs(y[0]*255-c.want) > 1e-9 {
			t.Errorf("Luma(%v,%v,%v) = %v, want %v", c.r, c.g, c.b, y[0]*255, c.want)
		}
	}
	// The shaved border is ignored: errors only there leave PSNRY at its cap.
	h, w := 8, 8
	a := make([]float32, 3*h*w)
	bb := make([]float32, 3*h*w)
	for i := range a {
		a[i], bb[i] = 0.5, 0.5
	}
	bb[0], bb[h*w-1] = 1, 0
	if got := PSNRY(bb, a, 1, h, w, 2); got != MaxPSNR {
		t.Errorf("border-only error gives %v dB", got)
	}
	if got := PSNRY(bb, a, 1, h, w, 0); got >= MaxPSNR {
		t.Errorf("unshaved border error gives %v dB", got)
	}
}
