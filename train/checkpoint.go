package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/internal/atomicfile"
)

// Files of a training checkpoint directory, next to the model's graph.json and
// weights.safetensors (so a checkpoint is also a model directory).
const (
	StateFile     = "train_state.json"
	OptimizerFile = "optimizer.safetensors"
)

// EpochLog is one line of the training history.
type EpochLog struct {
	Epoch     int     `json:"epoch"`
	Steps     int     `json:"steps"`
	MeanLoss  float64 `json:"mean_loss"`
	TestPSNR  float64 `json:"test_psnr"`
	Seconds   float64 `json:"seconds"`
	ImagesSec float64 `json:"images_per_second"`
}

// State is the resumable training state.
type State struct {
	Format    int        `json:"vgfq_train_state_format"`
	Config    Config     `json:"config"`
	Epoch     int        `json:"epoch"` // epoch in progress (0-based)
	Step      int        `json:"step"`  // batches of Epoch already done
	Global    int        `json:"global_step"`
	Optimizer string     `json:"optimizer"`
	History   []EpochLog `json:"history"`
	Done      bool       `json:"done"`
}

const stateFormat = 1

// SaveCheckpoint writes the model, optimizer state and training state to dir atomically.
func SaveCheckpoint(dir string, g *graph.Graph, opt engine.Optimizer, st *State) error {
	return SaveCheckpointWith(dir, g, opt, st, nil)
}

// SaveCheckpointWith is SaveCheckpoint with extra files: extra (if not nil) writes them into the
// checkpoint's temporary directory before it replaces dir.
func SaveCheckpointWith(dir string, g *graph.Graph, opt engine.Optimizer, st *State, extra func(tmp string) error) error {
	st.Format = stateFormat
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteDir(dir, func(tmp string) error {
		if err := g.WriteFiles(tmp); err != nil {
			return err
		}
		if opt != nil {
			err := atomicfile.Write(filepath.Join(tmp, OptimizerFile), 0o644, func(w io.Writer) error {
				return graph.WriteTensors(w, opt.StateTensors(), map[string]string{"optimizer": st.Optimizer})
			})
			if err != nil {
				return err
			}
		}
		if extra != nil {
			if err := extra(tmp); err != nil {
				return err
			}
		}
		return atomicfile.WriteBytes(filepath.Join(tmp, StateFile), append(js, '\n'), 0o644)
	})
}

// Checkpoint is a loaded checkpoint directory.
type Checkpoint struct {
	Graph     *graph.Graph
	State     *State
	Optimizer map[string]*engine.Tensor // nil for a bare model directory
}

// LoadCheckpoint reads a checkpoint or a bare model directory. Every problem is an error naming
// the file.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	if err := atomicfile.RecoverDir(dir); err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such model directory", dir)
		}
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory (a model is a directory with %s and %s)", dir, graph.GraphFile, graph.WeightsFile)
	}
	g, err := graph.Load(dir)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Graph: g}
	spath := filepath.Join(dir, StateFile)
	sjs, err := os.ReadFile(spath)
	if errors.Is(err, os.ErrNotExist) {
		return ck, nil
	} else if err != nil {
		return nil, err
	}
	opath := filepath.Join(dir, OptimizerFile)
	odata, err := os.ReadFile(opath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	st, opt, err := DecodeState(sjs, odata, spath, opath)
	if err != nil {
		return nil, err
	}
	ck.State, ck.Optimizer = st, opt
	return ck, nil
}

// DecodeState parses train_state.json and (if non-empty) optimizer.safetensors.
func DecodeState(stateJSON, optData []byte, stateName, optName string) (*State, map[string]*engine.Tensor, error) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(stateJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, nil, fmt.Errorf("%s: corrupt training state: %v", stateName, err)
	}
	if st.Format != stateFormat {
		return nil, nil, fmt.Errorf("%s: state format %d, this vgfq reads %d", stateName, st.Format, stateFormat)
	}
	if st.Epoch < 0 || st.Step < 0 || st.Global < 0 {
		return nil, nil, fmt.Errorf("%s: negative epoch/step", stateName)
	}
	if len(optData) == 0 {
		return &st, nil, nil
	}
	opt, _, err := graph.ReadTensors(optData)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", optName, err)
	}
	return &st, opt, nil
}
