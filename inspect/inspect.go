// Package inspect loads a .tosa or .vgf file (recognised by its magic bytes, not its extension)
// into a common view — for a VGF the container plus the TOSA graph read back from its GRAPH
// module's SPIR-V with the constants from the VGF constants section — and renders it: a text
// summary, JSON, Graphviz DOT and a self-contained SVG drawing (laid out here, no external
// tools). Run executes a loaded model with the TOSA reference interpreter (tosa/ref).
//
// Where each RESCALE and TRANSPOSE came from (the float graph node) is known exactly for a
// model built from a lower.Result (FromLowered); for files it is derived from the tensor names,
// which vgfq's lowering derives from the node names: .tosa files always carry them, a .vgf only
// when it was exported with debug info (SPIR-V OpName).
package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/spirv"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/vgf"
)

// Formats of a loaded file.
const (
	FormatTOSA = "tosa"
	FormatVGF  = "vgf"
)

// MaxFileSize bounds the files Load reads (4 GiB).
const MaxFileSize = 4 << 30

// Model is a loaded .tosa or .vgf file.
type Model struct {
	Path   string
	Format string // FormatTOSA or FormatVGF
	Size   int64  // file size in bytes

	// Graph is the TOSA graph; nil when a VGF's graph could not be read back (GraphErr says
	// why; the container is still shown).
	Graph    *tosa.Graph
	GraphErr error

	// VGF is the decoded container (FormatVGF only) and Decoded its GRAPH module read back.
	VGF     *vgf.File
	Decoded *spirv.Decoded

	// Origin[i] is the float-graph node operator i came from ("" unknown); OriginFrom says how
	// it is known ("lowering", "tensor names") or is "" when it is not.
	Origin     []string
	OriginFrom string
}

// Detect returns the format of data from its magic bytes.
func Detect(data []byte) (string, error) {
	switch {
	case len(data) >= 4 && (string(data[:4]) == "VGF1" || bytes.Equal(data[:4], []byte{0xC3, 0xD2, 0xE1, 0xF0})):
		return FormatVGF, nil
	case len(data) >= 8 && string(data[4:8]) == tosa.FileIdentifier:
		return FormatTOSA, nil
	}
	n := min(len(data), 8)
	return "", fmt.Errorf("not a .tosa or .vgf file (first bytes % x)", data[:n])
}

// Load reads and parses the file at path.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit", path, st.Size(), int64(MaxFileSize))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return Parse(path, data)
}

// Parse parses file content; name is recorded as the path and used in errors.
func Parse(name string, data []byte) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%s: malformed file (%v)", name, r)
		}
	}()
	format, err := Detect(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	m = &Model{Path: name, Format: format, Size: int64(len(data))}
	switch format {
	case FormatTOSA:
		g, err := tosa.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		m.Graph = g
	case FormatVGF:
		f, err := vgf.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		f.Filename = name
		m.VGF = f
		d, err := export.DecodeGraph(f)
		if err != nil {
			m.GraphErr = err
		} else {
			m.Decoded, m.Graph = d, d.Graph
		}
	}
	if m.Graph != nil && (m.Format == FormatTOSA || m.Decoded.DebugNames) {
		m.Origin = originsFromNames(m.Graph)
		m.OriginFrom = "tensor names"
	}
	return m, nil
}

// FromLowered returns the view of a lowered graph, with the exact origin of every operator.
func FromLowered(res *lower.Result) *Model {
	m := &Model{Path: "(lowered graph)", Format: FormatTOSA, Graph: res.Graph}
	if len(res.Origin) == len(res.Graph.Ops) {
		m.Origin = append([]string{}, res.Origin...)
		m.OriginFrom = "lowering"
	}
	return m
}

// originsFromNames derives the source node of every operator from its output tensor's name the
// way vgfq's lowering builds names ("<node>", "<node>_acc", "<node>_lhs", "output_<node>", ...).
func originsFromNames(g *tosa.Graph) []string {
	r := make([]string, len(g.Ops))
	for i, op := range g.Ops {
		if op.Op == tosa.OpConst || op.Op == tosa.OpConstShape || len(op.Outputs) == 0 {
			continue
		}
		r[i] = nameOrigin(op.Outputs[0])
	}
	return r
}

var originSuffixes = []string{"_nhwc", "_nchw", "_acc", "_lhs", "_rhs", "_split", "_perm", "_rescaled", "_rescale"}

func nameOrigin(n string) string {
	n = strings.TrimPrefix(n, "output_")
	for _, s := range originSuffixes {
		if i := strings.Index(n, s); i > 0 {
			n = n[:i]
		}
	}
	return n
}

// IO is a model input or output as Run takes and returns it.
type IO struct {
	Name  string // model input/output name (the VGF's, or the TOSA tensor name)
	Type  tosa.DType
	Shape []int
	// Binding is the descriptor binding (VGF only).
	Binding uint32
}

// Inputs returns the model inputs in the order Run takes them.
func (m *Model) Inputs() ([]IO, error) { return m.io(true) }

// Outputs returns the model outputs in the order Run returns them.
func (m *Model) Outputs() ([]IO, error) { return m.io(false) }

func (m *Model) io(in bool) ([]IO, error) {
	if m.Graph == nil {
		return nil, m.graphErr()
	}
	var r []IO
	if m.Format == FormatVGF {
		slots, names, bs := m.VGF.Sequence.Outputs, m.VGF.Sequence.OutputNames, m.Decoded.Outputs
		if in {
			slots, names, bs = m.VGF.Sequence.Inputs, m.VGF.Sequence.InputNames, m.Decoded.Inputs
		}
		for i, s := range slots {
			var b *spirv.Binding
			for k := range bs {
				if bs[k].Binding == s.Binding && bs[k].DescriptorSet == 0 {
					b = &bs[k]
				}
			}
			if b == nil {
				return nil, fmt.Errorf("model %s %d: binding %d is not in the graph interface", kind(in), i, s.Binding)
			}
			name := b.Name
			if len(names) == len(slots) && names[i] != "" {
				name = names[i]
			}
			r = append(r, IO{Name: name, Type: b.Type, Shape: b.Shape, Binding: s.Binding})
		}
		return r, nil
	}
	names := m.Graph.Outputs
	if in {
		names = m.Graph.Inputs
	}
	for _, n := range names {
		t := m.Graph.Tensor(n)
		if t == nil {
			return nil, fmt.Errorf("graph %s %q is not a tensor of the graph", kind(in), n)
		}
		r = append(r, IO{Name: n, Type: t.Type, Shape: t.Shape})
	}
	return r, nil
}

func kind(in bool) string {
	if in {
		return "input"
	}
	return "output"
}

func (m *Model) graphErr() error {
	if m.GraphErr != nil {
		return fmt.Errorf("%s: the VGF's graph cannot be read: %v", m.Path, m.GraphErr)
	}
	return fmt.Errorf("%s: no graph", m.Path)
}

// Run executes the model with the TOSA reference interpreter. inputs are in Inputs() order and
// must have their types and shapes; the outputs are returned in Outputs() order.
func Run(m *Model, inputs []*tosa.Tensor) (outs []*tosa.Tensor, err error) {
	if m.Graph == nil {
		return nil, m.graphErr()
	}
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("%s: internal error running the graph: %v", m.Path, r)
		}
	}()
	if err := m.Graph.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid graph: %v", m.Path, err)
	}
	ios, err := m.Inputs()
	if err != nil {
		return nil, err
	}
	if len(inputs) != len(ios) {
		return nil, fmt.Errorf("%s: %d inputs given, the model has %d", m.Path, len(inputs), len(ios))
	}
	for i, io := range ios {
		t := inputs[i]
		if t == nil || t.Type != io.Type || !slices.Equal(t.Shape, io.Shape) || len(t.Data) != io.Type.DataSize(tosa.NumElements(io.Shape)) {
			got := "nothing"
			if t != nil {
				got = fmt.Sprintf("%s%v", t.Type, t.Shape)
			}
			return nil, fmt.Errorf("%s: input %d %q must be %s%v, got %s", m.Path, i, io.Name, io.Type, io.Shape, got)
		}
	}
	if m.Format == FormatVGF {
		outs, err = export.RunDecoded(m.VGF, m.Decoded, inputs)
	} else {
		outs, err = export.RunTOSA(m.Graph, inputs)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", m.Path, err)
	}
	return outs, nil
}

// RunFile loads path and runs it (see Run).
func RunFile(path string, inputs []*tosa.Tensor) ([]*tosa.Tensor, error) {
	m, err := Load(path)
	if err != nil {
		return nil, err
	}
	return Run(m, inputs)
}

// ErrNotVGF is returned by the VGF-only renderings for a .tosa file.
var ErrNotVGF = errors.New("not a .vgf file")

// VGFDump returns exactly what Arm's `vgf_dump -i FILE` prints.
func (m *Model) VGFDump() ([]byte, error) {
	if m.VGF == nil {
		return nil, fmt.Errorf("%s: --vgf-dump: %w", m.Path, ErrNotVGF)
	}
	return vgf.DumpJSON(m.VGF)
}

// ScenarioTemplate returns exactly what `vgf_dump -i FILE --scenario-template` prints.
func (m *Model) ScenarioTemplate(addBoundaries bool) ([]byte, error) {
	if m.VGF == nil {
		return nil, fmt.Errorf("%s: --scenario-template: %w", m.Path, ErrNotVGF)
	}
	return vgf.ScenarioTemplate(m.VGF, addBoundaries)
}
