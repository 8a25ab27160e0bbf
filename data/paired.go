package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PairSource is a Source whose low-resolution images come with the data
// (super-resolution datasets ship HR and LR pictures) instead of being
// computed by Downsample2x. The Loader uses ReadPair when a source has it.
type PairSource interface {
	Source
	// ReadPair writes the HR crop of image i into hr (3 x h x w) and the
	// matching LR crop into lr (3 x h/2 x w/2).
	ReadPair(i int, rng *rand.Rand, hr, lr []float32) error
}

// lrDirCandidates are the LR folders looked for next to an HR folder, in
// order: DIV2K's and the EDSR benchmark packs' (Set5, Set14, B100, Urban100)
// LR_bicubic/X2, then plain LR/X2 and LR.
var lrDirCandidates = []string{filepath.Join("LR_bicubic", "X2"), filepath.Join("LR", "X2"), "LR"}

// findPairDirs recognises a paired layout in dir: HR/ with one of
// lrDirCandidates, or DIV2K's top level NAME_HR/ with NAME_LR_bicubic/X2/
// (for example DIV2K_train_HR and DIV2K_train_LR_bicubic/X2).
func findPairDirs(dir string) (hr, lr string, ok bool) {
	if isDir(filepath.Join(dir, "HR")) {
		for _, c := range lrDirCandidates {
			if isDir(filepath.Join(dir, c)) {
				return filepath.Join(dir, "HR"), filepath.Join(dir, c), true
			}
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", "", false
	}
	for _, de := range des {
		name := de.Name()
		if !de.IsDir() || !strings.HasSuffix(name, "_HR") {
			continue
		}
		base := strings.TrimSuffix(name, "_HR")
		for _, c := range []string{base + "_LR_bicubic", base + "_LR"} {
			if p := filepath.Join(dir, c, "X2"); isDir(p) {
				return filepath.Join(dir, name), p, true
			}
		}
	}
	return "", "", false
}

// IsPairedDir reports whether dir (or its train/ and test/ subdirectories)
// has the HR/LR layout that Paired reads.
func IsPairedDir(dir string) bool {
	if _, _, ok := findPairDirs(dir); ok {
		return true
	}
	_, _, ok1 := findPairDirs(filepath.Join(dir, "train"))
	_, _, ok2 := findPairDirs(filepath.Join(dir, "test"))
	return ok1 && ok2
}

// Paired returns a dataset of HR images and their 2x LR versions as super-
// resolution datasets ship them:
//
//	dir/HR/0001.png          with  dir/LR_bicubic/X2/0001x2.png  (DIV2K, EDSR benchmark packs)
//	dir/HR/baby.png          with  dir/LR/baby.png or dir/LR/X2/babyx2.png
//	dir/DIV2K_train_HR/...   with  dir/DIV2K_train_LR_bicubic/X2/...
//
// An LR file pairs with the HR file of the same relative path and base
// name, optionally with an "x2" suffix; any extension. Every HR file needs
// exactly one LR partner and the reverse, and the LR image must be half the
// HR size (rounded down; an odd last HR row or column is dropped); anything
// else is an error naming both files. dir/train and dir/test with this
// layout each give a split; otherwise every 10th pair is a test pair, as in
// Folder. Crops are taken at even HR positions so the LR crop covers
// exactly the same area. Decoding follows Folder (lazy with a bounded cache
// when the images do not fit in opt.CacheBytes).
func Paired(dir string, opt FolderOptions) (*Dataset, error) {
	if err := opt.defaults(dir); err != nil {
		return nil, err
	}
	var trainPairs, testPairs [][2]string
	if hr, lr, ok := findPairDirs(dir); ok {
		all, err := pairFiles(hr, lr)
		if err != nil {
			return nil, err
		}
		for i, p := range all {
			if i%10 == 9 {
				testPairs = append(testPairs, p)
			} else {
				trainPairs = append(trainPairs, p)
			}
		}
	} else {
		for _, split := range []string{"train", "test"} {
			hr, lr, ok := findPairDirs(filepath.Join(dir, split))
			if !ok {
				return nil, fmt.Errorf("%s: no HR/ and LR_bicubic/X2/ (or LR/) folders", filepath.Join(dir, split))
			}
			ps, err := pairFiles(hr, lr)
			if err != nil {
				return nil, err
			}
			if split == "train" {
				trainPairs = ps
			} else {
				testPairs = ps
			}
		}
	}
	if len(trainPairs) == 0 {
		return nil, fmt.Errorf("paired folder %s: no training pairs", dir)
	}
	if len(testPairs) == 0 {
		return nil, fmt.Errorf("paired folder %s: no test pairs (need at least 10 pairs, or train/ and test/ subdirectories)", dir)
	}
	cache := newLRU[rgbPair](opt.CacheBytes, func(p rgbPair) int64 { return int64(len(p.hr.pix) + len(p.lr.pix)) })
	train, trainBytes, err := newPairedSource(trainPairs, opt, true, cache, 0)
	if err != nil {
		return nil, err
	}
	test, testBytes, err := newPairedSource(testPairs, opt, false, cache, len(trainPairs))
	if err != nil {
		return nil, err
	}
	if opt.Lazy || trainBytes+testBytes > opt.CacheBytes {
		train.lazy, test.lazy = true, true
	} else {
		for _, s := range []*PairedSource{train, test} {
			for i := range s.pairs {
				p, err := s.load(i)
				if err != nil {
					return nil, err
				}
				cache.put(s.key+i, p)
			}
		}
	}
	return &Dataset{Name: "paired:" + filepath.Base(filepath.Clean(dir)), Train: train, Test: test}, nil
}

func (opt *FolderOptions) defaults(dir string) error {
	if opt.CropSize == 0 {
		opt.CropSize = 32
	}
	if opt.CropSize < 2 || opt.CropSize%2 != 0 {
		return fmt.Errorf("folder %s: crop size %d must be even and >= 2", dir, opt.CropSize)
	}
	if opt.MaxPixels <= 0 {
		opt.MaxPixels = 1 << 26
	}
	if opt.CropsPerImage == 0 {
		opt.CropsPerImage = 1
	}
	if opt.CropsPerImage < 1 || opt.CropsPerImage > 1<<20 {
		return fmt.Errorf("folder %s: crops per image %d out of range [1, 1048576]", dir, opt.CropsPerImage)
	}
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	return nil
}

// pairKey is the name an image pairs by: its path relative to the folder
// without extension and without a trailing "x2" (LR files of DIV2K are
// 0001x2.png).
func pairKey(rel string, lr bool) string {
	k := strings.TrimSuffix(rel, filepath.Ext(rel))
	if lr {
		k = strings.TrimSuffix(k, "x2")
		k = strings.TrimSuffix(k, "X2")
	}
	return k
}

// pairFiles matches the images of hrDir and lrDir by pairKey.
func pairFiles(hrDir, lrDir string) ([][2]string, error) {
	hrs, err := listImages(hrDir)
	if err != nil {
		return nil, err
	}
	lrs, err := listImages(lrDir)
	if err != nil {
		return nil, err
	}
	lrByKey := map[string]string{}
	for _, p := range lrs {
		rel, _ := filepath.Rel(lrDir, p)
		k := pairKey(rel, true)
		if prev, dup := lrByKey[k]; dup {
			return nil, fmt.Errorf("%s and %s are both LR versions of %s", prev, p, k)
		}
		lrByKey[k] = p
	}
	var pairs [][2]string
	var missing []string
	for _, p := range hrs {
		rel, _ := filepath.Rel(hrDir, p)
		k := pairKey(rel, false)
		lr, ok := lrByKey[k]
		if !ok {
			missing = append(missing, p)
			continue
		}
		delete(lrByKey, k)
		pairs = append(pairs, [2]string{p, lr})
	}
	if len(missing) > 0 {
		ext := filepath.Ext(missing[0])
		rel, _ := filepath.Rel(hrDir, missing[0])
		want := filepath.Join(lrDir, pairKey(rel, false)+"x2"+ext)
		return nil, fmt.Errorf("%s has no LR partner in %s (looked for %s or the same name; %d HR images unpaired)", missing[0], lrDir, want, len(missing))
	}
	if len(lrByKey) > 0 {
		var extra []string
		for _, p := range lrByKey {
			extra = append(extra, p)
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("%s has no HR partner in %s (%d LR images unpaired)", extra[0], hrDir, len(extra))
	}
	return pairs, nil
}

// rgbPair is a decoded HR image and its LR version.
type rgbPair struct{ hr, lr *rgbImage }

// PairedSource is a PairSource of aligned HR and LR crops; see Paired.
type PairedSource struct {
	pairs     [][2]string
	crop      int
	random    bool
	maxPixels int
	repeat    int
	cache     *lru[rgbPair]
	key       int // cache key of pairs[0]
	lazy      bool
}

func newPairedSource(pairs [][2]string, opt FolderOptions, random bool, cache *lru[rgbPair], key int) (*PairedSource, int64, error) {
	s := &PairedSource{pairs: pairs, crop: opt.CropSize, random: random, maxPixels: opt.MaxPixels, repeat: 1,
		cache: cache, key: key}
	if random && opt.CropsPerImage > 1 {
		s.repeat = opt.CropsPerImage
	}
	var total int64
	for _, p := range pairs {
		hw, hh, err := imageConfig(p[0])
		if err != nil {
			return nil, 0, err
		}
		lw, lh, err := imageConfig(p[1])
		if err != nil {
			return nil, 0, err
		}
		if err := s.checkSizes(p, hw, hh, lw, lh); err != nil {
			return nil, 0, err
		}
		total += 3 * (int64(hw)*int64(hh) + int64(lw)*int64(lh))
	}
	return s, total, nil
}

func (s *PairedSource) checkSizes(p [2]string, hw, hh, lw, lh int) error {
	if lw != hw/2 || lh != hh/2 {
		return fmt.Errorf("%s is %dx%d but its LR partner %s is %dx%d; a 2x pair needs %dx%d", p[0], hw, hh, p[1], lw, lh, hw/2, hh/2)
	}
	if hw < s.crop || hh < s.crop {
		return fmt.Errorf("%s: %dx%d image is smaller than the %dx%d crop", p[0], hw, hh, s.crop, s.crop)
	}
	if s.maxPixels > 0 && int64(hw)*int64(hh) > int64(s.maxPixels) {
		return fmt.Errorf("%s: %dx%d image is larger than %d pixels", p[0], hw, hh, s.maxPixels)
	}
	return nil
}

func (s *PairedSource) load(i int) (rgbPair, error) {
	var ims [2]*rgbImage
	for k, f := range s.pairs[i] {
		b, err := os.ReadFile(f)
		if err != nil {
			return rgbPair{}, err
		}
		if ims[k], err = decodeRGB(f, b, s.maxPixels); err != nil {
			return rgbPair{}, err
		}
	}
	if err := s.checkSizes(s.pairs[i], ims[0].w, ims[0].h, ims[1].w, ims[1].h); err != nil {
		return rgbPair{}, err
	}
	return rgbPair{ims[0], ims[1]}, nil
}

// Lazy reports whether images are decoded on demand.
func (s *PairedSource) Lazy() bool { return s.lazy }

// Len returns the number of crops an epoch visits: pairs × crops per image.
func (s *PairedSource) Len() int { return len(s.pairs) * s.repeat }

// Size returns the HR crop size.
func (s *PairedSource) Size() (h, w int) { return s.crop, s.crop }

// Path returns the HR and LR files of crop i.
func (s *PairedSource) Path(i int) (hr, lr string) {
	p := s.pairs[i%len(s.pairs)]
	return p[0], p[1]
}

// Read writes the HR crop of pair i to dst (for callers that need HR only).
func (s *PairedSource) Read(i int, rng *rand.Rand, dst []float32) error {
	c := s.crop
	return s.ReadPair(i, rng, dst, make([]float32, Channels*(c/2)*(c/2)))
}

// ReadPair writes aligned HR and LR crops of pair i: random even positions
// for a training source with a non-nil rng, else the centre.
func (s *PairedSource) ReadPair(i int, rng *rand.Rand, hr, lr []float32) error {
	if err := checkRead("paired", i, s.Len(), hr, s.crop, s.crop); err != nil {
		return err
	}
	c, lc := s.crop, s.crop/2
	if len(lr) < Channels*lc*lc {
		return errors.New("paired: LR destination too short")
	}
	i %= len(s.pairs)
	p, ok := s.cache.get(s.key + i)
	if !ok {
		var err error
		if p, err = s.load(i); err != nil {
			return err
		}
		s.cache.put(s.key+i, p)
	}
	// Positions in LR pixels; the HR crop starts at twice them.
	lx, ly := (p.lr.w-lc)/2, (p.lr.h-lc)/2
	if s.random && rng != nil {
		lx, ly = rng.IntN(p.lr.w-lc+1), rng.IntN(p.lr.h-lc+1)
	}
	cropCHW(p.hr, 2*lx, 2*ly, c, hr)
	cropCHW(p.lr, lx, ly, lc, lr)
	return nil
}

// cropCHW writes the c x c crop of im at (x0, y0) to dst as float32 CHW.
func cropCHW(im *rgbImage, x0, y0, c int, dst []float32) {
	plane := c * c
	for y := 0; y < c; y++ {
		row := im.pix[3*((y0+y)*im.w+x0):]
		for x := 0; x < c; x++ {
			o := y*c + x
			dst[o] = float32(row[3*x]) / 255
			dst[plane+o] = float32(row[3*x+1]) / 255
			dst[2*plane+o] = float32(row[3*x+2]) / 255
		}
	}
}

// OpenDir opens a dataset directory of any layout vgfq reads: CIFAR-10
// (binary, or pickled as torchvision keeps it; dir may be the
// cifar-10-batches-* directory or its parent), HR/LR pairs (see Paired), or
// a folder of images (see Folder).
func OpenDir(dir string, opt FolderOptions) (*Dataset, error) {
	switch p, kind := FindCIFAR10(dir); kind {
	case "bin":
		return LoadCIFAR10Dir(p)
	case "py":
		return LoadCIFAR10Pickled(p)
	}
	if IsPairedDir(dir) {
		return Paired(dir, opt)
	}
	return Folder(dir, opt)
}
