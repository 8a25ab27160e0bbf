// Package model loads a float model for any vgfq command from what a user names with --model:
// a zoo name (upscaler, espcn), a model or checkpoint directory (graph.json +
// weights.safetensors), or an ONNX file (.onnx, float or QDQ). It is the one place that
// decides what a --model argument means.
package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/onnx"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
)

// Kind says where a model came from.
type Kind string

// Model sources.
const (
	Zoo  Kind = "zoo"
	Dir  Kind = "dir"
	ONNX Kind = "onnx"
)

// Options configures Load.
type Options struct {
	// H, W: input size for zoo models (default 16x16).
	H, W int
	// Seed initialises zoo models (default 1).
	Seed uint64
	// InputShapes fixes ONNX input shapes (see ParseInputShapes); ignored for other kinds.
	InputShapes map[string][]int
	// KeepGoing imports an ONNX model past unsupported nodes, listing them in
	// ONNX.Issues (for vgfq check); the Graph is then incomplete.
	KeepGoing bool
}

// Loaded is a loaded model.
type Loaded struct {
	Graph *graph.Graph
	Kind  Kind
	// Checkpoint is the directory's training checkpoint (Kind Dir; its State may be nil).
	Checkpoint *train.Checkpoint
	// ONNX is the import record (Kind ONNX): inputs, outputs, op histogram, QDQ quantization.
	ONNX *onnx.Model
}

// IsONNX reports whether spec names an ONNX file.
func IsONNX(spec string) bool { return strings.EqualFold(filepath.Ext(spec), ".onnx") }

// Load loads the model named by spec.
func Load(spec string, opt Options) (*Loaded, error) {
	if spec == "" {
		return nil, errors.New("no model given")
	}
	if IsONNX(spec) {
		if fi, err := os.Stat(spec); err != nil {
			return nil, fmt.Errorf("%s: %v", spec, errors.Unwrap(err))
		} else if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not an ONNX file", spec)
		}
		m, err := onnx.Load(spec, onnx.Options{InputShapes: opt.InputShapes, KeepGoing: opt.KeepGoing})
		if err != nil {
			return nil, err
		}
		return &Loaded{Graph: m.Graph, Kind: ONNX, ONNX: m}, nil
	}
	if len(opt.InputShapes) > 0 {
		return nil, fmt.Errorf("--input-shape applies to .onnx models only (%s is not one)", spec)
	}
	if _, ok := zoo.Builders[spec]; ok {
		if _, err := os.Stat(spec); errors.Is(err, os.ErrNotExist) {
			h, w := opt.H, opt.W
			if h == 0 {
				h = 16
			}
			if w == 0 {
				w = h
			}
			seed := opt.Seed
			if seed == 0 {
				seed = 1
			}
			g, err := zoo.Build(spec, h, w, seed)
			if err != nil {
				return nil, err
			}
			return &Loaded{Graph: g, Kind: Zoo}, nil
		}
	}
	if fi, err := os.Stat(spec); err != nil {
		if !strings.ContainsAny(spec, `/\.`) {
			return nil, fmt.Errorf("unknown model %q (zoo: %s; or a model directory, or an .onnx file)", spec, strings.Join(zoo.Names(), ", "))
		}
		return nil, fmt.Errorf("%s: not a zoo model (%s), a model directory or an .onnx file (no such file or directory)", spec, strings.Join(zoo.Names(), ", "))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a model directory or an .onnx file", spec)
	}
	ck, err := train.LoadCheckpoint(spec)
	if err != nil {
		return nil, err
	}
	return &Loaded{Graph: ck.Graph, Kind: Dir, Checkpoint: ck}, nil
}

// ParseInputShapes parses --input-shape values NAME=1x3x64x64 (several may be given).
func ParseInputShapes(vals []string) (map[string][]int, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string][]int{}
	for _, v := range vals {
		name, dims, ok := strings.Cut(v, "=")
		if !ok || name == "" || dims == "" {
			return nil, fmt.Errorf("--input-shape %q: want NAME=1x3x64x64", v)
		}
		var s []int
		for _, d := range strings.Split(dims, "x") {
			n, err := strconv.Atoi(d)
			if err != nil || n < 1 || n > 1<<16 {
				return nil, fmt.Errorf("--input-shape %q: dimension %q is not an integer in [1, 65536]", v, d)
			}
			s = append(s, n)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--input-shape: input %q given twice", name)
		}
		out[name] = s
	}
	return out, nil
}
