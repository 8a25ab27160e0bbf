package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FolderOptions configures Folder.
type FolderOptions struct {
	// CropSize is the side of the square HR crops; default 32. It must
	// be even.
	CropSize int
	// Lazy decodes images when they are first read instead of all at once
	// in Folder, keeping at most CacheBytes of decoded images (least
	// recently used ones are dropped and decoded again when needed).
	// Folder switches to lazy decoding by itself when the decoded images
	// (3 bytes a pixel, known from the file headers) would not fit in
	// CacheBytes.
	Lazy bool
	// CacheBytes bounds the memory held by decoded images (8-bit RGB, 3
	// bytes a pixel); default DefaultCacheBytes.
	CacheBytes int64
	// MaxPixels rejects images with more pixels than this (protection
	// against decompression bombs); default 1<<26 (64 Mpixel).
	MaxPixels int
	// CropsPerImage is the number of random crops each training image
	// gives per epoch (the training split's Len is images × this);
	// default 1. A few large photos need many crops per epoch.
	CropsPerImage int
}

// Folder returns a dataset of the PNG and JPEG images under dir
// (searched recursively, recognised by content, not by extension).
// Files and directories whose names start with '.' are skipped; any
// other regular file that is not a decodable PNG or JPEG is an error.
//
// If dir contains subdirectories train/ and test/ they give the two
// splits; otherwise the images are sorted by path and every 10th one
// (indices 9, 19, ...) goes to the test split.
//
// The training source returns random CropSize x CropSize crops (the
// position is drawn from the rng passed to Read; a nil rng gives the
// centre crop); the test source returns centre crops. Images smaller
// than the crop are an error. Unless opt.Lazy is set all images are
// decoded once here and kept in memory as 8-bit RGB (3 bytes a pixel).
//
// Pixel values are the 8-bit sRGB values divided by 255, with no
// colour management; grayscale images are replicated to 3 channels,
// 16-bit images are reduced to 8 bits (v>>8), transparency is dropped
// (non-premultiplied colour is kept, as PIL's convert("RGB") does).
func Folder(dir string, opt FolderOptions) (*Dataset, error) {
	if err := opt.defaults(dir); err != nil {
		return nil, err
	}
	trainDir, testDir := filepath.Join(dir, "train"), filepath.Join(dir, "test")
	var trainFiles, testFiles []string
	if isDir(trainDir) && isDir(testDir) {
		var err error
		if trainFiles, err = listImages(trainDir); err != nil {
			return nil, err
		}
		if testFiles, err = listImages(testDir); err != nil {
			return nil, err
		}
	} else {
		all, err := listImages(dir)
		if err != nil {
			return nil, err
		}
		for i, f := range all {
			if i%10 == 9 {
				testFiles = append(testFiles, f)
			} else {
				trainFiles = append(trainFiles, f)
			}
		}
	}
	if len(trainFiles) == 0 {
		return nil, fmt.Errorf("folder %s: no training images", dir)
	}
	if len(testFiles) == 0 {
		return nil, fmt.Errorf("folder %s: no test images (need at least 10 images, or train/ and test/ subdirectories)", dir)
	}
	// One cache for both splits: CacheBytes bounds the dataset's decoded images.
	cache := newLRU[*rgbImage](opt.CacheBytes, func(im *rgbImage) int64 { return int64(len(im.pix)) })
	train, trainBytes, err := newFolderSource(trainFiles, opt, true, cache, 0)
	if err != nil {
		return nil, err
	}
	test, testBytes, err := newFolderSource(testFiles, opt, false, cache, len(trainFiles))
	if err != nil {
		return nil, err
	}
	if opt.Lazy || trainBytes+testBytes > opt.CacheBytes {
		train.lazy, test.lazy = true, true
	} else {
		for _, s := range []*FolderSource{train, test} {
			if err := s.preload(); err != nil {
				return nil, err
			}
		}
	}
	return &Dataset{Name: "folder:" + filepath.Base(filepath.Clean(dir)), Train: train, Test: test}, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// listImages returns the sorted paths of the non-hidden regular files
// under dir and checks that each one starts like a PNG or JPEG.
func listImages(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			// Follow symlinks to regular files; skip other special files.
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		kind, err := sniffFile(p)
		if err != nil {
			return err
		}
		if kind == "" {
			return fmt.Errorf("%s: not a PNG or JPEG image", p)
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no PNG or JPEG images found", dir)
	}
	sort.Strings(files)
	return files, nil
}

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8, 0xff}
)

// sniff returns "png", "jpeg" or "" from the first bytes of a file.
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, pngMagic):
		return "png"
	case bytes.HasPrefix(head, jpegMagic):
		return "jpeg"
	}
	return ""
}

func sniffFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return sniff(head[:n]), nil
}

// rgbImage is an 8-bit RGB image, 3 bytes per pixel, row-major.
type rgbImage struct {
	w, h int
	pix  []byte
}

// DecodeImage decodes a PNG or JPEG image (recognised by content) from b
// into 8-bit RGB, 3 bytes per pixel row-major, with the conversions
// described at Folder. name is used in error messages. Images with more
// than maxPixels pixels (if > 0) are rejected before decoding.
func DecodeImage(name string, b []byte, maxPixels int) (pix []byte, w, h int, err error) {
	im, err := decodeRGB(name, b, maxPixels)
	if err != nil {
		return nil, 0, 0, err
	}
	return im.pix, im.w, im.h, nil
}

func decodeRGB(name string, b []byte, maxPixels int) (*rgbImage, error) {
	var decode func(io.Reader) (image.Image, error)
	var config func(io.Reader) (image.Config, error)
	switch sniff(b) {
	case "png":
		decode, config = png.Decode, png.DecodeConfig
	case "jpeg":
		decode, config = jpeg.Decode, jpeg.DecodeConfig
	default:
		return nil, fmt.Errorf("%s: not a PNG or JPEG image", name)
	}
	cfg, err := config(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s: empty image (%dx%d)", name, cfg.Width, cfg.Height)
	}
	if maxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%s: %dx%d image is larger than %d pixels", name, cfg.Width, cfg.Height, maxPixels)
	}
	img, err := decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return toRGB(img), nil
}

// toRGB converts any image to 8-bit RGB.
func toRGB(img image.Image) *rgbImage {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := &rgbImage{w: w, h: h, pix: make([]byte, 3*w*h)}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				o := 3 * (y*w + x)
				out.pix[o], out.pix[o+1], out.pix[o+2] = v, v, v
			}
		}
		return out
	case *image.NRGBA:
		// Drop alpha, keep the straight colour.
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				o := 3 * (y*w + x)
				copy(out.pix[o:o+3], row[4*x:4*x+3])
			}
		}
		return out
	}
	if m, ok := img.(*image.RGBA); ok && m.Opaque() {
		// Truecolor PNGs decode to RGBA; opaque, so premultiplied = straight colour.
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				o := 3 * (y*w + x)
				copy(out.pix[o:o+3], row[4*x:4*x+3])
			}
		}
		return out
	}
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		// Fast paths of image/draw (YCbCr, RGBA, Paletted, ...); for
		// opaque images premultiplied = straight colour.
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Src)
		for i := 0; i < w*h; i++ {
			copy(out.pix[3*i:3*i+3], rgba.Pix[4*i:4*i+3])
		}
		return out
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
			o := 3 * (y*w + x)
			out.pix[o], out.pix[o+1], out.pix[o+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
		}
	}
	return out
}

// DefaultCacheBytes is the default bound on decoded images kept in memory
// by folder sources (FolderOptions.CacheBytes).
const DefaultCacheBytes = 1 << 30

// FolderSource is a Source of square crops of image files; see Folder.
type FolderSource struct {
	files     []string
	crop      int
	random    bool
	maxPixels int
	repeat    int // crops per image per epoch (training)
	cache     *lru[*rgbImage]
	key       int // cache key of files[0] (the splits of a dataset share one cache)
	lazy      bool
}

// newFolderSource checks the header (format and size) of every file and returns the source
// and the bytes its images take decoded.
func newFolderSource(files []string, opt FolderOptions, random bool, cache *lru[*rgbImage], key int) (*FolderSource, int64, error) {
	s := &FolderSource{files: files, crop: opt.CropSize, random: random, maxPixels: opt.MaxPixels, repeat: 1,
		cache: cache, key: key}
	if random && opt.CropsPerImage > 1 {
		s.repeat = opt.CropsPerImage
	}
	var total int64
	for _, f := range files {
		w, h, err := imageConfig(f)
		if err != nil {
			return nil, 0, err
		}
		if err := s.checkSize(f, w, h); err != nil {
			return nil, 0, err
		}
		total += 3 * int64(w) * int64(h)
	}
	return s, total, nil
}

// preload decodes every image into the cache (which the caller checked is large enough).
func (s *FolderSource) preload() error {
	for i := range s.files {
		im, err := s.load(i)
		if err != nil {
			return err
		}
		s.cache.put(s.key+i, im)
	}
	return nil
}

// Lazy reports whether images are decoded on demand (see FolderOptions.Lazy).
func (s *FolderSource) Lazy() bool { return s.lazy }

// imageConfig reads the size of an image file from its header.
func imageConfig(f string) (w, h int, err error) {
	fh, err := os.Open(f)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	cfg, _, err := image.DecodeConfig(fh)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", f, err)
	}
	return cfg.Width, cfg.Height, nil
}

func (s *FolderSource) checkSize(name string, w, h int) error {
	if w < s.crop || h < s.crop {
		return fmt.Errorf("%s: %dx%d image is smaller than the %dx%d crop", name, w, h, s.crop, s.crop)
	}
	if s.maxPixels > 0 && int64(w)*int64(h) > int64(s.maxPixels) {
		return fmt.Errorf("%s: %dx%d image is larger than %d pixels", name, w, h, s.maxPixels)
	}
	return nil
}

func (s *FolderSource) load(i int) (*rgbImage, error) {
	b, err := os.ReadFile(s.files[i])
	if err != nil {
		return nil, err
	}
	im, err := decodeRGB(s.files[i], b, s.maxPixels)
	if err != nil {
		return nil, err
	}
	if err := s.checkSize(s.files[i], im.w, im.h); err != nil {
		return nil, err
	}
	return im, nil
}

// Len returns the number of crops an epoch visits: images × crops per image.
func (s *FolderSource) Len() int { return len(s.files) * s.repeat }

// Size returns the crop size.
func (s *FolderSource) Size() (h, w int) { return s.crop, s.crop }

// Path returns the file of crop i.
func (s *FolderSource) Path(i int) string { return s.files[i%len(s.files)] }

// Read writes a crop of image i to dst: a random one if this is a
// training source and rng is not nil, else the centre crop.
func (s *FolderSource) Read(i int, rng *rand.Rand, dst []float32) error {
	if err := checkRead("folder", i, s.Len(), dst, s.crop, s.crop); err != nil {
		return err
	}
	i %= len(s.files)
	im, ok := s.cache.get(s.key + i)
	if !ok {
		var err error
		if im, err = s.load(i); err != nil {
			return err
		}
		s.cache.put(s.key+i, im)
	}
	c := s.crop
	x0, y0 := (im.w-c)/2, (im.h-c)/2
	if s.random && rng != nil {
		x0, y0 = rng.IntN(im.w-c+1), rng.IntN(im.h-c+1)
	}
	cropCHW(im, x0, y0, c, dst)
	return nil
}
