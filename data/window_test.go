package data

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pairOf makes a PairSource of a source whose LR images are its Downsample2x plus a constant,
// so that a window that read the wrong LR pixels would show.
type pairOf struct{ Source }

func (p pairOf) ReadPair(i int, rng *rand.Rand, hr, lr []float32) error {
	if err := p.Read(i, rng, hr); err != nil {
		return err
	}
	h, w := p.Size()
	if err := Downsample2x(hr, Channels, h, w, lr); err != nil {
		return err
	}
	for k := range lr[:Channels*h*w/4] {
		lr[k] += 0.25
	}
	return nil
}

func TestWindow(t *testing.T) {
	src := Builtin(BuiltinOptions{TrainSize: 4, TestSize: 4, Size: 12}).Test
	for _, c := range []struct{ h, w, y0, x0 int }{{8, 12, 2, 0}, {12, 6, 0, 2}, {4, 10, 4, 0}, {2, 2, 4, 4}} {
		for _, paired := range []bool{false, true} {
			s := src
			if paired {
				s = pairOf{src}
			}
			win, err := Window(s, c.h, c.w)
			if err != nil {
				t.Fatal(err)
			}
			if h, w := win.Size(); h != c.h || w != c.w || win.Len() != 4 {
				t.Fatalf("%dx%d window: size %dx%d, len %d", c.h, c.w, h, w, win.Len())
			}
			if _, ok := win.(PairSource); ok != paired {
				t.Errorf("%dx%d window of a paired=%v source: PairSource %v", c.h, c.w, paired, ok)
			}
			// Against the loader on the full images: the same pixels, HR and LR.
			full, _ := NewLoader(s, LoaderOptions{BatchSize: 4})
			part, _ := NewLoader(win, LoaderOptions{BatchSize: 4})
			fb, err := full.Next()
			if err != nil {
				t.Fatal(err)
			}
			pb, err := part.Next()
			if err != nil {
				t.Fatal(err)
			}
			if pb.H != c.h || pb.W != c.w {
				t.Fatalf("batch %dx%d", pb.H, pb.W)
			}
			for n := 0; n < 4; n++ {
				for ch := 0; ch < Channels; ch++ {
					for y := 0; y < c.h; y++ {
						got := pb.HR[((n*Channels+ch)*c.h+y)*c.w:][:c.w]
						want := fb.HR[((n*Channels+ch)*12+c.y0+y)*12+c.x0:][:c.w]
						if !slices.Equal(got, want) {
							t.Fatalf("%dx%d window, image %d, HR row %d differs", c.h, c.w, n, y)
						}
					}
					for y := 0; y < c.h/2; y++ {
						got := pb.LR[((n*Channels+ch)*c.h/2+y)*c.w/2:][:c.w/2]
						want := fb.LR[((n*Channels+ch)*6+c.y0/2+y)*6+c.x0/2:][:c.w/2]
						if !slices.Equal(got, want) {
							t.Fatalf("%dx%d window (paired %v), image %d, LR row %d differs", c.h, c.w, paired, n, y)
						}
					}
				}
			}
		}
	}
	if w, err := Window(src, 12, 12); err != nil || w != src {
		t.Errorf("a window of the full size is the source itself: %v", err)
	}
	for _, c := range [][2]int{{14, 8}, {8, 14}, {7, 8}, {8, 0}} {
		if _, err := Window(src, c[0], c[1]); err == nil || !strings.Contains(err.Error(), "12x12") {
			t.Errorf("%dx%d window of 12x12 images: err %v", c[0], c[1], err)
		}
	}
	win, _ := Window(src, 8, 8)
	if err := win.Read(0, nil, make([]float32, 10)); err == nil {
		t.Error("short destination accepted")
	}
}
