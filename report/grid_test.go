package report

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// solid returns a C x H x W image with every channel c set to vals[c].
func solid(h, w int, vals ...float32) Image {
	im := Image{C: len(vals), H: h, W: w, Pix: make([]float32, len(vals)*h*w)}
	for c, v := range vals {
		for i := 0; i < h*w; i++ {
			im.Pix[c*h*w+i] = v
		}
	}
	return im
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

func TestTo8Bit(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint8
	}{
		{-1, 0}, {0, 0}, {float32(math.NaN()), 0}, {float32(math.Inf(1)), 255},
		{1, 255}, {2, 255}, {0.5, 128}, // 127.5 rounds half up
		{1.0 / 255, 1}, {0.4 / 255, 0}, {0.6 / 255, 1}, {254.4 / 255, 254},
	} {
		if got := To8Bit(tc.in); got != tc.want {
			t.Errorf("To8Bit(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestWriteGrid(t *testing.T) {
	// Column 0: 2x2 LR image with distinct pixels; columns 1-2: 4x4 images.
	lr := Image{C: 3, H: 2, W: 2, Pix: []float32{
		// R plane
		0, 1,
		0.5, 0,
		// G plane
		0, 0,
		0.5, 1,
		// B plane
		1, 0,
		0.5, 0,
	}}
	grey := solid(4, 4, 0.25)
	grey.Pix[1*4+3] = 1 // pixel (x=3, y=1) white
	red := solid(4, 4, 1, 0, 0)
	rows := [][]Image{
		{lr, grey, red},
		{solid(2, 2, 0, 0, 1), solid(4, 4, 0.5), solid(4, 4, 0, 1, 0)},
	}
	labels := []string{"LR", "bilinear", "model"}
	const scale = 3
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := WriteGrid(path, rows, labels, scale); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, path)

	cell := 4 * scale // 12
	wantW := Gap + 3*(cell+Gap)
	wantH := Gap + LabelBand + 2*(cell+Gap)
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
	colX := func(j int) int { return Gap + j*(cell+Gap) }
	rowY := func(i int) int { return Gap + LabelBand + i*(cell+Gap) }
	white := [3]uint8{255, 255, 255}

	// LR cell: each source pixel is a 6x6 block (2 -> 12).
	lrWant := [2][2][3]uint8{
		{{0, 0, 255}, {255, 0, 0}},
		{{128, 128, 128}, {0, 255, 0}},
	}
	for dy := 0; dy < cell; dy++ {
		for dx := 0; dx < cell; dx++ {
			want := lrWant[dy/6][dx/6]
			if got := rgbAt(img, colX(0)+dx, rowY(0)+dy); got != want {
				t.Fatalf("LR cell pixel (%d,%d) = %v, want %v", dx, dy, got, want)
			}
		}
	}
	// Grey cell: 0.25 -> 64; source (3,1) is a 3x3 white block.
	for _, p := range []struct {
		x, y int
		want [3]uint8
	}{
		{0, 0, [3]uint8{64, 64, 64}},
		{9, 3, white}, {11, 5, white}, {8, 3, [3]uint8{64, 64, 64}},
		{9, 6, [3]uint8{64, 64, 64}},
	} {
		if got := rgbAt(img, colX(1)+p.x, rowY(0)+p.y); got != p.want {
			t.Errorf("grey cell pixel (%d,%d) = %v, want %v", p.x, p.y, got, p.want)
		}
	}
	checks := []struct {
		x, y int
		want [3]uint8
	}{
		{colX(2), rowY(0), [3]uint8{255, 0, 0}},
		{colX(2) + cell - 1, rowY(0) + cell - 1, [3]uint8{255, 0, 0}},
		{colX(0) + 5, rowY(1) + 7, [3]uint8{0, 0, 255}},
		{colX(1) + 11, rowY(1), [3]uint8{128, 128, 128}},
		{colX(2) + 4, rowY(1) + 4, [3]uint8{0, 255, 0}},
		// Gaps and border are white.
		{0, 0, white},
		{colX(1) - 1, rowY(0) + 3, white},
		{colX(2) + 3, rowY(1) - 1, white},
		{wantW - 1, wantH - 1, white},
	}
	for _, c := range checks {
		if got := rgbAt(img, c.x, c.y); got != c.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}

	// Labels: dark pixels in the band above each column, none elsewhere in it.
	for j := range labels {
		dark := 0
		for y := Gap; y < Gap+LabelBand; y++ {
			for x := colX(j); x < colX(j)+cell; x++ {
				if p := rgbAt(img, x, y); p[0] < 128 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("no label pixels above column %d", j)
		}
	}
	for y := 0; y < Gap+LabelBand; y++ {
		for j := 0; j <= 3; j++ {
			x := colX(j) - 1 // gap column left of cell j (and right border)
			if got := rgbAt(img, x, y); got != white {
				t.Errorf("label ink in gap at (%d,%d): %v", x, y, got)
			}
		}
	}
	if got := entries(t, filepath.Dir(path)); len(got) != 1 {
		t.Errorf("directory contains %v, want only grid.png", got)
	}
}

func TestGridWithoutLabels(t *testing.T) {
	img, err := Render([][]Image{{solid(3, 5, 1)}}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != Gap+5+Gap || b.Dy() != Gap+3+Gap {
		t.Errorf("size %v, want %dx%d", b.Size(), 2*Gap+5, 2*Gap+3)
	}
	if got := img.RGBAAt(Gap, Gap); got.R != 255 || got.A != 255 {
		t.Errorf("first cell pixel %v", got)
	}
	if got := img.RGBAAt(Gap-1, Gap); got.R != 255 {
		t.Errorf("border pixel %v", got)
	}
}

func TestWriteGridErrorsLeaveNoFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	ok := solid(4, 4, 0.5)
	bad := []struct {
		name   string
		rows   [][]Image
		labels []string
		scale  int
	}{
		{"empty", nil, nil, 1},
		{"scale", [][]Image{{ok}}, nil, 0},
		{"ragged", [][]Image{{ok, ok}, {ok}}, nil, 1},
		{"labels", [][]Image{{ok, ok}}, []string{"a"}, 1},
		{"channels", [][]Image{{solid(4, 4, 0, 0)}}, nil, 1},
		{"pixlen", [][]Image{{{C: 1, H: 4, W: 4, Pix: make([]float32, 15)}}}, nil, 1},
	}
	for _, tc := range bad {
		if err := WriteGrid(path, tc.rows, tc.labels, tc.scale); err == nil {
			t.Errorf("%s: expected error", tc.name)
		}
	}
	if err := WriteGrid(filepath.Join(dir, "missing", "grid.png"), [][]Image{{ok}}, nil, 1); err == nil {
		t.Error("expected error for missing directory")
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("directory contains %v after failed writes, want nothing", got)
	}
	// A successful write replaces an existing file.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteGrid(path, [][]Image{{ok}}, []string{"x"}, 2); err != nil {
		t.Fatal(err)
	}
	if b := readPNG(t, path).Bounds(); b.Dx() != 2*Gap+8 || b.Dy() != 2*Gap+LabelBand+8 {
		t.Errorf("replaced file has size %v", b.Size())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory contains %v, want only grid.png", got)
	}
}

func TestLongLabelTruncated(t *testing.T) {
	// A 2-pixel-wide cell cannot hold even one 7-pixel glyph: nothing drawn.
	img, err := Render([][]Image{{solid(2, 2, 1)}, {solid(2, 2, 1)}}, []string{"very long label"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < Gap+LabelBand; y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			if p := img.RGBAAt(x, y); p.R != 255 {
				t.Fatalf("unexpected label ink at (%d,%d)", x, y)
			}
		}
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}
