package inspect

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/export/exporttest"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/tosa"
)

// fixtures holds Arm's VGF fixtures (internal/testdata/fixtures/README.md).
const fixtures = "../internal/testdata/fixtures/vgf"

func fixtureDir(t *testing.T) string {
	if _, err := os.Stat(fixtures); err != nil {
		t.Fatalf("VGF fixtures missing: %v", err)
	}
	return fixtures
}

// TestFixtureDumps: --vgf-dump and --scenario-template reproduce Arm's vgf_dump output byte for
// byte on every fixture that has one.
func TestFixtureDumps(t *testing.T) {
	dir := fixtureDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.vgf"))
	more, _ := filepath.Glob(filepath.Join(dir, "corpus", "*.vgf"))
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, p := range files {
		m, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(p, ".vgf")
		want, err := os.ReadFile(base + ".dump.json")
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.VGFDump()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: vgf dump differs (err %v)", p, err)
		}
		if want, err := os.ReadFile(base + ".scenario.json"); err == nil {
			got, err := m.ScenarioTemplate(false)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: scenario template differs (err %v)", p, err)
			}
		}
		if want, err := os.ReadFile(base + ".scenario_boundaries.json"); err == nil {
			got, err := m.ScenarioTemplate(true)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: scenario template with boundaries differs (err %v)", p, err)
			}
		}
		// The fixtures' SPIR-V is a stand-in: the container is summarised, the graph error shown.
		var b bytes.Buffer
		if err := m.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if m.Graph == nil && !strings.Contains(b.String(), "graph: cannot be read") {
			t.Errorf("%s: summary does not explain the missing graph", p)
		}
		if _, err := m.JSON(); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(m, nil); err == nil {
			t.Errorf("%s: Run of a stand-in module succeeded", p)
		}
	}
}

// TestRunVGFAndTOSA: the exported .vgf and the .tosa of the same lowered graph, loaded by magic
// bytes (misleading extensions), give bit-identical outputs equal to ref.Run of the graph.
func TestRunVGFAndTOSA(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		res := exporttest.Lowered(t, name, 8, 8, lower.NHWC, 4)
		dir := t.TempDir()
		if _, err := export.WriteVGF(res, dir, export.Options{DebugInfo: name == "espcn"}); err != nil {
			t.Fatal(err)
		}
		tb, err := tosa.Encode(res.Graph)
		if err != nil {
			t.Fatal(err)
		}
		tp := filepath.Join(dir, "model.bin") // extension says nothing
		os.WriteFile(tp, tb, 0o644)
		vp := filepath.Join(dir, "model.tosa.copy")
		vb, _ := os.ReadFile(filepath.Join(dir, export.VGFFile))
		os.WriteFile(vp, vb, 0o644)
		mv, err := Load(vp)
		if err != nil {
			t.Fatal(err)
		}
		mt, err := Load(tp)
		if err != nil {
			t.Fatal(err)
		}
		if mv.Format != FormatVGF || mt.Format != FormatTOSA {
			t.Fatalf("formats %s %s", mv.Format, mt.Format)
		}
		for seed := uint64(1); seed <= 3; seed++ {
			ins := exporttest.RandomInputs(res, seed)
			want, err := export.RunTOSA(res.Graph, ins)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*Model{mv, mt} {
				got, err := Run(m, ins)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || !bytes.Equal(got[0].Data, want[0].Data) {
					t.Fatalf("%s %s seed %d: output differs from the TOSA graph's", name, m.Format, seed)
				}
			}
		}
		// Summaries.
		for _, m := range []*Model{mv, mt, FromLowered(res)} {
			var b bytes.Buffer
			if err := m.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			s := b.String()
			for _, want := range []string{"CONV2D", "RESCALE: ", "TRANSPOSE: ", "multiplier", "input_zp"} {
				if !strings.Contains(s, want) {
					t.Errorf("%s %s: summary lacks %q:\n%s", name, m.Path, want, s)
				}
			}
			sum := m.Summarize()
			known := m.OriginFrom != ""
			if name == "upscaler" && m.Format == FormatVGF && known {
				t.Errorf("origin known without debug names")
			}
			for _, r := range sum.Graph.Rescales {
				if known && r.Source == "" {
					t.Errorf("%s: RESCALE #%d without source", m.Path, r.Index)
				}
			}
			if m.OriginFrom == "lowering" || m.Format == FormatTOSA {
				for i, r := range sum.Graph.Rescales {
					if r.Source != res.Origin[r.Index] {
						t.Errorf("rescale %d: source %q, lowering says %q", i, r.Source, res.Origin[r.Index])
					}
				}
			}
			dot, err := m.DOT()
			if err != nil || !strings.HasPrefix(dot, "digraph") || !strings.Contains(dot, "->") {
				t.Errorf("DOT: %v", err)
			}
			svg, err := m.SVG()
			if err != nil {
				t.Fatal(err)
			}
			if err := xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })); err != nil {
				t.Errorf("SVG is not well-formed XML: %v", err)
			}
		}
		if s := mv.Summarize(); s.VGF == nil || len(s.VGF.Constants) == 0 || s.VGF.Constants[0].Bytes == 0 {
			t.Errorf("VGF summary lacks constants")
		}
	}
}

// TestNCHWOrigins: with NCHW I/O the lowering adds TRANSPOSEs; inspect counts them and names
// their source nodes (from the lowering, from .tosa names and from VGF debug names).
func TestNCHWOrigins(t *testing.T) {
	res := exporttest.Lowered(t, "upscaler", 8, 8, lower.NCHW, 2)
	dir := t.TempDir()
	if _, err := export.WriteVGF(res, dir, export.Options{DebugInfo: true}); err != nil {
		t.Fatal(err)
	}
	mv, err := Load(filepath.Join(dir, export.VGFFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Model{FromLowered(res), mv} {
		s := m.Summarize().Graph
		if len(s.Transposes) != 2 {
			t.Fatalf("%d transposes", len(s.Transposes))
		}
		if s.Transposes[0].Source != "x" || s.Transposes[1].Source != "conv3" {
			t.Errorf("%s: transposes from %q, %q", m.Path, s.Transposes[0].Source, s.Transposes[1].Source)
		}
	}
}

// TestHostile: corrupt files give errors naming the file, never panics.
func TestHostile(t *testing.T) {
	res := exporttest.Lowered(t, "upscaler", 8, 8, lower.NHWC, 4)
	m, err := export.BuildVGF(res.Graph, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := mustEncode(t, m)
	tb, _ := tosa.Encode(res.Graph)
	mod := func(b []byte, f func([]byte)) []byte { c := append([]byte{}, b...); f(c); return c }
	cases := map[string][]byte{
		"empty":          {},
		"text":           []byte("hello world, not a model"),
		"vgf truncated":  good[:200],
		"vgf header":     good[:100],
		"vgf version 05": mod(good, func(c []byte) { c[9] = 5 }),
		"vgf offset":     mod(good, func(c []byte) { binary.LittleEndian.PutUint64(c[16:], 1<<40) }),
		"vgf size":       mod(good, func(c []byte) { binary.LittleEndian.PutUint64(c[72:], 1<<40) }),
		"tosa truncated": tb[:len(tb)/2],
		"tosa garbage":   mod(tb, func(c []byte) { copy(c[8:], bytes.Repeat([]byte{0xff}, 64)) }),
	}
	// Corrupt the SPIR-V inside an otherwise valid VGF: the container loads, Run refuses.
	spv := mod(good, func(c []byte) {
		i := bytes.Index(c, []byte{0x03, 0x02, 0x23, 0x07})
		c[i+22], c[i+23] = 0xff, 0xff // first instruction's word count
	})
	dir := t.TempDir()
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, data, 0o644)
		m, err := Load(p)
		if err == nil {
			if _, err = Run(m, exporttest.RandomInputs(res, 1)); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
	p := filepath.Join(dir, "spv")
	os.WriteFile(p, spv, 0o644)
	if m, err := Load(p); err == nil {
		if _, err := Run(m, exporttest.RandomInputs(res, 1)); err == nil {
			t.Errorf("corrupt SPIR-V ran")
		}
	}
	// Wrong input shape.
	os.WriteFile(p, good, 0o644)
	mg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	bad := &tosa.Tensor{Type: tosa.Int8, Shape: []int{1, 2, 2, 3}, Data: make([]byte, 12)}
	if _, err := Run(mg, []*tosa.Tensor{bad}); err == nil || !strings.Contains(err.Error(), "must be") {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := Load(dir); err == nil {
		t.Errorf("directory loaded")
	}
}

func mustEncode(t *testing.T, m *export.Model) []byte {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.vgf")
	if err := m.File.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	return b
}

func FuzzParse(f *testing.F) {
	res := exporttest.Lowered(f, "upscaler", 4, 4, lower.NHWC, 4)
	m, err := export.BuildVGF(res.Graph, export.Options{DebugInfo: true})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	p := filepath.Join(dir, "m.vgf")
	m.File.WriteFile(p)
	b, _ := os.ReadFile(p)
	f.Add(b)
	tb, _ := tosa.Encode(res.Graph)
	f.Add(tb)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		m.Summarize()
		m.DOT()
		m.SVG()
		m.Inputs()
		m.Outputs()
		// Run is not fuzzed here: tosa/ref has its own FuzzRun, and a mutated graph may
		// legitimately take long to interpret.
	})
}
