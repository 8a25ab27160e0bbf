package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/qat"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/train"
)

type qatFlags struct {
	shapes        []string
	model         string
	cfg           train.Config
	data          dataFlags
	out           string
	resume        bool
	calib         int
	layout        string
	eps12         bool
	freezeObs     int
	freezeBN      int
	exportTrained bool
	lsq           bool
	lsqStatic     int
	evalImages    int
	layers        int
	quiet         bool
	debugInfo     bool
}

// qatCheckpointDir is where vgfq qat keeps its resumable checkpoint inside --out.
const qatCheckpointDir = "checkpoint"

func (f *qatFlags) register(c *cobra.Command) {
	f.cfg = train.DefaultConfig()
	f.cfg.LR = 1e-4
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "runs/fp32", "float model to fine-tune: a model or checkpoint directory, a zoo name or an .onnx file")
	fl.StringArrayVar(&f.shapes, "input-shape", nil, inputShapeUsage)
	fl.IntVar(&f.cfg.Epochs, "epochs", 1, "QAT epochs")
	fl.IntVar(&f.cfg.Batch, "batch", f.cfg.Batch, "batch size")
	fl.Float64Var(&f.cfg.LR, "lr", f.cfg.LR, "learning rate (the tutorial fine-tunes at 1e-4)")
	fl.Float64Var(&f.cfg.WeightDecay, "weight-decay", f.cfg.WeightDecay, "AdamW weight decay")
	fl.Uint64Var(&f.cfg.Seed, "seed", f.cfg.Seed, "seed for shuffling and calibration images")
	fl.IntVar(&f.cfg.LogEvery, "log-every", f.cfg.LogEvery, "print the loss every N steps (0: never)")
	fl.IntVar(&f.cfg.EvalBatches, "eval-batches", f.cfg.EvalBatches, "test batches of the fake-quant score after each epoch (0: all; they update the observers, as in the reference)")
	fl.IntVar(&f.cfg.CheckpointEvery, "checkpoint-every", f.cfg.CheckpointEvery, "write a resumable checkpoint every N steps (0: only at epoch ends)")
	fl.IntVar(&f.cfg.MaxSteps, "max-steps", 0, "stop each epoch after N steps (0: whole epochs)")
	fl.StringVar(&f.out, "out", "output_qat", "output directory: the INT8 artifacts, and the resumable checkpoint in <out>/"+qatCheckpointDir)
	fl.BoolVar(&f.resume, "resume", false, "continue the QAT run in --out from its last checkpoint (--epochs may grow)")
	fl.IntVar(&f.calib, "calib", 0, "images (batch 1, train split) run through the prepared model before fine-tuning to initialise the ranges (0: start from the first batch, as the reference)")
	fl.StringVar(&f.layout, "layout", "nhwc", "graph I/O layout of the export: nhwc or nchw")
	fl.BoolVar(&f.eps12, "eps-2-12", false, "observer eps 2^-12 as ExecuTorch <= 1.1 (default 2^-16)")
	fl.IntVar(&f.freezeObs, "freeze-observers-after", 0, "freeze activation ranges and weight scales after N steps (vgfq option; 0: never, the reference)")
	fl.IntVar(&f.freezeBN, "freeze-bn-after", 0, "use BatchNorm running statistics after N steps (vgfq option; 0: never)")
	fl.BoolVar(&f.exportTrained, "export-trained-qparams", false, "export exactly the activation qparams the model was trained with (vgfq option; default: recompute them with the observer formula as convert_pt2e does)")
	fl.BoolVar(&f.lsq, "lsq", false, "learn the activation scales and zero points (LSQ with gradient scaling, torch's _LearnableFakeQuantize; vgfq option)")
	fl.IntVar(&f.lsqStatic, "lsq-static-steps", 50, "with --lsq: steps of static (moving-average) range estimation before the scales are learned")
	fl.IntVar(&f.evalImages, "eval-images", 3200, "test images scored for the final FP32 / fake-quant / INT8 table (0: skip)")
	fl.IntVar(&f.layers, "layer-images", 16, "test images traced for the per-layer table and layers.json (0: skip)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.BoolVar(&f.debugInfo, "debug-info", false, "keep tensor names in the SPIR-V graph module")
	f.data.register(c)
}

func newQATCmd() *cobra.Command {
	var f qatFlags
	c := &cobra.Command{
		Use:   "qat",
		Short: "Quantization-aware training: fine-tune with fake quantization, then export INT8 TOSA/VGF like ptq",
		Long: `qat prepares the float model with fake quantization where ptq puts observers
(TorchAO's FusedMovingAvgObsFakeQuantize on activations, per-channel symmetric weight
fake-quant, float biases, the QAT conv-BN pattern), fine-tunes it (MSE, AdamW, as train),
scores the fake-quant model after each epoch, converts it (export qparams as ExecuTorch
computes them) and writes into --out what ptq writes: model.tosa, model.vgf, io.json,
scenario.json (+ input.npy, expected_output.npy), quant.json (with a "qat" section comparing
training-time and exported qparams) and layers.json. The checkpoint in --out/checkpoint
resumes bit-exactly with --resume.`,
		Example: `  vgfq qat --model runs/fp32 --data builtin --epochs 1 --lr 1e-4 --out output_qat/
  vgfq qat --out output_qat/ --resume`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := runQAT(c, &f, os.Stdout)
			return err
		},
	}
	f.register(c)
	return c
}

// qatResult is what runQAT produced.
type qatResult struct {
	Model  *qat.Model
	State  *train.State
	Scores map[string]*train.EvalResult
	Table  []quant.ActQParams
}

func (f *qatFlags) options() (qat.Options, error) {
	var o qat.Options
	layout, err := lower.ParseLayout(f.layout)
	if err != nil {
		return o, badInputf("--layout: %v", err)
	}
	o.Layout = layout
	if f.eps12 {
		o.Quant.Eps = quant.Eps12
	}
	if f.freezeObs < 0 || f.freezeBN < 0 {
		return o, badInputf("--freeze-observers-after / --freeze-bn-after must not be negative")
	}
	o.FreezeObserversAfter, o.FreezeBNAfter = f.freezeObs, f.freezeBN
	o.Quant.ExportTrainedQParams = f.exportTrained
	if f.lsq && f.lsqStatic < 1 {
		return o, badInputf("--lsq-static-steps %d must be at least 1", f.lsqStatic)
	}
	o.Quant.LSQ, o.LSQStaticSteps = f.lsq, f.lsqStatic
	return o, nil
}

func runQAT(c *cobra.Command, f *qatFlags, log io.Writer) (*qatResult, error) {
	if f.calib < 0 || f.calib > 1_000_000 {
		return nil, badInputf("--calib %d out of range [0, 1000000]", f.calib)
	}
	if f.evalImages < 0 || f.layers < 0 {
		return nil, badInputf("--eval-images / --layer-images must not be negative")
	}
	ckdir := filepath.Join(f.out, qatCheckpointDir)
	var m *qat.Model
	var resume *train.Checkpoint
	if f.resume {
		qck, err := qat.LoadCheckpoint(ckdir)
		if err != nil {
			return nil, badInputf("--resume: %v", err)
		}
		epochs := f.cfg.Epochs
		f.cfg = qck.Train.State.Config
		if c.Flags().Changed("epochs") {
			f.cfg.Epochs = epochs
		}
		m, resume = qck.Model, qck.Train
		fmt.Fprintf(log, "resuming QAT in %s at epoch %d step %d\n", ckdir, resume.State.Epoch+1, resume.State.Step)
	} else {
		if err := f.cfg.Validate(); err != nil {
			return nil, badInput(err)
		}
		l, err := loadModel(f.model, f.shapes, log)
		if err != nil {
			return nil, err
		}
		if l.ONNX != nil && l.ONNX.QDQ != nil {
			return nil, badInputf("--model %s is a QDQ model (already quantized): export it exactly with 'vgfq export --model %s --out DIR'", f.model, f.model)
		}
		g := l.Graph
		opt, err := f.options()
		if err != nil {
			return nil, err
		}
		if m, err = qat.Prepare(g, opt); err != nil {
			return nil, badInputf("--model %s: %v", f.model, err)
		}
		f.cfg.Model = f.model
	}
	f.cfg.Data = f.data.spec
	lh, lw := modelInputSize(m.Graph)
	ds, err := f.data.openFor(lh, lw, log)
	if err != nil {
		return nil, err
	}
	if err := checkInputSize(m.Graph, ds, false); err != nil {
		return nil, err
	}
	if err := checkOutputSize(m.Graph, ds, ""); err != nil {
		return nil, err
	}
	if !f.resume && f.calib > 0 {
		if ds.Train.Len() < f.calib {
			return nil, badInputf("--calib %d: the %s train split has only %d images", f.calib, ds.Name, ds.Train.Len())
		}
		loader, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: 1, Shuffle: true, Seed: f.cfg.Seed, Random: true})
		if err != nil {
			return nil, badInput(err)
		}
		images := func(yield func(*engine.Tensor, error) bool) {
			for i := 0; i < f.calib; i++ {
				b, err := loader.Next()
				if !yield(engine.FromData(b.LR, 1, data.Channels, b.H/2, b.W/2), err) || err != nil {
					return
				}
			}
		}
		if _, err := m.Calibrate(images); err != nil {
			return nil, badInputf("--calib: %v", err)
		}
		fmt.Fprintf(log, "initialised the activation ranges on %d calibration images\n", f.calib)
	}
	fmt.Fprintf(log, "QAT of %s: %d activation fake-quants, %d weight fake-quants, %d conv-BN pairs; data %s: %d train / %d test images\n",
		m.Graph.Name, len(m.QAT.Act), len(m.QAT.Weights), len(m.QAT.ConvBN), ds.Name, ds.Train.Len(), ds.Test.Len())
	st, err := qat.Train(c.Context(), m, ds, f.cfg, ckdir, resume, newProgress(log, f.quiet))
	if err != nil {
		if errors.Is(err, c.Context().Err()) && c.Context().Err() != nil {
			return nil, fmt.Errorf("interrupted; the checkpoint in %s continues with --resume (%w)", ckdir, err)
		}
		if strings.Contains(err.Error(), "NaN") || strings.Contains(err.Error(), "diverged") {
			return nil, badInputf("%v; the last good checkpoint is kept in %s", err, ckdir)
		}
		return nil, err
	}
	for _, h := range st.History {
		fmt.Fprintf(log, "QAT epoch %d: %d steps in %.1f s (%.0f images/s)\n", h.Epoch, h.Steps, h.Seconds, h.ImagesSec)
	}
	res, table, err := m.Convert()
	if err != nil {
		return nil, badInput(err)
	}
	printQParamTable(log, table)
	out := &qatResult{Model: m, State: st, Scores: map[string]*train.EvalResult{}, Table: table}
	if err := exportAndScore(res, ds, f.out, f.debugInfo, f.evalImages, f.layers, m.Float, out.Scores, log); err != nil {
		return nil, err
	}
	return out, nil
}

// printQParamTable prints, per activation group, the qparams QAT trained with (ATen's
// ChooseQuantizationParams) next to the exported ones.
func printQParamTable(w io.Writer, table []quant.ActQParams) {
	trained := "ChooseQuantizationParams"
	if table[0].Exported == "learned (LSQ)" {
		trained = "learned"
	}
	fmt.Fprintf(w, "activation qparams: trained (%s) vs exported (%s):\n", trained, table[0].Exported)
	fmt.Fprintf(w, "  %-24s %12s %5s %12s %5s %10s\n", "values", "train scale", "zp", "export scale", "zp", "diff")
	for _, r := range table {
		vals := strings.Join(r.Values, ",")
		if len(vals) > 24 {
			vals = vals[:21] + "..."
		}
		diff := "equal"
		if r.ScaleULPs != 0 || r.TrainZP != r.ExportZP {
			diff = fmt.Sprintf("%+d ulp", r.ScaleULPs)
			if r.TrainZP != r.ExportZP {
				diff += fmt.Sprintf(" zp%+d", r.ExportZP-r.TrainZP)
			}
		}
		fmt.Fprintf(w, "  %-24s %12.8f %5d %12.8f %5d %10s\n", vals, r.TrainScale, r.TrainZP, r.ExportScale, r.ExportZP, diff)
	}
}
