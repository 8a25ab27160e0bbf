package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"
)

// HeatMax is the absolute error (mean over R, G, B, data range 1) at which the error heat maps
// saturate: 0.1 is about 25 of 255 levels, so ringing and banding of a few levels stay visible
// and clipping stands out at the top of the scale.
const HeatMax = 0.1

// infernoStops approximates matplotlib's perceptually uniform "inferno" colour map at 8 stops.
var infernoStops = [][3]float64{
	{0, 0, 4}, {40, 11, 84}, {101, 21, 110}, {159, 42, 99},
	{212, 72, 66}, {245, 125, 21}, {250, 193, 39}, {252, 255, 164},
}

// heatColor maps t in [0, 1] (clamped) to an RGB colour of the inferno map.
func heatColor(t float64) (r, g, b uint8) {
	if !(t > 0) {
		t = 0
	}
	if t > 1 {
		t = 1
	}
	f := t * float64(len(infernoStops)-1)
	i := int(f)
	if i >= len(infernoStops)-1 {
		i, f = len(infernoStops)-2, float64(len(infernoStops)-1)
	}
	u := f - float64(i)
	a, c := infernoStops[i], infernoStops[i+1]
	mix := func(k int) uint8 { return uint8(math.Round(a[k] + (c[k]-a[k])*u)) }
	return mix(0), mix(1), mix(2)
}

// Region is a rectangle of an image, in pixels.
type Region struct{ X, Y, W, H int }

// rgbImage renders the region of a CHW RGB image (3 x h x w) as an 8-bit RGBA image (To8Bit).
func rgbImage(pix []float32, h, w int, r Region) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, r.W, r.H))
	plane := h * w
	for y := 0; y < r.H; y++ {
		for x := 0; x < r.W; x++ {
			s := (r.Y+y)*w + r.X + x
			o := im.PixOffset(x, y)
			im.Pix[o] = To8Bit(pix[s])
			im.Pix[o+1] = To8Bit(pix[plane+s])
			im.Pix[o+2] = To8Bit(pix[2*plane+s])
			im.Pix[o+3] = 255
		}
	}
	return im
}

// errorImage renders |pred - gt| (mean over the channels) of the region as a heat map
// saturating at HeatMax, and returns the largest error in the region.
func errorImage(pred, gt []float32, h, w int, r Region) (*image.NRGBA, float64) {
	im := image.NewNRGBA(image.Rect(0, 0, r.W, r.H))
	plane := h * w
	var worst float64
	for y := 0; y < r.H; y++ {
		for x := 0; x < r.W; x++ {
			s := (r.Y+y)*w + r.X + x
			var e float64
			for c := 0; c < 3; c++ {
				e += math.Abs(float64(pred[c*plane+s]) - float64(gt[c*plane+s]))
			}
			e /= 3
			worst = max(worst, e)
			o := im.PixOffset(x, y)
			im.Pix[o], im.Pix[o+1], im.Pix[o+2] = heatColor(e / HeatMax)
			im.Pix[o+3] = 255
		}
	}
	return im, worst
}

// detailRegion picks the side x side window (side even, stepping by 2) of a CHW RGB image with
// the most detail: the largest sum of absolute horizontal and vertical luma differences. Ties go
// to the first window in raster order, so the choice is deterministic.
func detailRegion(hr []float32, h, w, side int) Region {
	side = min(side, h, w) &^ 1
	plane := h * w
	luma := make([]float64, plane)
	for i := range luma {
		luma[i] = 0.299*float64(hr[i]) + 0.587*float64(hr[plane+i]) + 0.114*float64(hr[2*plane+i])
	}
	// grad[y][x] = |l(x+1)-l(x)| + |l(y+1)-l(y)|, summed with an integral image.
	integral := make([]float64, (h+1)*(w+1))
	for y := 0; y < h; y++ {
		var row float64
		for x := 0; x < w; x++ {
			var g float64
			if x+1 < w {
				g += math.Abs(luma[y*w+x+1] - luma[y*w+x])
			}
			if y+1 < h {
				g += math.Abs(luma[(y+1)*w+x] - luma[y*w+x])
			}
			row += g
			integral[(y+1)*(w+1)+x+1] = integral[y*(w+1)+x+1] + row
		}
	}
	best, br := -1.0, Region{W: side, H: side}
	for y := 0; y+side <= h; y += 2 {
		for x := 0; x+side <= w; x += 2 {
			s := integral[(y+side)*(w+1)+x+side] - integral[y*(w+1)+x+side] - integral[(y+side)*(w+1)+x] + integral[y*(w+1)+x]
			if s > best+1e-12 {
				best, br = s, Region{X: x, Y: y, W: side, H: side}
			}
		}
	}
	return br
}

// pngURI encodes an image as a PNG data URI.
func pngURI(im image.Image) (string, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, im); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// svgURI encodes an SVG document as a data URI.
func svgURI(svg string) string {
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
}

// colorbarSVG draws the heat map scale from 0 to HeatMax.
func colorbarSVG() string {
	const w, h, barH, m = 360, 44, 14, 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`, w, h, w, h)
	b.WriteString(`<defs><linearGradient id="g">`)
	for i := range infernoStops {
		t := float64(i) / float64(len(infernoStops)-1)
		r, g, bl := heatColor(t)
		fmt.Fprintf(&b, `<stop offset="%.3f" stop-color="rgb(%d,%d,%d)"/>`, t, r, g, bl)
	}
	b.WriteString(`</linearGradient></defs>`)
	fmt.Fprintf(&b, `<rect x="%d" y="4" width="%d" height="%d" fill="url(#g)" stroke="#333"/>`, m, w-2*m, barH)
	for i := 0; i <= 4; i++ {
		x := m + float64(w-2*m)*float64(i)/4
		v := HeatMax * float64(i) / 4
		label := fmt.Sprintf("%.3f", v)
		if i == 4 {
			label = fmt.Sprintf("≥%.2f", v)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, 4+barH, x, 8+barH, x, 21+barH, label)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
