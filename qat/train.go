package qat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/train"
)

// Files a QAT checkpoint adds to a training checkpoint (train.SaveCheckpoint's model directory
// with optimizer and training state).
const (
	StateFile   = "qat_state.safetensors" // fake-quant state: EMA ranges, qparams, flags
	OptionsFile = "qat.json"              // Options and the step count
	FloatDir    = "float"                 // the FP32 model QAT started from
)

type savedOptions struct {
	Format  string  `json:"format"`
	Options Options `json:"options"`
	Steps   int     `json:"steps"`
}

const optionsFormat = "vgfq-qat/1"

// saveExtra writes the QAT files into a checkpoint's temporary directory.
func (m *Model) saveExtra(dir string) error {
	err := atomicfile.Write(filepath.Join(dir, StateFile), 0o644, func(w io.Writer) error {
		return graph.WriteTensors(w, m.QAT.State(), map[string]string{"format": optionsFormat})
	})
	if err != nil {
		return err
	}
	so := savedOptions{Format: optionsFormat, Options: m.Options, Steps: m.Steps}
	js, err := json.MarshalIndent(so, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, OptionsFile), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fd := filepath.Join(dir, FloatDir)
	if err := os.MkdirAll(fd, 0o755); err != nil {
		return err
	}
	return m.Float.WriteFiles(fd)
}

// Checkpoint is a loaded QAT checkpoint: the prepared model with its fake-quant state restored,
// and the training checkpoint (state, optimizer) for train.RunWith / Train.
type Checkpoint struct {
	Model *Model
	Train *train.Checkpoint
}

// LoadCheckpoint reads a checkpoint that Train wrote. Every problem is an error naming the file.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	ck, err := train.LoadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if ck.State == nil {
		return nil, fmt.Errorf("%s: no training state (%s): not a QAT checkpoint", dir, train.StateFile)
	}
	opath := filepath.Join(dir, OptionsFile)
	ojs, err := os.ReadFile(opath)
	if err != nil {
		return nil, fmt.Errorf("%s: not a QAT checkpoint (%v)", dir, err)
	}
	var so savedOptions
	dec := json.NewDecoder(bytes.NewReader(ojs))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&so); err != nil || so.Format != optionsFormat {
		return nil, fmt.Errorf("%s: corrupt or unknown QAT options (%v)", opath, err)
	}
	fl, err := graph.Load(filepath.Join(dir, FloatDir))
	if err != nil {
		return nil, err
	}
	spath := filepath.Join(dir, StateFile)
	sdata, err := os.ReadFile(spath)
	if err != nil {
		return nil, err
	}
	st, _, err := graph.ReadTensors(sdata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", spath, err)
	}
	m, err := Prepare(fl, so.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	// Train the checkpoint's weights: copy them into the prepared copy.
	for name, t := range m.Graph.Params {
		src, ok := ck.Graph.Params[name]
		if !ok || len(src.Data) != len(t.Data) {
			return nil, fmt.Errorf("%s: parameter %q does not match the float model in %s", dir, name, FloatDir)
		}
		copy(t.Data, src.Data)
	}
	if err := m.QAT.LoadState(st); err != nil {
		return nil, fmt.Errorf("%s: %v", spath, err)
	}
	m.Steps = so.Steps
	m.schedule()
	return &Checkpoint{Model: m, Train: ck}, nil
}

// Train fine-tunes m on ds with the tutorial's loop (train.RunWith: MSE, the configured
// optimizer, shuffled batches, loss lines, resumable checkpoints in out), scoring the fake-quant
// model on the test split after each epoch (these evaluation passes update the observers, as in
// the reference). With resume (from LoadCheckpoint) it continues bit-exactly.
func Train(ctx context.Context, m *Model, ds *data.Dataset, c train.Config, out string, resume *train.Checkpoint, prog train.Progress) (*train.State, error) {
	h := train.Hooks{
		Exec: m.train,
		Step: func(_ *graph.Exec, opt engine.Optimizer, b *data.Batch) (float64, error) {
			loss, err := m.Step(opt, b)
			if err != nil {
				return loss, fmt.Errorf("QAT step %d: %v", m.Steps+1, err)
			}
			return loss, nil
		},
		Evaluate: func() (*train.EvalResult, error) {
			return train.EvaluatePredictor(m.Predictor(), ds.Test, c.EvalBatch, c.EvalBatches, false, nil)
		},
		EvalName:    "fake-quant test PSNR",
		SaveExtra:   m.saveExtra,
		ExtraParams: m.QAT.LSQParams(),
	}
	return train.RunWith(ctx, m.Graph, ds, c, out, resume, prog, h)
}
