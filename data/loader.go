package data

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
)

// LoaderOptions configures a Loader.
type LoaderOptions struct {
	// BatchSize is the number of images per batch (required, > 0).
	BatchSize int
	// Shuffle visits the images in a random order that depends only on
	// Seed and the epoch number; otherwise they are visited in order.
	Shuffle bool
	// DropLast drops the final batch of an epoch if it is smaller than
	// BatchSize.
	DropLast bool
	// Seed seeds the shuffling and the per-image random crops.
	Seed uint64
	// Random passes a per-image *rand.Rand to Source.Read (for random
	// crops of training sources). If false Read gets a nil rng and
	// sources return deterministic centre crops (use for evaluation).
	Random bool
	// Workers is the number of goroutines filling a batch; 0 means
	// runtime.GOMAXPROCS(0). The result does not depend on Workers.
	Workers int
}

// Batch is one batch of image pairs. HR has shape N x 3 x H x W and LR
// (the bilinear 2x downsampling of HR, see Downsample2x, or the LR image
// a PairSource supplies) has shape
// N x 3 x H/2 x W/2, both flat in row-major order.
type Batch struct {
	N, H, W int
	LR, HR  []float32
	// Indices are the source indices of the N images.
	Indices []int
}

// Loader yields batches of (LR, HR) pairs from a Source. Batches are
// filled in parallel, but the content of every batch depends only on
// the source, the options (not Workers) and the epoch number. A Loader
// is not safe for concurrent use.
type Loader struct {
	src   Source
	opt   LoaderOptions
	h, w  int
	epoch int
	perm  []int
	pos   int
	batch Batch
}

// NewLoader returns a Loader over src positioned at the start of
// epoch 0. The source's images must have even height and width.
func NewLoader(src Source, opt LoaderOptions) (*Loader, error) {
	if src == nil {
		return nil, errors.New("loader: nil source")
	}
	if opt.BatchSize <= 0 {
		return nil, fmt.Errorf("loader: batch size %d must be positive", opt.BatchSize)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	h, w := src.Size()
	if h <= 0 || w <= 0 || h%2 != 0 || w%2 != 0 {
		return nil, fmt.Errorf("loader: image size %dx%d must be positive and even", h, w)
	}
	if src.Len() == 0 {
		return nil, errors.New("loader: empty source")
	}
	l := &Loader{src: src, opt: opt, h: h, w: w}
	l.SetEpoch(0)
	return l, nil
}

// NumBatches returns the number of batches in one epoch.
func (l *Loader) NumBatches() int {
	n, b := l.src.Len(), l.opt.BatchSize
	if l.opt.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Epoch returns the current epoch number.
func (l *Loader) Epoch() int { return l.epoch }

// SetEpoch restarts iteration at the beginning of epoch e. The order of
// the images (if shuffling) and the random crops depend only on Seed
// and e, so any epoch can be reproduced.
func (l *Loader) SetEpoch(e int) {
	l.epoch = e
	l.pos = 0
	n := l.src.Len()
	if cap(l.perm) < n {
		l.perm = make([]int, n)
	}
	l.perm = l.perm[:n]
	for i := range l.perm {
		l.perm[i] = i
	}
	if l.opt.Shuffle {
		r := rand.New(rand.NewPCG(l.opt.Seed, mix64(uint64(e)^0x5368756666)))
		r.Shuffle(n, func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
}

// Skip advances past the next n batches of the current epoch without
// reading them (to resume mid-epoch): the following batches are exactly
// those an uninterrupted run would have produced.
func (l *Loader) Skip(n int) {
	for ; n > 0 && l.pos < len(l.perm); n-- {
		l.pos = min(l.pos+l.opt.BatchSize, len(l.perm))
	}
}

// Next returns the next batch of the current epoch, or io.EOF at the end
// of the epoch; call SetEpoch to start another one. The returned Batch
// and its slices are reused by the next call to Next.
func (l *Loader) Next() (*Batch, error) {
	n := len(l.perm)
	if l.pos >= n {
		return nil, io.EOF
	}
	bs := min(l.opt.BatchSize, n-l.pos)
	if bs < l.opt.BatchSize && l.opt.DropLast {
		l.pos = n
		return nil, io.EOF
	}
	start := l.pos
	l.pos += bs
	hrSize := Channels * l.h * l.w
	lrSize := hrSize / 4
	b := &l.batch
	b.N, b.H, b.W = bs, l.h, l.w
	b.HR = grow(b.HR, bs*hrSize)
	b.LR = grow(b.LR, bs*lrSize)
	b.Indices = append(b.Indices[:0], l.perm[start:start+bs]...)

	workers := min(l.opt.Workers, bs)
	errs := make([]error, bs)
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func(wk int) {
			defer wg.Done()
			for k := wk; k < bs; k += workers {
				var rng *rand.Rand
				if l.opt.Random {
					// One stream per (seed, epoch, position): independent
					// of which goroutine fills the slot.
					rng = rand.New(rand.NewPCG(l.opt.Seed^0x9e3779b97f4a7c15,
						mix64(uint64(l.epoch)<<32|uint64(start+k))))
				}
				idx := b.Indices[k]
				hr := b.HR[k*hrSize : (k+1)*hrSize]
				if ps, ok := l.src.(PairSource); ok {
					errs[k] = ps.ReadPair(idx, rng, hr, b.LR[k*lrSize:(k+1)*lrSize])
					continue
				}
				if err := l.src.Read(idx, rng, hr); err != nil {
					errs[k] = err
					continue
				}
				errs[k] = Downsample2x(hr, Channels, l.h, l.w, b.LR[k*lrSize:(k+1)*lrSize])
			}
		}(wk)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// mix64 is the splitmix64 finaliser, used to derive seeds.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
