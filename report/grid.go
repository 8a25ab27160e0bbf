// Package report renders visual comparison grids of image batches (for
// example low-resolution input, bilinear baseline, model output and ground
// truth side by side) and writes them as PNG files.
package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/vgfq/vgfq/internal/atomicfile"
)

// Image is one image in CHW layout: C channels (1 = grey, 3 = RGB) of H rows
// by W columns, Pix[(c*H+y)*W+x], with values nominally in [0, 1].
type Image struct {
	C, H, W int
	Pix     []float32
}

// Layout constants of the grid, in output pixels.
const (
	// Gap is the width of the white border around the grid and between
	// neighbouring cells.
	Gap = 2
	// LabelBand is the height of the band above the first row that holds
	// the column labels (basicfont.Face7x13 is 13 pixels tall, plus 1 pixel
	// of padding above and below). The band is omitted when there are no
	// labels.
	LabelBand = 15
)

var labelFace = basicfont.Face7x13

// To8Bit converts a value in [0, 1] to an 8-bit level: the value is clamped
// to [0, 1] (NaN maps to 0) and then rounded half up, floor(v*255 + 0.5) with
// the product and sum in float32. This is the same rule as torchvision's
// save_image (mul(255).add_(0.5).clamp_(0, 255) then truncation to uint8).
func To8Bit(v float32) uint8 {
	if !(v > 0) { // also catches NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	// The explicit conversion forces rounding of the product to float32 (no
	// fused multiply-add), so the result does not depend on the platform.
	return uint8(float32(v*255) + 0.5)
}

// Render draws the grid that WriteGrid writes and returns it as an opaque
// RGBA image.
//
// Every row must have the same number of columns, and labels, if non-empty,
// must have one entry per column. All cells have the same size: the largest
// H and W over all images, multiplied by scale. Each image is stretched to
// its cell with nearest-neighbour sampling (source pixel floor(d*H/cellH) for
// destination pixel d), so a 16x16 low-resolution input shown next to 32x32
// images is drawn as 2x2 blocks of identical pixels. Grey images (C = 1) are
// replicated to R, G and B.
//
// The layout is, from the top: a Gap-pixel white border, the label band
// (LabelBand pixels, only if labels are given) with each label drawn in black
// basicfont 7x13 text centred over its column (truncated to the column
// width), then the rows of cells separated by and surrounded with Gap-pixel
// white gaps. The total size is
//
//	width  = Gap + cols*(cellW+Gap)
//	height = Gap + band + rows*(cellH+Gap)
func Render(rows [][]Image, labels []string, scale int) (*image.RGBA, error) {
	if scale < 1 {
		return nil, fmt.Errorf("report: scale must be >= 1, got %d", scale)
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, errors.New("report: empty grid")
	}
	cols := len(rows[0])
	if len(labels) != 0 && len(labels) != cols {
		return nil, fmt.Errorf("report: %d labels for %d columns", len(labels), cols)
	}
	maxH, maxW := 0, 0
	for i, row := range rows {
		if len(row) != cols {
			return nil, fmt.Errorf("report: row %d has %d images, row 0 has %d", i, len(row), cols)
		}
		for j, im := range row {
			if err := im.validate(); err != nil {
				return nil, fmt.Errorf("report: row %d column %d: %w", i, j, err)
			}
			maxH, maxW = max(maxH, im.H), max(maxW, im.W)
		}
	}
	cellH, cellW := maxH*scale, maxW*scale
	band := 0
	if len(labels) != 0 {
		band = LabelBand
	}
	width := Gap + cols*(cellW+Gap)
	height := Gap + band + len(rows)*(cellH+Gap)
	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)

	for j, label := range labels {
		drawLabel(dst, label, Gap+j*(cellW+Gap), Gap, cellW)
	}
	for i, row := range rows {
		y0 := Gap + band + i*(cellH+Gap)
		for j, im := range row {
			x0 := Gap + j*(cellW+Gap)
			drawCell(dst, im, x0, y0, cellW, cellH)
		}
	}
	return dst, nil
}

// WriteGrid renders rows (one slice of images per grid row, e.g.
// {LR, bilinear, model, ground truth} per sample) with column labels as
// described for Render, each cell scaled up by the integer factor scale, and
// writes the result as a PNG to path atomically (temporary file in the same
// directory, fsync, rename; see internal/atomicfile), with mode 0644. On any
// error no file is created or modified at path.
func WriteGrid(path string, rows [][]Image, labels []string, scale int) error {
	img, err := Render(rows, labels, scale)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return png.Encode(w, img)
	})
}

func (im Image) validate() error {
	if im.C != 1 && im.C != 3 {
		return fmt.Errorf("image has %d channels, want 1 or 3", im.C)
	}
	if im.H <= 0 || im.W <= 0 {
		return fmt.Errorf("invalid image size %dx%d", im.H, im.W)
	}
	if len(im.Pix) != im.C*im.H*im.W {
		return fmt.Errorf("image has %d values, want %d*%d*%d", len(im.Pix), im.C, im.H, im.W)
	}
	return nil
}

// drawCell draws im stretched with nearest-neighbour sampling to the
// cellW x cellH rectangle at (x0, y0).
func drawCell(dst *image.RGBA, im Image, x0, y0, cellW, cellH int) {
	plane := im.H * im.W
	green, blue := 0, 0
	if im.C == 3 {
		green, blue = plane, 2*plane
	}
	for dy := 0; dy < cellH; dy++ {
		sy := dy * im.H / cellH
		off := dst.PixOffset(x0, y0+dy)
		for dx := 0; dx < cellW; dx++ {
			s := sy*im.W + dx*im.W/cellW
			p := dst.Pix[off+4*dx : off+4*dx+4 : off+4*dx+4]
			p[0] = To8Bit(im.Pix[s])
			p[1] = To8Bit(im.Pix[green+s])
			p[2] = To8Bit(im.Pix[blue+s])
			p[3] = 255
		}
	}
}

// drawLabel draws text in black, centred in the width-pixel span starting at
// x0, in the label band whose top is y0. Text too wide for the span is
// truncated rune by rune.
func drawLabel(dst *image.RGBA, text string, x0, y0, width int) {
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(color.Black), Face: labelFace}
	for text != "" && d.MeasureString(text).Ceil() > width {
		_, size := utf8.DecodeLastRuneInString(text)
		text = text[:len(text)-size]
	}
	if text == "" {
		return
	}
	x := x0 + (width-d.MeasureString(text).Ceil())/2
	baseline := y0 + 1 + labelFace.Ascent
	d.Dot = fixed.P(x, baseline)
	d.DrawString(text)
}
