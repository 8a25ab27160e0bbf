package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
	"golang.org/x/term"
)

// barProgress shows a progress bar with ETA on stderr and prints log lines above it.
type barProgress struct {
	w     io.Writer
	quiet bool
	bar   *progressbar.ProgressBar
	loss  float64
}

func newProgress(w io.Writer, quiet bool) *barProgress {
	return &barProgress{w: w, quiet: quiet || !showBars()}
}

// showBars reports whether progress bars are drawn: only when stderr is a terminal, so logs of
// scripted runs (CI, pipes) get the loss lines and summaries, not bar redraws.
func showBars() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

func (p *barProgress) Start(epoch, steps int) {
	if p.quiet {
		return
	}
	p.bar = progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", epoch+1)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("step"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionSetWidth(24),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) Step(step int, loss float64) {
	p.loss = loss
	if p.bar != nil {
		p.bar.Set(step)
	}
}

func (p *barProgress) Log(line string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

type trainFlags struct {
	shapes []string
	cfg    train.Config
	data   dataFlags
	out    string
	resume bool
	quiet  bool
	lrH    int
	lrW    int
}

func (f *trainFlags) register(c *cobra.Command) {
	f.cfg = train.DefaultConfig()
	fl := c.Flags()
	fl.StringVar(&f.cfg.Model, "model", f.cfg.Model, "model to train: "+fmt.Sprint(zoo.Names())+" or an .onnx file (fine-tuning)")
	fl.StringArrayVar(&f.shapes, "input-shape", nil, inputShapeUsage)
	fl.IntVar(&f.cfg.Epochs, "epochs", f.cfg.Epochs, "training epochs")
	fl.IntVar(&f.cfg.Batch, "batch", f.cfg.Batch, "batch size")
	fl.Float64Var(&f.cfg.LR, "lr", f.cfg.LR, "learning rate")
	fl.Float64Var(&f.cfg.WeightDecay, "weight-decay", f.cfg.WeightDecay, "weight decay (AdamW: decoupled, PyTorch default 0.01)")
	fl.StringVar(&f.cfg.Optimizer, "optimizer", f.cfg.Optimizer, "adamw or sgd")
	fl.Uint64Var(&f.cfg.Seed, "seed", f.cfg.Seed, "seed for weights, shuffling and crops (same seed, same result)")
	fl.IntVar(&f.cfg.LogEvery, "log-every", f.cfg.LogEvery, "print the loss every N steps (0: never)")
	fl.IntVar(&f.cfg.EvalBatches, "eval-batches", f.cfg.EvalBatches, "test batches scored after each epoch (0: all)")
	fl.IntVar(&f.cfg.CheckpointEvery, "checkpoint-every", f.cfg.CheckpointEvery, "write a resumable checkpoint every N steps (0: only at epoch ends)")
	fl.IntVar(&f.cfg.MaxSteps, "max-steps", 0, "stop each epoch after N steps (0: whole epochs)")
	fl.StringVar(&f.out, "out", "runs/fp32", "checkpoint directory (a model directory plus optimizer and training state)")
	fl.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.IntVar(&f.lrH, "input-size", 16, "low-resolution input height and width of the model graph")
	f.data.register(c)
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	c := &cobra.Command{
		Use:   "train",
		Short: "Train a float model (MSE, AdamW, PSNR on the test split after each epoch)",
		Example: `  vgfq train --model upscaler --data builtin --epochs 1 --batch 64 --lr 1e-3 --out runs/fp32
  vgfq train --out runs/fp32 --resume --epochs 3`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, _, err := runTrain(c, &f, os.Stdout)
			return err
		},
	}
	f.register(c)
	return c
}

// runTrain builds or resumes the model and trains it, returning the trained graph.
func runTrain(c *cobra.Command, f *trainFlags, log io.Writer) (*graph.Graph, *train.State, error) {
	if err := f.cfg.Validate(); err != nil {
		return nil, nil, badInput(err)
	}
	if f.lrH < 2 || f.lrH > 4096 {
		return nil, nil, badInputf("--input-size %d out of range [2, 4096]", f.lrH)
	}
	var g *graph.Graph
	var resume *train.Checkpoint
	if f.resume {
		ck, err := train.LoadCheckpoint(f.out)
		if err != nil {
			return nil, nil, badInputf("--resume: %v", err)
		}
		if ck.State == nil {
			return nil, nil, badInputf("--resume: %s is a model without training state (%s)", f.out, train.StateFile)
		}
		old := ck.State.Config
		// The run continues with the stored settings; only the epoch count may grow.
		epochs := f.cfg.Epochs
		f.cfg = old
		if c.Flags().Changed("epochs") {
			f.cfg.Epochs = epochs
		}
		g, resume = ck.Graph, ck
		fmt.Fprintf(log, "resuming %s at epoch %d step %d\n", f.out, ck.State.Epoch+1, ck.State.Step)
	} else {
		// A zoo model (fresh weights at --input-size), a model directory or an .onnx file
		// (fine-tuning; its declared input size replaces --input-size).
		is, err := model.ParseInputShapes(f.shapes)
		if err != nil {
			return nil, nil, badInput(err)
		}
		l, err := model.Load(f.cfg.Model, model.Options{H: f.lrH, W: f.lrH, Seed: f.cfg.Seed, InputShapes: is})
		if err != nil {
			return nil, nil, badInputf("--model: %v", err)
		}
		if l.ONNX != nil {
			fmt.Fprint(log, l.ONNX.Summary())
			if l.ONNX.QDQ != nil {
				return nil, nil, badInputf("--model %s is a QDQ model; train its float version", f.cfg.Model)
			}
		}
		g = l.Graph
		if _, err := os.Stat(f.out); err == nil && !errors.Is(err, os.ErrNotExist) {
			if _, err := train.LoadCheckpoint(f.out); err != nil {
				return nil, nil, badInputf("--out %s exists and is not a vgfq checkpoint; choose another directory", f.out)
			}
			fmt.Fprintf(log, "note: replacing the checkpoint in %s (use --resume to continue it)\n", f.out)
		}
	}
	f.cfg.Data = f.data.spec
	lh, lw := modelInputSize(g)
	ds, err := f.data.openFor(lh, lw, log)
	if err != nil {
		return nil, nil, err
	}
	if err := checkInputSize(g, ds, !f.resume && slices.Contains(zoo.Names(), f.cfg.Model)); err != nil {
		return nil, nil, err
	}
	if err := checkOutputSize(g, ds, ""); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(log, "model %s: %d parameters; data %s: %d train / %d test images\n", g.Name, g.NumParams(), ds.Name, ds.Train.Len(), ds.Test.Len())
	st, err := train.Run(c.Context(), g, ds, f.cfg, f.out, resume, newProgress(log, f.quiet))
	if errors.Is(err, context.Canceled) && st != nil {
		return nil, nil, fmt.Errorf("interrupted at epoch %d step %d: checkpoint saved in %s; continue with 'vgfq train --out %s --resume' (%w)",
			st.Epoch+1, st.Step, f.out, f.out, err)
	}
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(log, "checkpoint written to %s\n", f.out)
	return g, st, nil
}

// checkInputSize checks that the data's low-resolution images (half the HR crop) have the size
// of the model's declared input, which the INT8 export fixes. (A non-square model's data were
// cut to its size by dataFlags.openFor.) zoo: the command has --input-size for a zoo model.
func checkInputSize(g *graph.Graph, ds *data.Dataset, zoo bool) error {
	in := g.Inputs()
	if len(in) != 1 || len(in[0].Attrs.Shape) != 4 {
		return nil
	}
	s := in[0].Attrs.Shape
	h, w := ds.Train.Size()
	if h/2 != s[2] || w/2 != s[3] {
		hint := fmt.Sprintf("use --crop %d (the high-resolution crop is twice the model's input)", 2*s[2])
		if _, cifar := ds.Train.(*data.CIFARSource); cifar || s[2] != s[3] {
			hint = fmt.Sprintf("use data whose images are at least %dx%d (--crop does not resize %s)", 2*s[2], 2*s[3], ds.Name)
		}
		if zoo {
			hint += fmt.Sprintf(", or build the zoo model for these images with --input-size %d", h/2)
		}
		return badInputf("model %s takes %dx%d inputs but %s gives %dx%d low-resolution images (%dx%d crops): %s",
			g.Name, s[2], s[3], ds.Name, h/2, w/2, h, w, hint)
	}
	return nil
}

// checkOutputSize: the data are 2x super-resolution pairs, so to be trained on or scored against
// them the model must upscale its input 2x (a same-size model, such as a denoiser, cannot be).
// hint, if not empty, is appended to the error (how to go on without targets).
func checkOutputSize(g *graph.Graph, ds *data.Dataset, hint string) error {
	h, w := ds.Train.Size()
	if len(g.Outputs) != 1 {
		return nil
	}
	out := g.Node(g.Outputs[0])
	if out == nil || len(out.Shape) != 4 || (out.Shape[2] == h && out.Shape[3] == w) {
		return nil
	}
	return badInputf("model %s has %dx%d outputs, but %s holds 2x super-resolution pairs (%dx%d from %dx%d), which train and score 2x upscalers only%s",
		g.Name, out.Shape[2], out.Shape[3], ds.Name, h, w, h/2, w/2, hint)
}
