package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testRGBA returns a w x h image whose pixel (x,y) is (x, y, seed).
func testRGBA(w, h int, seed uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), seed, 255})
		}
	}
	return img
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFolderSplitAndCrops(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		// PNG content under a misleading extension in a nested folder.
		name := fmt.Sprintf("sub%d/img%02d.jpg", i%3, i)
		writeFile(t, filepath.Join(dir, name), encodePNG(t, testRGBA(40, 36, uint8(i))))
	}
	writeFile(t, filepath.Join(dir, ".DS_Store"), []byte("junk"))
	writeFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("junk"))
	ds, err := Folder(dir, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 18 || ds.Test.Len() != 2 {
		t.Fatalf("split %d/%d, want 18/2", ds.Train.Len(), ds.Test.Len())
	}
	test := ds.Test.(*FolderSource)
	// Sorted by path: sub0/img00, sub0/img03, ..., sub0/img18, sub1/img01,
	// ...; the 10th and 20th go to test.
	if !strings.HasSuffix(test.Path(0), "sub1/img07.jpg") || !strings.HasSuffix(test.Path(1), "sub2/img17.jpg") {
		t.Errorf("test files %s, %s", test.Path(0), test.Path(1))
	}
	dst := make([]float32, 3*32*32)
	// Test: centre crop at (4,2).
	if err := ds.Test.Read(0, nil, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 4.0/255 || dst[1024] != 2.0/255 || dst[2048] != 7.0/255 || dst[1024+33] != 3.0/255 {
		t.Errorf("centre crop starts at R=%v G=%v B=%v", dst[0]*255, dst[1024]*255, dst[2048]*255)
	}
	// Train: random crops within bounds, deterministic per rng seed.
	seen := map[[2]float32]bool{}
	for s := uint64(0); s < 50; s++ {
		if err := ds.Train.Read(3, rand.New(rand.NewPCG(s, 0)), dst); err != nil {
			t.Fatal(err)
		}
		x0, y0 := dst[0]*255, dst[1024]*255
		if x0 < 0 || x0 > 8 || y0 < 0 || y0 > 4 || dst[31]*255 != x0+31 || dst[1024+31*32]*255 != y0+31 {
			t.Fatalf("crop at (%v,%v) inconsistent", x0, y0)
		}
		seen[[2]float32{x0, y0}] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct crop positions", len(seen))
	}
	a := make([]float32, len(dst))
	ds.Train.Read(5, rand.New(rand.NewPCG(9, 9)), a)
	ds.Train.Read(5, rand.New(rand.NewPCG(9, 9)), dst)
	if !equalImg(a, dst) {
		t.Error("same rng, different crop")
	}
	// Lazy mode gives the same pixels.
	lazy, err := Folder(dir, FolderOptions{Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	lazy.Train.Read(5, rand.New(rand.NewPCG(9, 9)), dst)
	if !equalImg(a, dst) {
		t.Error("lazy decoding differs")
	}
}

func TestFolderTrainTestDirs(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		writeFile(t, filepath.Join(dir, "train", fmt.Sprintf("%d.png", i)), encodePNG(t, testRGBA(32, 32, 0)))
	}
	writeFile(t, filepath.Join(dir, "test", "a.jpeg"), encodeJPEG(t, testRGBA(48, 48, 0)))
	ds, err := Folder(dir, FolderOptions{CropSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 3 || ds.Test.Len() != 1 {
		t.Fatalf("split %d/%d", ds.Train.Len(), ds.Test.Len())
	}
	if h, w := ds.Test.Size(); h != 16 || w != 16 {
		t.Errorf("size %dx%d", h, w)
	}
	dst := make([]float32, 3*16*16)
	if err := ds.Test.Read(0, nil, dst); err != nil {
		t.Fatal(err)
	}
	// JPEG is lossy: the centre crop starts near (16,16).
	if r, g := dst[0]*255, dst[256]*255; r < 13 || r > 19 || g < 13 || g > 19 {
		t.Errorf("JPEG centre crop starts at (%v,%v)", r, g)
	}
}

func TestFolderErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "photos", "a.png"), encodePNG(t, testRGBA(32, 32, 0)))
	writeFile(t, filepath.Join(dir, "photos", "notes.txt"), []byte("hello"))
	_, err := Folder(dir, FolderOptions{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("photos", "notes.txt")+": not a PNG or JPEG image") {
		t.Errorf("non-image: %v", err)
	}

	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, ".hidden.png"), encodePNG(t, testRGBA(32, 32, 0)))
	if _, err := Folder(empty, FolderOptions{}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("no images: %v", err)
	}

	small := t.TempDir()
	for i := 0; i < 10; i++ {
		writeFile(t, filepath.Join(small, fmt.Sprintf("%d.png", i)), encodePNG(t, testRGBA(32, 32, 0)))
	}
	writeFile(t, filepath.Join(small, "5.png"), encodePNG(t, testRGBA(32, 20, 0)))
	if _, err := Folder(small, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "5.png: 32x20 image is smaller than the 32x32 crop") {
		t.Errorf("small image: %v", err)
	}
	if _, err := Folder(small, FolderOptions{Lazy: true}); err == nil || !strings.Contains(err.Error(), "5.png") {
		t.Errorf("small image, lazy: %v", err)
	}

	corrupt := t.TempDir()
	b := encodePNG(t, testRGBA(32, 32, 0))
	writeFile(t, filepath.Join(corrupt, "train", "bad.png"), b[:len(b)/2])
	writeFile(t, filepath.Join(corrupt, "test", "x.png"), b)
	if _, err := Folder(corrupt, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("corrupt image: %v", err)
	}
	if _, err := Folder(corrupt, FolderOptions{CropSize: 7}); err == nil {
		t.Error("odd crop accepted")
	}
}

func TestDecodeImageConversions(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.Pix = []uint8{10, 200}
	g16 := image.NewRGBA64(image.Rect(0, 0, 1, 1))
	g16.SetRGBA64(0, 0, color.RGBA64{0x1234, 0xabcd, 0xffff, 0xffff})
	alpha := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	alpha.SetNRGBA(0, 0, color.NRGBA{100, 150, 200, 64})
	gray16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	gray16.SetGray16(0, 0, color.Gray16{0x8081})
	pal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.RGBA{1, 2, 3, 255}})
	rgb := image.NewRGBA(image.Rect(0, 0, 2, 1)) // opaque truecolor: decodes to *image.RGBA
	rgb.Pix = []uint8{9, 8, 7, 255, 250, 128, 0, 255}
	for _, tc := range []struct {
		name string
		img  image.Image
		want []byte
	}{
		{"gray", gray, []byte{10, 10, 10, 200, 200, 200}},
		{"rgba64", g16, []byte{0x12, 0xab, 0xff}},
		{"alpha", alpha, []byte{100, 150, 200}},
		{"gray16", gray16, []byte{0x80, 0x80, 0x80}},
		{"paletted", pal, []byte{1, 2, 3}},
		{"rgb", rgb, []byte{9, 8, 7, 250, 128, 0}},
	} {
		pix, w, h, err := DecodeImage(tc.name, encodePNG(t, tc.img), 0)
		if err != nil {
			t.Fatal(err)
		}
		if w*h*3 != len(tc.want) || !bytes.Equal(pix, tc.want) {
			t.Errorf("%s: %dx%d %v, want %v", tc.name, w, h, pix, tc.want)
		}
	}
	if _, _, _, err := DecodeImage("big.png", encodePNG(t, testRGBA(100, 100, 0)), 5000); err == nil {
		t.Error("image above MaxPixels accepted")
	}
}

func TestFolderCropsPerImage(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"train", "test"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for _, f := range []string{"train/a.png", "train/b.png", "test/c.png"} {
		fh, err := os.Create(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(fh, img)
		fh.Close()
	}
	ds, err := Folder(dir, FolderOptions{CropsPerImage: 5})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 10 || ds.Test.Len() != 1 {
		t.Fatalf("train %d test %d crops", ds.Train.Len(), ds.Test.Len())
	}
	dst := make([]float32, 3*32*32)
	if err := ds.Train.Read(9, rand.New(rand.NewPCG(1, 2)), dst); err != nil {
		t.Fatal(err)
	}
	if err := ds.Train.Read(10, nil, dst); err == nil {
		t.Error("index past images × crops accepted")
	}
	if _, err := Folder(dir, FolderOptions{CropsPerImage: -1}); err == nil {
		t.Error("negative crops per image accepted")
	}
}
