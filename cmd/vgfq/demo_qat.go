package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/train"
)

// runDemoQAT is the demo's QAT step: fine-tune the demo's FP32 model with fake quantization
// (lr 1e-4, batch 64) for steps steps (0: one epoch), then convert and export to <dir>/output_qat.
func runDemoQAT(c *cobra.Command, tf trainFlags, pf ptqFlags, dir string, steps int, out io.Writer) (*qatResult, error) {
	qf := qatFlags{model: tf.out, data: tf.data, out: filepath.Join(dir, "output_qat"), layout: pf.layout,
		evalImages: pf.evalImages, layers: pf.layers, quiet: tf.quiet}
	qf.cfg = train.DefaultConfig()
	qf.cfg.LR, qf.cfg.Epochs, qf.cfg.Batch, qf.cfg.Seed, qf.cfg.MaxSteps = 1e-4, 1, tf.cfg.Batch, tf.cfg.Seed, steps
	what := "1 epoch"
	if steps > 0 {
		what = fmt.Sprintf("%d steps", steps)
	}
	fmt.Fprintf(out, "== 4/4 quantization-aware training (%s, AdamW lr 1e-4) and INT8 export\n", what)
	return runQAT(c, &qf, out)
}

// printDemoSummary is the demo's final table: the float model and both INT8 exports, each INT8
// row scored by executing the written model.vgf.
func printDemoSummary(w io.Writer, p *ptqResult, q *qatResult) {
	const int8Row = "INT8 (.vgf)"
	rows := []struct {
		name string
		r    *train.EvalResult
	}{{"FP32", p.Scores["FP32"]}, {"PTQ-INT8", p.Scores[int8Row]}, {"QAT-INT8", q.Scores[int8Row]}}
	fmt.Fprintf(w, "== summary (test split; INT8 rows: the exported model.vgf executed bit-exactly)\n")
	fmt.Fprintf(w, "%-10s %9s %8s\n", "", "PSNR dB", "SSIM")
	for _, r := range rows {
		if r.r == nil {
			continue
		}
		fmt.Fprintf(w, "%-10s %9.3f %8.4f\n", r.name, r.r.PSNR, r.r.SSIM)
	}
	if f := p.Scores["FP32"]; f != nil {
		fmt.Fprintf(w, "%-10s %9.3f %8.4f\n", "bilinear", f.BaselinePSNR, f.BaselineSSIM)
	}
}
