package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/graph"
)

// dataFlags are the dataset flags shared by train, eval and demo.
type dataFlags struct {
	spec         string
	cacheDir     string
	noFallback   bool
	builtinTrain int
	builtinTest  int
	crop         int
	cropsPerImg  int
	cacheMB      int
}

func (f *dataFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.spec, "data", "builtin", "dataset: builtin (procedural, no download), cifar10 (downloaded once, checksummed; a cifar-10-batches-py from torchvision in --cache-dir is used as is), or a directory: CIFAR-10 (binary or torchvision's pickled cifar-10-batches-py), HR/ + LR_bicubic/X2/ (or LR/) pairs as DIV2K and the Set5/Set14 packs ship them, or a folder of PNG/JPEG images")
	c.Flags().StringVar(&f.cacheDir, "cache-dir", "", "download cache (default $VGFQ_CACHE or the user cache dir)/vgfq")
	c.Flags().BoolVar(&f.noFallback, "no-fallback", false, "with --data cifar10: fail when offline instead of using the built-in data")
	c.Flags().IntVar(&f.builtinTrain, "builtin-train", 0, "number of built-in training images (default: the built-in set's size)")
	c.Flags().IntVar(&f.builtinTest, "builtin-test", 0, "number of built-in test images (default: the built-in set's size)")
	c.Flags().IntVar(&f.crop, "crop", 32, "high-resolution image size: crop size for image folders, image size of the built-in data (even; CIFAR-10 is 32)")
	c.Flags().IntVar(&f.cropsPerImg, "crops-per-image", 1, "random training crops per folder image per epoch")
	c.Flags().IntVar(&f.cacheMB, "image-cache-mb", int(data.DefaultCacheBytes>>20), "decoded images of a folder kept in memory, in MiB (larger folders are decoded lazily)")
}

func (f *dataFlags) validate() error {
	if f.builtinTrain < 0 || f.builtinTrain > 10_000_000 {
		return badInputf("--builtin-train %d out of range [1, 10000000]", f.builtinTrain)
	}
	if f.builtinTest < 0 || f.builtinTest > 10_000_000 {
		return badInputf("--builtin-test %d out of range [1, 10000000]", f.builtinTest)
	}
	if f.cropsPerImg < 1 || f.cropsPerImg > 1<<20 {
		return badInputf("--crops-per-image %d out of range [1, 1048576]", f.cropsPerImg)
	}
	if f.cacheMB < 1 || f.cacheMB > 1<<24 {
		return badInputf("--image-cache-mb %d out of range [1, 16777216]", f.cacheMB)
	}
	if f.crop < 2 || f.crop > 4096 || f.crop%2 != 0 {
		return badInputf("--crop %d must be even and in [2, 4096]", f.crop)
	}
	return nil
}

// open loads the dataset. Problems with the user's data are input errors (exit 2).
func (f *dataFlags) open(log io.Writer) (*data.Dataset, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	switch f.spec {
	case "builtin":
		return data.Builtin(data.BuiltinOptions{TrainSize: f.builtinTrain, TestSize: f.builtinTest, Size: f.crop}), nil
	case "cifar10", "cifar-10":
		var bar *progressbar.ProgressBar
		opt := data.DownloadOptions{Progress: func(done, total int64) {
			if bar == nil && showBars() {
				bar = progressbar.DefaultBytes(total, "downloading CIFAR-10")
			}
			if bar != nil {
				bar.Set64(done)
			}
		}}
		ds, err := data.CIFAR10(f.cacheDir, opt)
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(os.Stderr)
		}
		if errors.Is(err, data.ErrOffline) && !f.noFallback {
			fmt.Fprintf(log, "warning: %v\nwarning: falling back to the built-in dataset (--no-fallback makes this an error)\n", err)
			return data.Builtin(data.BuiltinOptions{TrainSize: f.builtinTrain, TestSize: f.builtinTest, Size: f.crop}), nil
		}
		if err != nil {
			return nil, badInput(err)
		}
		return ds, nil
	}
	fi, err := os.Stat(f.spec)
	if err != nil || !fi.IsDir() {
		return nil, badInputf("--data %q: not builtin, cifar10, or a directory (CIFAR-10, HR/LR pairs or an image folder)", f.spec)
	}
	cache := int64(f.cacheMB) << 20
	ds, err := data.OpenDir(f.spec, data.FolderOptions{CropSize: f.crop, CropsPerImage: f.cropsPerImg, CacheBytes: cache})
	if err != nil {
		return nil, badInput(err)
	}
	limitLazyMemory(ds, cache)
	return ds, nil
}

// modelInputSize is the height and width of g's image input (0, 0 if it has no single NCHW one).
func modelInputSize(g *graph.Graph) (h, w int) {
	in := g.Inputs()
	if len(in) != 1 || len(in[0].Attrs.Shape) != 4 {
		return 0, 0
	}
	return in[0].Attrs.Shape[2], in[0].Attrs.Shape[3]
}

// openFor loads the dataset for a model with h x w low-resolution inputs (0, 0: unknown). Every
// data source gives square images (--crop); a non-square model gets their 2h x 2w centre
// windows, cut from images of side 2·max(h, w) (which replaces --crop; CIFAR-10's are 32).
func (f *dataFlags) openFor(h, w int, log io.Writer) (*data.Dataset, error) {
	if h <= 0 || w <= 0 || h == w {
		return f.open(log)
	}
	side := 2 * max(h, w)
	if f.crop != side {
		fmt.Fprintf(log, "the model takes %dx%d inputs: using the %dx%d centre of %dx%d images (--crop %d ignored)\n", h, w, 2*h, 2*w, side, side, f.crop)
	}
	g := *f
	g.crop = side
	ds, err := g.open(log)
	if err != nil {
		return nil, err
	}
	out := *ds
	for _, s := range []*data.Source{&out.Train, &out.Test} {
		if *s, err = data.Window(*s, 2*h, 2*w); err != nil {
			return nil, badInputf("--data %s for a model with %dx%d inputs: %v", f.spec, h, w, err)
		}
	}
	return &out, nil
}

// limitLazyMemory: a lazily decoded folder keeps replacing cached images, and Go's collector
// lets the heap grow to twice the live data before collecting, so the process would peak at
// about three times the cache. A soft memory limit of the cache plus 512 MiB keeps the peak near
// the cache size (measured in docs/reliability.md). GOMEMLIMIT, if set, takes precedence.
func limitLazyMemory(ds *data.Dataset, cache int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	for _, s := range []data.Source{ds.Train, ds.Test} {
		if l, ok := s.(interface{ Lazy() bool }); ok && l.Lazy() {
			if limit := cache + 512<<20; limit < debug.SetMemoryLimit(-1) {
				debug.SetMemoryLimit(limit)
			}
			return
		}
	}
}
