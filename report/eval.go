package report

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/metrics"
	"github.com/vgfq/vgfq/train"
)

// Scale is the upscaling factor of vgfq's models; Y-channel metrics shave this many border
// pixels, as super-resolution papers do.
const Scale = 2

// Batch is a group of test images of one size: HR ground truth and the LR input derived from it
// (data.Downsample2x), both N x 3 x H x W (LR H/2 x W/2) in [0, 1].
type Batch struct {
	N, H, W int
	HR, LR  []float32
	Names   []string // image names (file names in full-image mode)
}

// Scores are the quality numbers of one stage.
type Scores struct {
	// PSNR and SSIM on RGB: the tutorial's metric (PSNR of each batch's mean MSE, averaged over
	// batches; with whole images every batch is one image). SSIM is averaged per image.
	PSNR, SSIM float64
	// PSNRY and SSIMY on the BT.601 Y channel with Scale border pixels shaved, averaged per image
	// (metrics.PSNRY, metrics.SSIMY): the numbers SR papers report.
	PSNRY, SSIMY float64
	// HasSSIM / HasSSIMY: the images were large enough for SSIM's 11x11 window.
	HasSSIM, HasSSIMY bool
	Images, Batches   int
}

type scoreAcc struct {
	psnr              metrics.PSNRMeter
	ssim, psnry, ssmy float64
	hasSSIM, hasSSIMY bool
	images            int
}

func (a *scoreAcc) add(out, hr []float32, n, h, w int) {
	a.psnr.Add(out, hr)
	if h >= metrics.SSIMWinSize && w >= metrics.SSIMWinSize {
		a.hasSSIM = true
		a.ssim += metrics.SSIM(out, hr, n, 3, h, w) * float64(n)
	}
	a.psnry += metrics.PSNRY(out, hr, n, h, w, Scale) * float64(n)
	if h-2*Scale >= metrics.SSIMWinSize && w-2*Scale >= metrics.SSIMWinSize {
		a.hasSSIMY = true
		a.ssmy += metrics.SSIMY(out, hr, n, h, w, Scale) * float64(n)
	}
	a.images += n
}

func (a *scoreAcc) scores() Scores {
	s := Scores{PSNR: a.psnr.Mean(), Images: a.images, Batches: a.psnr.Count(), HasSSIM: a.hasSSIM, HasSSIMY: a.hasSSIMY,
		PSNRY: a.psnry / float64(a.images)}
	if a.hasSSIM {
		s.SSIM = a.ssim / float64(a.images)
	} else {
		s.SSIM = math.NaN()
	}
	if a.hasSSIMY {
		s.SSIMY = a.ssmy / float64(a.images)
	} else {
		s.SSIMY = math.NaN()
	}
	return s
}

// CropBatches returns the first images of src (its deterministic test crops) in batches of up to
// 64, as the tutorial's evaluation loop sees them.
func CropBatches(src data.Source, images int) ([]*Batch, error) {
	loader, err := data.NewLoader(src, data.LoaderOptions{BatchSize: min(64, max(images, 1))})
	if err != nil {
		return nil, err
	}
	var out []*Batch
	for got := 0; got < images; {
		b, err := loader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		n := min(b.N, images-got)
		hr, lr := 3*b.H*b.W, 3*b.H*b.W/4
		bt := &Batch{N: n, H: b.H, W: b.W, HR: append([]float32(nil), b.HR[:n*hr]...), LR: append([]float32(nil), b.LR[:n*lr]...)}
		for i := 0; i < n; i++ {
			bt.Names = append(bt.Names, fmt.Sprintf("test #%d", got+i))
		}
		out = append(out, bt)
		got += n
	}
	if len(out) == 0 {
		return nil, errors.New("the test split is empty")
	}
	return out, nil
}

// FullImageBatches reads whole images (PNG or JPEG files), one batch each. An odd height or width
// loses its last row or column (the LR image is exactly half the size). maxPixels rejects larger
// images (0: 1<<26).
func FullImageBatches(paths []string, maxPixels int) ([]*Batch, error) {
	if maxPixels <= 0 {
		maxPixels = 1 << 26
	}
	var out []*Batch
	for _, p := range paths {
		_, w, h, err := imageSize(p)
		if err != nil {
			return nil, err
		}
		eh, ew := h&^1, w&^1
		if eh < 2 || ew < 2 {
			return nil, fmt.Errorf("%s: %dx%d image is too small to halve", p, w, h)
		}
		hr, _, _, err := readRGB(p, maxPixels, eh, ew)
		if err != nil {
			return nil, err
		}
		plane := eh * ew
		lr := make([]float32, 3*plane/4)
		if err := data.Downsample2x(hr, 3, eh, ew, lr); err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		out = append(out, &Batch{N: 1, H: eh, W: ew, HR: hr, LR: lr, Names: []string{p}})
	}
	if len(out) == 0 {
		return nil, errors.New("no images")
	}
	return out, nil
}

// predictFn maps a batch's LR images to HR predictions.
type predictFn func(b *Batch) ([]float32, error)

// score runs pred over every batch, accumulating scores, and keeps the outputs of the first keep
// images.
func score(batches []*Batch, pred predictFn, keep int) (Scores, [][]float32, error) {
	var acc scoreAcc
	var kept [][]float32
	for _, b := range batches {
		out, err := pred(b)
		if err != nil {
			return Scores{}, nil, err
		}
		if len(out) != 3*b.N*b.H*b.W {
			return Scores{}, nil, fmt.Errorf("prediction has %d values, want %d x 3 x %d x %d", len(out), b.N, b.H, b.W)
		}
		acc.add(out, b.HR, b.N, b.H, b.W)
		img := 3 * b.H * b.W
		for i := 0; i < b.N && len(kept) < keep; i++ {
			kept = append(kept, slices.Clone(out[i*img:(i+1)*img]))
		}
	}
	return acc.scores(), kept, nil
}

func bilinearFn(b *Batch) ([]float32, error) {
	return train.Bilinear2x(engine.FromData(b.LR, b.N, 3, b.H/2, b.W/2)).Data, nil
}

func artifactFn(a *Artifact, workers int) predictFn {
	return func(b *Batch) ([]float32, error) {
		p, err := a.Predictor(b.H/2, b.W/2, workers)
		if err != nil {
			return nil, err
		}
		y, err := p(engine.FromData(b.LR, b.N, 3, b.H/2, b.W/2))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a.Stage, err)
		}
		return y.Data, nil
	}
}

// TestBatches returns the test images of ds for a report or an evaluation: the first images of
// the test split as crops (the size the source gives), or, with full, every test image of an
// image folder whole (up to images of them).
func TestBatches(ds *data.Dataset, images int, full bool) ([]*Batch, error) {
	if images < 1 {
		return nil, fmt.Errorf("need at least one test image, got %d", images)
	}
	if !full {
		return CropBatches(ds.Test, images)
	}
	switch src := ds.Test.(type) {
	case *data.FolderSource:
		var paths []string
		for i := 0; i < src.Len() && len(paths) < images; i++ {
			paths = append(paths, src.Path(i))
		}
		return FullImageBatches(paths, 0)
	case *data.PairedSource:
		var pairs [][2]string
		for i := 0; i < src.Len() && len(pairs) < images; i++ {
			hr, lr := src.Path(i)
			pairs = append(pairs, [2]string{hr, lr})
		}
		return FullImagePairBatches(pairs, 0)
	}
	return nil, fmt.Errorf("whole-image evaluation needs a folder of images or HR/LR pairs (--data DIR), not %s", ds.Name)
}

// readRGB decodes an image file as 3 x h x w floats (8-bit value / 255), keeping the top-left
// keepH x keepW pixels (0: all).
func readRGB(path string, maxPixels, keepH, keepW int) ([]float32, int, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	pix, w, h, err := data.DecodeImage(path, b, maxPixels)
	if err != nil {
		return nil, 0, 0, err
	}
	eh, ew := h, w
	if keepH > 0 {
		eh, ew = keepH, keepW
	}
	if eh > h || ew > w {
		return nil, 0, 0, fmt.Errorf("%s: %dx%d image is smaller than %dx%d", path, w, h, ew, eh)
	}
	out := make([]float32, 3*eh*ew)
	plane := eh * ew
	for y := 0; y < eh; y++ {
		for x := 0; x < ew; x++ {
			s := 3 * (y*w + x)
			o := y*ew + x
			out[o] = float32(pix[s]) / 255
			out[plane+o] = float32(pix[s+1]) / 255
			out[2*plane+o] = float32(pix[s+2]) / 255
		}
	}
	return out, eh, ew, nil
}

// FullImagePairBatches reads whole HR/LR pairs as super-resolution benchmarks ship them (Set5,
// Set14, BSD100 with LR_bicubic/X2): the LR picture is the dataset's own, the HR one is cut to
// twice its size (an odd last row or column dropped). One batch per pair.
func FullImagePairBatches(pairs [][2]string, maxPixels int) ([]*Batch, error) {
	if maxPixels <= 0 {
		maxPixels = 1 << 26
	}
	var out []*Batch
	for _, p := range pairs {
		lr, lh, lw, err := readRGB(p[1], maxPixels, 0, 0)
		if err != nil {
			return nil, err
		}
		hr, _, _, err := readRGB(p[0], maxPixels, 2*lh, 2*lw)
		if err != nil {
			return nil, fmt.Errorf("%s (HR of %s): %v", p[0], p[1], err)
		}
		out = append(out, &Batch{N: 1, H: 2 * lh, W: 2 * lw, HR: hr, LR: lr, Names: []string{p[0]}})
	}
	if len(out) == 0 {
		return nil, errors.New("no images")
	}
	return out, nil
}

// Score runs the artifact on every batch (at each batch's size) and scores it.
func Score(a *Artifact, batches []*Batch, workers int) (Scores, error) {
	s, _, err := ScoreKeep(a, batches, workers, 0)
	return s, err
}

// ScoreKeep is Score that also returns the outputs (3 x H x W each) of the first keep images.
func ScoreKeep(a *Artifact, batches []*Batch, workers, keep int) (Scores, [][]float32, error) {
	return score(batches, artifactFn(a, workers), keep)
}

// ScoreBilinear scores plain bilinear upscaling of the batches' LR images.
func ScoreBilinear(batches []*Batch) (Scores, error) {
	s, _, err := score(batches, bilinearFn, 0)
	return s, err
}

// ArtifactFor returns the artifact of a run to score: the float graph, or the named INT8 file
// (model.tosa / model.vgf; "" means the first present).
func (r *Run) ArtifactFor(file string) (*Artifact, error) {
	as := r.Artifacts()
	if file == "" || r.Kind == KindFloat {
		return as[0], nil
	}
	for _, a := range as {
		if a.Name == file {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%s: no %s", r.Dir, file)
}

// imageSize returns the format and size of an image file from its header.
func imageSize(path string) (string, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, 0, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return "", 0, 0, fmt.Errorf("%s: %v", path, err)
	}
	return format, cfg.Width, cfg.Height, nil
}
