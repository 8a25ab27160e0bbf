package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/report"
	"github.com/vgfq/vgfq/train"
)

type evalFlags struct {
	model   string
	data    dataFlags
	batch   int
	batches int
	json    bool
	grid    string
	samples int
	noSSIM  bool
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	c := &cobra.Command{
		Use:   "eval",
		Short: "Score a model on the test split: PSNR, SSIM and the bilinear baseline, plus a PNG grid",
		Example: `  vgfq eval --model runs/fp32 --data builtin
  vgfq eval --model runs/fp32 --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ck, err := train.LoadCheckpoint(f.model)
			if err != nil {
				return badInputf("--model: %v", err)
			}
			res, err := runEval(ck.Graph, &f, os.Stderr)
			if err != nil {
				return err
			}
			return printEval(os.Stdout, f.json, ck.Graph.Name, res)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "model or checkpoint directory")
	fl.IntVar(&f.batch, "batch", 64, "evaluation batch size")
	fl.IntVar(&f.batches, "batches", 50, "number of test batches to score (0: the whole test split)")
	fl.BoolVar(&f.json, "json", false, "print the results as JSON (psnr, ssim, baseline_psnr, baseline_ssim, batches, images)")
	fl.StringVar(&f.grid, "grid", "eval-grid.png", "write a PNG grid (LR, bilinear, model, ground truth) here; empty: none")
	fl.IntVar(&f.samples, "samples", 8, "rows of the PNG grid")
	fl.BoolVar(&f.noSSIM, "no-ssim", false, "skip SSIM")
	f.data.register(c)
	return c
}

func (f *evalFlags) validate() error {
	if f.batch < 1 || f.batch > 4096 {
		return badInputf("--batch %d out of range [1, 4096]", f.batch)
	}
	if f.batches < 0 {
		return badInputf("--batches %d must not be negative", f.batches)
	}
	if f.samples < 1 || f.samples > 64 {
		return badInputf("--samples %d out of range [1, 64]", f.samples)
	}
	return nil
}

// runEval scores g and writes the grid.
func runEval(g *graph.Graph, f *evalFlags, log io.Writer) (*train.EvalResult, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	ds, err := f.data.open(log)
	if err != nil {
		return nil, err
	}
	var rows [][]report.Image
	visit := func(b *data.Batch, out, base *engine.Tensor) {
		h, w := b.H, b.W
		hr, lr := 3*h*w, 3*h*w/4
		for i := 0; i < b.N && len(rows) < f.samples; i++ {
			rows = append(rows, []report.Image{
				{C: 3, H: h / 2, W: w / 2, Pix: append([]float32(nil), b.LR[i*lr:(i+1)*lr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), base.Data[i*hr:(i+1)*hr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), out.Data[i*hr:(i+1)*hr]...)},
				{C: 3, H: h, W: w, Pix: append([]float32(nil), b.HR[i*hr:(i+1)*hr]...)},
			})
		}
	}
	res, err := train.EvaluatePredictor(train.GraphPredictor(g), ds.Test, f.batch, f.batches, !f.noSSIM, visit)
	if err != nil {
		return nil, err
	}
	if f.grid != "" && len(rows) > 0 {
		if err := report.WriteGrid(f.grid, rows, []string{"LR", "bilinear", g.Name, "ground truth"}, 4); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "wrote %s\n", f.grid)
	}
	return res, nil
}

func printEval(w io.Writer, asJSON bool, name string, r *train.EvalResult) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "%d test images (%d batches)\n", r.Images, r.Batches)
	fmt.Fprintf(w, "%-12s %9s %8s\n", "", "PSNR dB", "SSIM")
	fmt.Fprintf(w, "%-12s %9.3f %8.4f\n", name, r.PSNR, r.SSIM)
	fmt.Fprintf(w, "%-12s %9.3f %8.4f\n", "bilinear", r.BaselinePSNR, r.BaselineSSIM)
	fmt.Fprintf(w, "%-12s %+9.3f %+8.4f\n", "gain", r.PSNR-r.BaselinePSNR, r.SSIM-r.BaselineSSIM)
	return nil
}
