package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/sensitivity"
)

type sensitivityFlags struct {
	model    string
	data     dataFlags
	calib    int
	seed     uint64
	images   int
	observer string
	json     bool
	imp      improveFlags
	shapes   []string
}

func newSensitivityCmd() *cobra.Command {
	var f sensitivityFlags
	c := &cobra.Command{
		Use:   "sensitivity",
		Short: "Per-layer quantization sensitivity: PSNR with only one layer quantized, and with all but one",
		Long: `sensitivity calibrates the model as ptq does, then scores on the test split, for every
convolution's weights and every quantized activation (named by its graph node):
  only      PSNR with only that unit quantized (everything else float); drop = FP32 - only
  all-but   PSNR with everything quantized except that unit; gain = all-but - all quantized
ranked by drop. Scores use the fake-quantized model (what the INT8 graph computes up to
rounding; see the per-layer table of ptq for that difference). The ptq options (--cle,
--adaround, --bias-correction) apply before the analysis.`,
		Example: `  vgfq sensitivity --model runs/fp32 --data builtin
  vgfq sensitivity --model runs/fp32 --json > sensitivity.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSensitivity(&f, c.OutOrStdout(), os.Stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "float model: a model or checkpoint directory, a zoo name or an .onnx file")
	fl.StringArrayVar(&f.shapes, "input-shape", nil, inputShapeUsage)
	fl.IntVar(&f.calib, "calib", 500, "calibration images (batch 1, from the train split)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for choosing calibration images")
	fl.IntVar(&f.images, "images", 512, "test images scored per configuration")
	fl.StringVar(&f.observer, "calibrator", "histogram", "activation calibrator: histogram, minmax, mse, percentile")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON instead of a table")
	f.imp.register(c)
	f.data.register(c)
	return c
}

func runSensitivity(f *sensitivityFlags, out, log io.Writer) error {
	if f.calib < 1 || f.calib > 1_000_000 {
		return badInputf("--calib %d out of range [1, 1000000]", f.calib)
	}
	if f.images < 1 || f.images > 1_000_000 {
		return badInputf("--images %d out of range [1, 1000000]", f.images)
	}
	obs, err := quant.ParseActObserver(f.observer)
	if err != nil {
		return badInputf("--calibrator: %v", err)
	}
	l, err := loadModel(f.model, f.shapes, log)
	if err != nil {
		return err
	}
	if l.ONNX != nil && l.ONNX.QDQ != nil {
		return badInputf("--model %s is a QDQ model (already quantized); sensitivity needs a float model", f.model)
	}
	lh, lw := modelInputSize(l.Graph)
	ds, err := f.data.openFor(lh, lw, log)
	if err != nil {
		return err
	}
	if err := checkInputSize(l.Graph, ds, false); err != nil {
		return err
	}
	if err := checkOutputSize(l.Graph, ds, ""); err != nil {
		return err
	}
	if ds.Train.Len() < f.calib {
		return badInputf("--calib %d: the %s train split has only %d images", f.calib, ds.Name, ds.Train.Len())
	}
	images, err := calibImages(ds, f.calib, f.seed)
	if err != nil {
		return err
	}
	opt := ptq.Options{Quant: quant.Config{Observer: obs}}
	if err := f.imp.apply(&opt); err != nil {
		return err
	}
	r, err := ptq.Calibrate(l.Graph, images, opt, nil)
	if err != nil {
		return f.imp.explain(err)
	}
	rep, err := sensitivity.Analyze(r.Model, ds.Test, sensitivity.Options{Images: f.images})
	if err != nil {
		return err
	}
	if f.json {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	_, err = io.WriteString(out, rep.Table())
	return err
}
