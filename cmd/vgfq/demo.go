package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/internal/atomicfile"
)

func newDemoCmd() *cobra.Command {
	var tf trainFlags
	var dir string
	pf := ptqFlags{calib: 500, observer: "histogram", percentile: 99.99, layout: "nhwc", evalImages: 3200, seed: 1, layers: 16}
	var qatSteps int
	c := &cobra.Command{
		Use:   "demo",
		Short: "The end-to-end demo: train the tutorial upscaler on the built-in data, evaluate, quantize to INT8, export .vgf",
		Long: `demo runs the reference workflow on the built-in data (no download): it trains the
tutorial's SmallUpscaler for one epoch (AdamW, lr 1e-3, batch 64), scores it on the held-out
split against plain bilinear upscaling (PSNR, SSIM), and writes everything under --dir:
  fp32/           the trained model (checkpoint directory)
  eval.json       PSNR/SSIM of the model and of the bilinear baseline
  eval-grid.png   LR input, bilinear, model output and ground truth for a few test images
  output/         the PTQ result: model.tosa (TOSA 1.0 INT), model.vgf (for the ML SDK for
                  Vulkan), io.json (the integration contract), scenario.json + input.npy +
                  expected_output.npy (for Arm's Scenario Runner), quant.json (scales, zero
                  points, RESCALE multipliers/shifts); FP32 / fake-quant / INT8 PSNR printed
  output_qat/     the QAT result (fine-tuned with fake quantization, --qat-steps), same files;
                  the demo ends with one table: FP32, PTQ-INT8, QAT-INT8 (PSNR, SSIM)
  report.html     everything side by side in one page (vgfq report fp32 output output_qat)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			start := time.Now()
			out := os.Stdout
			tf.out = filepath.Join(dir, "fp32")
			fmt.Fprintf(out, "== 1/4 train %s (%d epoch, batch %d, lr %g) on %s data\n", tf.cfg.Model, tf.cfg.Epochs, tf.cfg.Batch, tf.cfg.LR, tf.data.spec)
			g, _, err := runTrain(c, &tf, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "== 2/4 evaluate on the held-out split\n")
			ef := evalFlags{data: tf.data, batch: 64, batches: 0, grid: filepath.Join(dir, "eval-grid.png"), samples: 8}
			ef.ssimIfFits = true // a tiny --crop gets PSNR only
			res, err := runEval(g, &ef, out)
			if err != nil {
				return err
			}
			js, _ := json.MarshalIndent(res, "", "  ")
			if err := atomicfile.WriteBytes(filepath.Join(dir, "eval.json"), append(js, '\n'), 0o644); err != nil {
				return err
			}
			if err := printEval(out, false, g.Name, res, nil); err != nil {
				return err
			}
			fmt.Fprintf(out, "== 3/4 post-training quantization to INT8 TOSA + VGF (%d calibration images)\n", pf.calib)
			pf.data = tf.data
			pf.out = filepath.Join(dir, "output")
			pf.quiet = tf.quiet
			pres, err := runPTQ(g, &pf, out)
			if err != nil {
				return err
			}
			qres, err := runDemoQAT(c, tf, pf, dir, qatSteps, out)
			if err != nil {
				return err
			}
			printDemoSummary(out, pres, qres)
			rf := reportFlags{out: filepath.Join(dir, "report.html"), data: tf.data, images: 256, gridImages: 4, metric: "rgb"}
			fmt.Fprintf(out, "== report: FP32, PTQ-INT8 and QAT-INT8 side by side on %d test images\n", rf.images)
			path, err := runReport([]string{tf.out, pf.out, filepath.Join(dir, "output_qat")}, &rf, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "report: %s\n", path)
			fmt.Fprintf(out, "demo finished in %s; outputs in %s\n", time.Since(start).Round(time.Second), dir)
			return nil
		},
	}
	tf.register(c)
	c.Flags().StringVar(&dir, "dir", "vgfq-demo", "output directory")
	c.Flags().IntVar(&qatSteps, "qat-steps", 300, "QAT fine-tuning steps at lr 1e-4 (0: a whole epoch, as the tutorial; vgfq qat trains whole epochs)")
	c.Flags().MarkHidden("out")
	return c
}
