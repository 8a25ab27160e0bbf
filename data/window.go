package data

import (
	"fmt"
	"math/rand/v2"
)

// Window returns a source of the h x w centre windows of src's images (h and w even, at most
// src's size; the window's offsets are even, so the LR window of a pair is exactly the centre
// h/2 x w/2 window of the LR image). It gives non-square images to models with a non-square
// input from the square crops every source produces. A PairSource stays a PairSource.
func Window(src Source, h, w int) (Source, error) {
	sh, sw := src.Size()
	if h < 2 || w < 2 || h%2 != 0 || w%2 != 0 || h > sh || w > sw {
		return nil, fmt.Errorf("a %dx%d window does not fit the %dx%d images (window sides must be even and at most the image's)", h, w, sh, sw)
	}
	if h == sh && w == sw {
		return src, nil
	}
	ws := &windowSource{src: src, h: h, w: w, sh: sh, sw: sw, y0: (sh - h) / 2 &^ 1, x0: (sw - w) / 2 &^ 1}
	if ps, ok := src.(PairSource); ok {
		return &windowPairSource{windowSource: ws, ps: ps}, nil
	}
	return ws, nil
}

type windowSource struct {
	src          Source
	h, w, sh, sw int
	y0, x0       int
}

func (s *windowSource) Len() int         { return s.src.Len() }
func (s *windowSource) Size() (h, w int) { return s.h, s.w }

func (s *windowSource) Read(i int, rng *rand.Rand, dst []float32) error {
	if err := checkRead("window", i, s.Len(), dst, s.h, s.w); err != nil {
		return err
	}
	full := make([]float32, Channels*s.sh*s.sw)
	if err := s.src.Read(i, rng, full); err != nil {
		return err
	}
	cut(full, s.sh, s.sw, s.y0, s.x0, s.h, s.w, dst)
	return nil
}

// cut copies the h x w window at (y0, x0) of the Channels x sh x sw image src into dst.
func cut(src []float32, sh, sw, y0, x0, h, w int, dst []float32) {
	for c := 0; c < Channels; c++ {
		for y := 0; y < h; y++ {
			o := (c*sh+y0+y)*sw + x0
			copy(dst[(c*h+y)*w:(c*h+y+1)*w], src[o:o+w])
		}
	}
}

type windowPairSource struct {
	*windowSource
	ps PairSource
}

func (s *windowPairSource) ReadPair(i int, rng *rand.Rand, hr, lr []float32) error {
	if err := checkRead("window", i, s.Len(), hr, s.h, s.w); err != nil {
		return err
	}
	if len(lr) < Channels*s.h*s.w/4 {
		return fmt.Errorf("window: LR destination has %d floats, need %d", len(lr), Channels*s.h*s.w/4)
	}
	fullHR := make([]float32, Channels*s.sh*s.sw)
	fullLR := make([]float32, Channels*s.sh*s.sw/4)
	if err := s.ps.ReadPair(i, rng, fullHR, fullLR); err != nil {
		return err
	}
	cut(fullHR, s.sh, s.sw, s.y0, s.x0, s.h, s.w, hr)
	cut(fullLR, s.sh/2, s.sw/2, s.y0/2, s.x0/2, s.h/2, s.w/2, lr)
	return nil
}
