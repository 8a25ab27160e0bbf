package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/internal/atomicfile"
)

// File names inside a model directory.
const (
	GraphFile   = "graph.json"
	WeightsFile = "weights.safetensors"
)

// FormatVersion is written into graph.json; Load refuses other versions.
const FormatVersion = 1

type fileGraph struct {
	Format int `json:"vgfq_graph_format"`
	*Graph
}

// MarshalJSON-independent encoding of the node list: indent for humans, stable for diffs.
func (g *Graph) encodeJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(fileGraph{Format: FormatVersion, Graph: g}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFiles writes graph.json and weights.safetensors into dir (which must exist). Use Save to
// replace a model directory atomically.
func (g *Graph) WriteFiles(dir string) error {
	js, err := g.encodeJSON()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, GraphFile), js, 0o644); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, WeightsFile), 0o644, func(w io.Writer) error {
		return WriteTensors(w, g.Params, map[string]string{"format": "vgfq", "graph": g.Name})
	})
}

// Save writes the graph as a model directory (graph.json + weights.safetensors), replacing dir
// atomically: a reader never sees half a model.
func (g *Graph) Save(dir string) error {
	return atomicfile.WriteDir(dir, g.WriteFiles)
}

// ErrNotModel is wrapped by Load's error when the path holds no model.
var ErrNotModel = errors.New("not a vgfq model directory")

// Load reads a model directory written by Save and validates it (structure, parameter shapes,
// shape inference). Errors name the file and the problem.
func Load(dir string) (*Graph, error) {
	// A save killed on a system without atomic directory swaps may have left the previous
	// version aside; put it back (no-op when dir exists).
	if err := atomicfile.RecoverDir(dir); err != nil {
		return nil, err
	}
	gpath := filepath.Join(dir, GraphFile)
	js, err := os.ReadFile(gpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w (no %s)", dir, ErrNotModel, GraphFile)
		}
		return nil, err
	}
	wpath := filepath.Join(dir, WeightsFile)
	wdata, err := readLimited(wpath, MaxTensorFileSize)
	if err != nil {
		return nil, err
	}
	return Decode(js, wdata, gpath, wpath)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit", path, fi.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// Decode builds a graph from the contents of graph.json and weights.safetensors. The names are
// used in error messages only.
func Decode(graphJSON, weights []byte, graphName, weightsName string) (*Graph, error) {
	var fg fileGraph
	fg.Graph = &Graph{}
	dec := json.NewDecoder(bytes.NewReader(graphJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fg); err != nil {
		return nil, fmt.Errorf("%s: corrupt graph: %v", graphName, err)
	}
	if fg.Format != FormatVersion {
		return nil, fmt.Errorf("%s: graph format %d, this vgfq reads format %d", graphName, fg.Format, FormatVersion)
	}
	g := fg.Graph
	params, _, err := ReadTensors(weights)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", weightsName, err)
	}
	g.Params = params
	used := map[string]bool{}
	for _, n := range g.Nodes {
		if n == nil {
			continue
		}
		for _, p := range n.Params {
			used[p] = true
		}
	}
	for name := range params {
		if !used[name] {
			return nil, fmt.Errorf("%s: tensor %q is not used by any node of %s", weightsName, name, graphName)
		}
	}
	if err := g.InferShapes(); err != nil {
		return nil, fmt.Errorf("%s: %v", graphName, err)
	}
	for name, t := range params {
		for _, v := range t.Data {
			if v != v || v > 3.4e38 || v < -3.4e38 {
				return nil, fmt.Errorf("%s: tensor %q holds NaN or Inf", weightsName, name)
			}
		}
	}
	return g, nil
}

var _ = engine.New
