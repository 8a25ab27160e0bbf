package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/report"
	"github.com/vgfq/vgfq/train"
)

// srResult is eval's output with --metric y or --full-image.
type srResult struct {
	Metric       string  `json:"metric"` // "rgb" or "y"
	FullImage    bool    `json:"full_image"`
	PSNR         float64 `json:"psnr"`
	SSIM         float64 `json:"ssim"`
	BaselinePSNR float64 `json:"baseline_psnr"`
	BaselineSSIM float64 `json:"baseline_ssim"`
	Batches      int     `json:"batches"`
	Images       int     `json:"images"`
	// TileHalo is set when the INT8 graph ran on overlapping tiles of its own size (its shapes
	// cannot follow the image size): the halo in input pixels.
	TileHalo int `json:"tile_halo,omitempty"`
}

// runEvalSR scores a model directory or an INT8 file on the test split's crops or on whole
// images, with the RGB or the Y-channel metric.
func runEvalSR(f *evalFlags, out io.Writer) error {
	if f.metric != "rgb" && f.metric != "y" {
		return badInputf("--metric %q: use rgb or y", f.metric)
	}
	if err := f.validate(); err != nil {
		return err
	}
	dir, file := f.model, ""
	if fi, err := os.Stat(f.model); err == nil && !fi.IsDir() {
		dir, file = filepath.Dir(f.model), filepath.Base(f.model)
	}
	run, err := report.LoadRun(dir)
	if err != nil {
		return badInputf("--model: %v", err)
	}
	art, err := run.ArtifactFor(file)
	if err != nil {
		return badInputf("--model: %v", err)
	}
	var h, w int // a non-square model's crops follow its input (dataFlags.openFor)
	if !f.fullImage && !f.cropSet {
		h, w = run.InputSize()
		f.data.crop = 2 * h
	}
	if f.fullImage && !f.cropSet {
		f.data.crop = 2
	}
	ds, err := f.data.openFor(h, w, os.Stderr)
	if err != nil {
		return err
	}
	images := f.batches * f.batch
	if f.batches == 0 {
		images = ds.Test.Len()
	}
	bs, err := report.TestBatches(ds, images, f.fullImage)
	if err != nil {
		return badInputf("--data %s: %v", f.data.spec, err)
	}
	keep := 0
	if f.grid != "" && !f.fullImage {
		keep = f.samples
	}
	m, outs, err := report.ScoreKeep(art, bs, runtime.GOMAXPROCS(0), keep)
	if err != nil {
		return badInput(err)
	}
	if len(outs) > 0 {
		if err := writeSRGrid(f.grid, bs, outs, art.Stage); err != nil {
			return err
		}
	} else if f.grid != "" && f.fullImage {
		fmt.Fprintf(os.Stderr, "no --grid with --full-image (images of different sizes); vgfq report shows them\n")
	}
	b, err := report.ScoreBilinear(bs)
	if err != nil {
		return err
	}
	r := srResult{Metric: f.metric, FullImage: f.fullImage, Batches: m.Batches, Images: m.Images,
		PSNR: m.PSNR, SSIM: m.SSIM, BaselinePSNR: b.PSNR, BaselineSSIM: b.SSIM}
	if f.metric == "y" {
		r.PSNR, r.SSIM, r.BaselinePSNR, r.BaselineSSIM = m.PSNRY, m.SSIMY, b.PSNRY, b.SSIMY
	}
	if art.Tiled {
		r.TileHalo = art.Halo
	}
	if f.noSSIM || math.IsNaN(r.SSIM) {
		r.SSIM, r.BaselineSSIM = 0, 0
	}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	what := "crops"
	if f.fullImage {
		what = "whole images"
	}
	metric := "RGB"
	if f.metric == "y" {
		metric = "Y (BT.601, 2-pixel border shaved)"
	}
	fmt.Fprintf(out, "%d test %s, metric %s\n", r.Images, what, metric)
	if art.Tiled {
		h, w := run.InputSize()
		fmt.Fprintf(out, "%s has fixed shapes: run on overlapping %dx%d tiles with a %d-pixel halo (its receptive radius)\n", art.Name, w, h, art.Halo)
	}
	fmt.Fprintf(out, "%-16s %9s %8s\n", "", "PSNR dB", "SSIM")
	fmt.Fprintf(out, "%-16s %9.3f %8.4f\n", art.Stage, r.PSNR, r.SSIM)
	fmt.Fprintf(out, "%-16s %9.3f %8.4f\n", "bilinear", r.BaselinePSNR, r.BaselineSSIM)
	fmt.Fprintf(out, "%-16s %+9.3f %+8.4f\n", "gain", r.PSNR-r.BaselinePSNR, r.SSIM-r.BaselineSSIM)
	return nil
}

// writeSRGrid writes eval's PNG grid (LR, bilinear, model, ground truth) for the first images.
func writeSRGrid(path string, bs []*report.Batch, outs [][]float32, name string) error {
	var rows [][]report.Image
	k := 0
	for _, b := range bs {
		hr, lr := 3*b.H*b.W, 3*b.H*b.W/4
		base := train.Bilinear2x(engine.FromData(b.LR, b.N, 3, b.H/2, b.W/2))
		for i := 0; i < b.N && k < len(outs); i++ {
			rows = append(rows, []report.Image{
				{C: 3, H: b.H / 2, W: b.W / 2, Pix: b.LR[i*lr : (i+1)*lr]},
				{C: 3, H: b.H, W: b.W, Pix: base.Data[i*hr : (i+1)*hr]},
				{C: 3, H: b.H, W: b.W, Pix: outs[k]},
				{C: 3, H: b.H, W: b.W, Pix: b.HR[i*hr : (i+1)*hr]},
			})
			k++
		}
	}
	if err := report.WriteGrid(path, rows, []string{"LR", "bilinear", name, "ground truth"}, 4); err != nil {
		return badInputf("--grid %s: %v", path, err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", path)
	return nil
}
