// Package data provides the training and test images for vgfq's 2x
// upscalers: sources of high-resolution (HR) RGB images, a batch loader
// that derives the low-resolution (LR) inputs by bilinear 2x
// downsampling, readers for CIFAR-10 (with download) and folders of
// PNG/JPEG images, and a procedural built-in dataset that needs no
// download.
//
// Images are float32 in CHW layout (3 x H x W), values in [0,1].
package data

import (
	"fmt"
	"math/rand/v2"
)

// Channels is the number of colour channels of every image (RGB).
const Channels = 3

// Source is an indexed collection of HR images, all of the same size.
type Source interface {
	// Len returns the number of images.
	Len() int
	// Size returns the height and width of every image.
	Size() (h, w int)
	// Read writes image i (0 <= i < Len()) into dst in CHW layout;
	// len(dst) must be at least 3*h*w. rng is used only by sources that
	// crop randomly; with a nil rng they return a deterministic (centre)
	// crop. Read must be safe for concurrent use with distinct dst.
	Read(i int, rng *rand.Rand, dst []float32) error
}

// Dataset is a named pair of train and test sources.
type Dataset struct {
	Name  string
	Train Source
	Test  Source
}

// checkRead validates the arguments common to all Source.Read
// implementations.
func checkRead(name string, i, n int, dst []float32, h, w int) error {
	if i < 0 || i >= n {
		return fmt.Errorf("%s: image index %d out of range [0,%d)", name, i, n)
	}
	if len(dst) < Channels*h*w {
		return fmt.Errorf("%s: destination has %d floats, need %d", name, len(dst), Channels*h*w)
	}
	return nil
}

// Downsample2x halves the height and width of the c x h x w image hr
// and writes the c x h/2 x w/2 result into lr. It computes exactly what
// PyTorch's F.interpolate(x, scale_factor=0.5, mode='bilinear',
// align_corners=False, antialias=False) computes on CPU in float32
// (ATen upsample_bilinear2d): the source coordinate of output pixel i
// is (i+0.5)*2-0.5 = 2i+0.5, so both interpolation weights are 0.5 and
//
//	out = h0λ*(w0λ*x00 + w1λ*x01) + h1λ*(w0λ*x10 + w1λ*x11)
//
// evaluated in that order in float32, which makes the result
// bit-identical to PyTorch's. Odd sizes, or slices that are too short,
// give an error.
func Downsample2x(hr []float32, c, h, w int, lr []float32) error {
	if c <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("downsample: invalid shape %dx%dx%d", c, h, w)
	}
	if h%2 != 0 || w%2 != 0 {
		return fmt.Errorf("downsample: size %dx%d is not even", h, w)
	}
	if len(hr) < c*h*w {
		return fmt.Errorf("downsample: input has %d floats, need %d", len(hr), c*h*w)
	}
	oh, ow := h/2, w/2
	if len(lr) < c*oh*ow {
		return fmt.Errorf("downsample: output has %d floats, need %d", len(lr), c*oh*ow)
	}
	const lambda = float32(0.5)
	for ch := 0; ch < c; ch++ {
		in := hr[ch*h*w : (ch+1)*h*w]
		out := lr[ch*oh*ow : (ch+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r0 := in[2*y*w : 2*y*w+w]
			r1 := in[(2*y+1)*w : (2*y+1)*w+w]
			o := out[y*ow : y*ow+ow]
			for x := range o {
				// Explicit float32 conversions force rounding after
				// every operation (no fused multiply-add), as in ATen.
				t0 := float32(float32(lambda*r0[2*x]) + float32(lambda*r0[2*x+1]))
				t1 := float32(float32(lambda*r1[2*x]) + float32(lambda*r1[2*x+1]))
				o[x] = float32(float32(lambda*t0) + float32(lambda*t1))
			}
		}
	}
	return nil
}
