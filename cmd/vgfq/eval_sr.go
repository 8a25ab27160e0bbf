package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vgfq/vgfq/report"
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
	if !f.fullImage && !f.cropSet {
		h, _ := run.InputSize()
		f.data.crop = 2 * h
	}
	if f.fullImage && !f.cropSet {
		f.data.crop = 2
	}
	ds, err := f.data.open(os.Stderr)
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
	m, err := report.Score(art, bs, runtime.GOMAXPROCS(0))
	if err != nil {
		return badInput(err)
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
	fmt.Fprintf(out, "%-16s %9s %8s\n", "", "PSNR dB", "SSIM")
	fmt.Fprintf(out, "%-16s %9.3f %8.4f\n", art.Stage, r.PSNR, r.SSIM)
	fmt.Fprintf(out, "%-16s %9.3f %8.4f\n", "bilinear", r.BaselinePSNR, r.BaselineSSIM)
	fmt.Fprintf(out, "%-16s %+9.3f %+8.4f\n", "gain", r.PSNR-r.BaselinePSNR, r.SSIM-r.BaselineSSIM)
	return nil
}
