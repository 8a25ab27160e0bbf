// Package train trains and evaluates vgfq's float models: the tutorial's loop (MSE, AdamW,
// shuffled batches with drop_last, PSNR on the test split after every epoch), checkpoints that
// resume exactly, and evaluation with PSNR, SSIM and the bilinear baseline.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// Config is a training run's settings. The JSON form is stored in checkpoints.
type Config struct {
	Model       string  `json:"model"`
	Data        string  `json:"data"`
	Epochs      int     `json:"epochs"`
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"weight_decay"`
	Optimizer   string  `json:"optimizer"` // adamw | sgd
	Momentum    float64 `json:"momentum,omitempty"`
	Seed        uint64  `json:"seed"`
	LogEvery    int     `json:"log_every"`
	EvalBatches int     `json:"eval_batches"`
	EvalBatch   int     `json:"eval_batch"`
	// CheckpointEvery saves a resumable checkpoint every so many steps (0: only at epoch ends).
	CheckpointEvery int `json:"checkpoint_every"`
	// MaxSteps stops an epoch early after so many steps (0: whole epochs); for quick runs.
	MaxSteps int `json:"max_steps,omitempty"`
}

// DefaultConfig returns the tutorial's settings.
func DefaultConfig() Config {
	return Config{Model: "upscaler", Data: "builtin", Epochs: 1, Batch: 64, LR: 1e-3, WeightDecay: 0.01,
		Optimizer: "adamw", Momentum: 0.9, Seed: 1, LogEvery: 50, EvalBatches: 50, EvalBatch: 64, CheckpointEvery: 200}
}

// Validate checks ranges; errors name the flag-like field.
func (c *Config) Validate() error {
	switch {
	case c.Epochs < 1 || c.Epochs > 10000:
		return fmt.Errorf("epochs %d out of range [1, 10000]", c.Epochs)
	case c.Batch < 1 || c.Batch > 4096:
		return fmt.Errorf("batch %d out of range [1, 4096]", c.Batch)
	case !(c.LR > 0 && c.LR < 10):
		return fmt.Errorf("lr %g out of range (0, 10)", c.LR)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fmt.Errorf("weight decay %g out of range [0, 1)", c.WeightDecay)
	case c.Optimizer != "adamw" && c.Optimizer != "sgd":
		return fmt.Errorf("optimizer %q: want adamw or sgd", c.Optimizer)
	case c.LogEvery < 0 || c.EvalBatches < 0 || c.CheckpointEvery < 0 || c.MaxSteps < 0:
		return fmt.Errorf("log/eval/checkpoint/max-steps counts must not be negative")
	case c.EvalBatch < 1 || c.EvalBatch > 4096:
		return fmt.Errorf("eval batch %d out of range [1, 4096]", c.EvalBatch)
	}
	return nil
}

// NewOptimizer builds the configured optimizer over params.
func NewOptimizer(c Config, params []*engine.Var) engine.Optimizer {
	if c.Optimizer == "sgd" {
		o := engine.NewSGD(params, float32(c.LR))
		o.Momentum = float32(c.Momentum)
		o.WeightDecay = float32(c.WeightDecay)
		return o
	}
	o := engine.NewAdamW(params, float32(c.LR))
	o.WeightDecay = float32(c.WeightDecay)
	return o
}

// Progress receives training progress; any method may be a no-op.
type Progress interface {
	Start(epoch, steps int)
	Step(step int, loss float64)
	Log(line string)
	Finish()
}

type nopProgress struct{ w io.Writer }

func (nopProgress) Start(int, int)    {}
func (nopProgress) Step(int, float64) {}
func (p nopProgress) Log(s string)    { fmt.Fprintln(p.w, s) }
func (nopProgress) Finish()           {}

// LogProgress returns a Progress that only prints log lines to w.
func LogProgress(w io.Writer) Progress { return nopProgress{w} }

// Run trains g on ds according to c, writing checkpoints to out (if non-empty). With a non-nil
// resume state and optimizer tensors, it continues exactly where that checkpoint stopped.
func Run(ctx context.Context, g *graph.Graph, ds *data.Dataset, c Config, out string, resume *Checkpoint, prog Progress) (*State, error) {
	return RunWith(ctx, g, ds, c, out, resume, prog, Hooks{})
}

// Hooks let RunWith train something other than the plain float graph (QAT trains g through a
// fake-quantizing executor) with the same loop, logging, checkpoints and resume. Every field is
// optional.
type Hooks struct {
	// Exec is the executor trained (default: graph.NewExec(g, true) in training mode).
	Exec *graph.Exec
	// Step runs one optimization step (default: Step).
	Step func(ex *graph.Exec, opt engine.Optimizer, b *data.Batch) (float64, error)
	// Evaluate scores the model after each epoch (default: Evaluate of g on the test split).
	Evaluate func() (*EvalResult, error)
	// EvalName names the epoch-end score in the log line (default "test PSNR").
	EvalName string
	// SaveExtra writes further files into a checkpoint's (temporary) directory.
	SaveExtra func(dir string) error
	// ExtraParams are trained too (after Exec's parameters, in this order): QAT's learnable
	// quantization scales.
	ExtraParams []*engine.Var
}

// RunWith is Run with hooks.
func RunWith(ctx context.Context, g *graph.Graph, ds *data.Dataset, c Config, out string, resume *Checkpoint, prog Progress, h Hooks) (*State, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if prog == nil {
		prog = LogProgress(os.Stderr)
	}
	loader, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: c.Batch, Shuffle: true, DropLast: true, Seed: c.Seed, Random: true})
	if err != nil {
		return nil, fmt.Errorf("%s train split: %v", ds.Name, err)
	}
	steps := loader.NumBatches()
	if steps == 0 {
		return nil, fmt.Errorf("%s train split has %d images, fewer than one batch of %d", ds.Name, ds.Train.Len(), c.Batch)
	}
	if c.MaxSteps > 0 && c.MaxSteps < steps {
		steps = c.MaxSteps
	}
	ex := h.Exec
	if ex == nil {
		ex = graph.NewExec(g, true)
		ex.Train = true
	}
	step := h.Step
	if step == nil {
		step = Step
	}
	evaluate := h.Evaluate
	if evaluate == nil {
		evaluate = func() (*EvalResult, error) { return Evaluate(g, ds.Test, c.EvalBatch, c.EvalBatches, false) }
	}
	evalName := h.EvalName
	if evalName == "" {
		evalName = "test PSNR"
	}
	params := append(ex.Params(), h.ExtraParams...)
	opt := NewOptimizer(c, params)
	st := &State{Config: c, Optimizer: c.Optimizer}
	if resume != nil && resume.State != nil {
		st.Resume(resume.State)
		if resume.Optimizer != nil {
			if err := opt.LoadStateTensors(resume.Optimizer); err != nil {
				return nil, fmt.Errorf("resume: optimizer state: %v", err)
			}
		}
	}
	loop := &Loop{
		Loader: loader, Steps: steps, Epochs: c.Epochs, Batch: c.Batch,
		LogEvery: c.LogEvery, CheckpointEvery: c.CheckpointEvery, State: st, Progress: prog,
		Step: func(b *data.Batch) (float64, error) { return step(ex, opt, b) },
		Save: func() error {
			if out == "" {
				return nil
			}
			return SaveCheckpointWith(out, g, opt, st, h.SaveExtra)
		},
		EndEpoch: func(log *EpochLog) (string, error) {
			ev, err := evaluate()
			if err != nil {
				return "", err
			}
			log.TestPSNR = ev.PSNR
			return fmt.Sprintf("epoch %d done: mean loss %.6f, %s %.3f dB (%d batches), %.0f images/s", log.Epoch, log.MeanLoss, evalName, ev.PSNR, ev.Batches, log.ImagesSec), nil
		},
	}
	return st, loop.Run(ctx)
}

// Resume positions a fresh state at a checkpoint's: the epoch and step to continue from and
// the history so far (a finished run continues with a new epoch).
func (st *State) Resume(from *State) {
	st.Epoch, st.Step, st.Global, st.History = from.Epoch, from.Step, from.Global, from.History
	if from.Done {
		st.Epoch, st.Step = len(st.History), 0
	}
}

// Loop is the epoch/step loop of Run: interruptible, checkpointed and exactly resumable. Other
// training procedures (quantization-aware training) reuse it with their own Step, Save and
// EndEpoch so they get the same guarantees:
//
//   - ctx is checked before every step; when it is cancelled (SIGINT) the loop saves a
//     checkpoint of the steps done and returns ctx's error;
//   - Save is called every CheckpointEvery steps and at the end of every epoch; it must write
//     atomically (SaveCheckpoint does, via atomicfile.WriteDir), so a process killed at any
//     moment leaves the previous or the new checkpoint;
//   - a resumed State (see State.Resume) continues at its epoch and step: the loader replays the
//     same shuffled order and crops (Loader.SetEpoch + Skip), so with the optimizer state
//     restored the final weights equal an uninterrupted run's, byte for byte.
type Loop struct {
	Loader          *data.Loader
	Steps           int // steps per epoch (at most Loader.NumBatches())
	Epochs          int
	Batch           int // images per step, for the images/s figure
	LogEvery        int // log the loss every so many steps (0: never)
	CheckpointEvery int // save every so many steps (0: only at epoch ends)
	State           *State
	Progress        Progress
	// Step trains on one batch and returns the loss.
	Step func(b *data.Batch) (float64, error)
	// Save writes a checkpoint of State and the model and optimizer (atomically).
	Save func() error
	// EndEpoch evaluates after an epoch: it gets the epoch's log (Epoch, Steps, MeanLoss,
	// Seconds, ImagesSec filled in), may set more fields and returns the line to log.
	EndEpoch func(log *EpochLog) (string, error)
}

// Run runs epochs until State.Epoch reaches Epochs.
func (l *Loop) Run(ctx context.Context) error {
	st, prog := l.State, l.Progress
	if prog == nil {
		prog = LogProgress(os.Stderr)
	}
	for st.Epoch < l.Epochs {
		l.Loader.SetEpoch(st.Epoch)
		l.Loader.Skip(st.Step) // resume mid-epoch: same order, the done batches skipped
		prog.Start(st.Epoch, l.Steps)
		start := time.Now()
		startStep := st.Step
		var lossSum float64
		var lossN int
		for st.Step < l.Steps {
			if err := ctx.Err(); err != nil {
				prog.Finish()
				if serr := l.Save(); serr != nil {
					return serr
				}
				return err
			}
			b, err := l.Loader.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				prog.Finish()
				return err
			}
			loss, err := l.Step(b)
			if err != nil {
				prog.Finish()
				return err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				prog.Finish()
				return fmt.Errorf("epoch %d step %d: loss is %v (diverged; lower --lr)", st.Epoch+1, st.Step+1, loss)
			}
			lossSum += loss
			lossN++
			st.Step++
			st.Global++
			prog.Step(st.Step, loss)
			if l.LogEvery > 0 && st.Step%l.LogEvery == 0 {
				prog.Log(fmt.Sprintf("epoch %d step %d/%d loss %.6f", st.Epoch+1, st.Step, l.Steps, loss))
			}
			if l.CheckpointEvery > 0 && st.Step%l.CheckpointEvery == 0 && st.Step < l.Steps {
				if err := l.Save(); err != nil {
					prog.Finish()
					return err
				}
			}
		}
		prog.Finish()
		secs := time.Since(start).Seconds()
		log := EpochLog{Epoch: st.Epoch + 1, Steps: st.Step, Seconds: secs}
		if lossN > 0 {
			log.MeanLoss = lossSum / float64(lossN)
		}
		if secs > 0 {
			log.ImagesSec = float64((st.Step-startStep)*l.Batch) / secs
		}
		line, err := l.EndEpoch(&log)
		if err != nil {
			return err
		}
		st.History = append(st.History, log)
		prog.Log(line)
		st.Epoch++
		st.Step = 0
		st.Done = st.Epoch >= l.Epochs
		if err := l.Save(); err != nil {
			return err
		}
	}
	return nil
}

// Step runs one optimization step on a batch and returns the loss. The step's activations are
// recycled for the next step (engine's BackwardFree): a Hook on ex must not keep the Vars it
// sees beyond the step (copy the data if it needs them; vgfq's own hooks keep statistics only).
func Step(ex *graph.Exec, opt engine.Optimizer, b *data.Batch) (float64, error) {
	x := engine.Const(engine.FromData(b.LR, b.N, data.Channels, b.H/2, b.W/2))
	y := engine.Const(engine.FromData(b.HR, b.N, data.Channels, b.H, b.W))
	pred, err := ex.Forward(x)
	if err != nil {
		return 0, err
	}
	if !engine.SameShape(pred.Shape(), y.Shape()) {
		return 0, fmt.Errorf("model output %s does not match target %s", engine.ShapeString(pred.Shape()), engine.ShapeString(y.Shape()))
	}
	loss := engine.MSELoss(pred, y)
	opt.ZeroGrad()
	loss.BackwardFree() // pred and the activations are not used after this: recycle them
	opt.Step()
	return float64(loss.Val.Data[0]), nil
}
