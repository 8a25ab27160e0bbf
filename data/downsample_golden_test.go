package data

import (
	"math"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// TestDownsample2xGoldenTorch compares Downsample2x with PyTorch 1.13's F.interpolate(x,
// scale_factor=0.5, mode='bilinear', align_corners=False) (tools/golden/downsample_gen.py).
func TestDownsample2xGoldenTorch(t *testing.T) {
	f, err := npz.Open("testdata/downsample.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(name string) []float32 {
		var v []float32
		if err := f.Read(name+".npy", &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	for _, c := range []struct {
		hr, lr      string
		n, ch, h, w int
	}{{"hr", "lr", 4, 3, 32, 32}, {"hr2", "lr2", 2, 3, 18, 10}} {
		hr, want := read(c.hr), read(c.lr)
		per, lper := c.ch*c.h*c.w, c.ch*c.h*c.w/4
		got := make([]float32, len(want))
		for i := 0; i < c.n; i++ {
			if err := Downsample2x(hr[i*per:(i+1)*per], c.ch, c.h, c.w, got[i*lper:(i+1)*lper]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s[%d]: %v, torch %v (not bit-identical)", c.lr, i, got[i], want[i])
			}
		}
	}
}
