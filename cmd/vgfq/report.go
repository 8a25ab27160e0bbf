package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/report"
)

type reportFlags struct {
	out        string
	data       dataFlags
	images     int
	gridImages int
	metric     string
	fullImage  bool
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report RUN_DIR... --out report.html",
		Short: "One self-contained HTML page comparing FP32, PTQ-INT8, QAT-INT8 and bilinear on the same images",
		Long: `report scores every run directory on the same test images and writes one HTML file that
needs nothing else (no script, no network; images and charts embedded):
  - a summary table per stage: bilinear, FP32 (a model directory from train), and every INT8
    output directory (ptq, qat): PSNR and SSIM on RGB and on the BT.601 Y channel, file size,
    operator counts. INT8 rows execute model.tosa and model.vgf themselves; the .vgf row is
    checked bit-identical to the .tosa row.
  - an image grid: LR input, bilinear, each stage, ground truth, with a zoomed detail crop and
    error heat maps
  - the per-layer error ladder from layers.json (SQNR of fake-quant and INT8 against float,
    clipped share) as charts
  - the TOSA graph drawing and the IO contract (io.json)
The stage of an INT8 directory (PTQ, QAT) is read from its quant.json.`,
		Example: `  vgfq report vgfq-demo/fp32 vgfq-demo/output --out report.html
  vgfq report runs/fp32 runs/ptq runs/qat --data photos/ --full-image --metric y --out report.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f.data.crop = 0
			if c.Flags().Changed("crop") {
				f.data.crop = cropFlag(c)
			}
			path, err := runReport(args, &f, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Println(path)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.out, "out", "report.html", "the HTML file to write")
	fl.IntVar(&f.images, "images", 256, "test images scored (crops of the test split, or whole images with --full-image)")
	fl.IntVar(&f.gridImages, "grid-images", 4, "test images shown side by side")
	fl.StringVar(&f.metric, "metric", "rgb", "PSNR shown under the grid images: rgb (the tutorial's) or y (BT.601 luma, border shaved; SR papers')")
	fl.BoolVar(&f.fullImage, "full-image", false, "score whole images of an image folder (--data DIR), running every model at each image's size")
	f.data.register(c)
	return c
}

func cropFlag(c *cobra.Command) int {
	v, _ := c.Flags().GetInt("crop")
	return v
}

// runReport builds the report and writes it; it returns the path written.
func runReport(dirs []string, f *reportFlags, log *os.File) (string, error) {
	start := time.Now()
	if f.metric != "rgb" && f.metric != "y" {
		return "", badInputf("--metric %q: use rgb or y", f.metric)
	}
	if f.images < 1 || f.images > 1_000_000 {
		return "", badInputf("--images %d out of range [1, 1000000]", f.images)
	}
	if f.gridImages < 1 || f.gridImages > 64 {
		return "", badInputf("--grid-images %d out of range [1, 64]", f.gridImages)
	}
	if d := filepath.Dir(f.out); !isDirPath(d) {
		return "", badInputf("--out %s: directory %s does not exist", f.out, d)
	}
	runs := make([]*report.Run, 0, len(dirs))
	for _, d := range dirs {
		r, err := report.LoadRun(d)
		if err != nil {
			return "", badInput(err)
		}
		runs = append(runs, r)
	}
	// The crops the models take (2x their input), unless --crop says otherwise.
	var h, w int // a non-square model's crops follow its input (dataFlags.openFor)
	if f.data.crop == 0 {
		h, w = runs[0].InputSize()
		f.data.crop = 2 * h
		if f.fullImage || h == 0 {
			f.data.crop = 2
			h, w = 0, 0
		}
	}
	ds, err := f.data.openFor(h, w, log)
	if err != nil {
		return "", err
	}
	batches, err := report.TestBatches(ds, f.images, f.fullImage)
	if err != nil {
		return "", badInputf("--data %s: %v", f.data.spec, err)
	}
	name := fmt.Sprintf("%s test split, %d images of %dx%d (centre crops / built-in size)", ds.Name, countImages(batches), batches[0].W, batches[0].H)
	if f.fullImage {
		name = fmt.Sprintf("%s test split, %d whole images, each model run at the image's size", ds.Name, countImages(batches))
	}
	rep, err := report.BuildRuns(runs, report.Options{Batches: batches, DataName: name, GridImages: f.gridImages, Metric: f.metric, Log: log})
	if err != nil {
		return "", badInput(err)
	}
	if err := rep.WriteHTML(f.out); err != nil {
		return "", badInputf("--out %s: %v", f.out, err)
	}
	var size int64
	if st, err := os.Stat(f.out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(log, "wrote %s (%d bytes) in %s\n", f.out, size, time.Since(start).Round(time.Millisecond))
	return f.out, nil
}

func countImages(bs []*report.Batch) int {
	n := 0
	for _, b := range bs {
		n += b.N
	}
	return n
}

func isDirPath(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
