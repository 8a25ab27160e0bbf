package vgf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureDir holds Arm's VGF fixtures (internal/testdata/fixtures/README.md says where they come
// from); a missing folder is a test failure.
const fixtureDir = "../internal/testdata/fixtures/vgf"

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.vgf", "corpus/*.vgf"} {
		m, err := filepath.Glob(filepath.Join(fixtureDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no VGF fixtures found in %s (the shared fixtures are required)", fixtureDir)
	}
	return files
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func is043(data []byte) bool { return data[8] == 0 && data[9] == 4 && data[10] == 3 }

// updatedCounterpart names the 0.4.3 file vgf_updater makes from a 0.3 fixture.
var updatedCounterpart = map[string]string{
	"single_maxpool_graph_pre_v0_4_0.vgf":      "single_maxpool_graph_v0_4_3.vgf",
	"simple_conv2d_rescale_graph_outdated.vgf": "simple_conv2d_rescale_graph_v0_4_3.vgf",
}

func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("first difference at byte %d (0x%x): got %02x want %02x; lengths %d/%d", i, i, a[i], b[i], len(a), len(b))
		}
	}
	return fmt.Sprintf("lengths differ: got %d want %d", len(a), len(b))
}

func TestFixturesDecodeAndReencode(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, path)
			f, err := Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			enc, err := Encode(f)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			g, err := Decode(enc)
			if err != nil {
				t.Fatalf("decode re-encoded: %v", err)
			}
			g.Version = f.Version
			if !reflect.DeepEqual(f, g) {
				t.Errorf("re-encoded content differs:\n got %+v\nwant %+v", g, f)
			}
			want := data
			if !is043(data) {
				c, ok := updatedCounterpart[name]
				if !ok {
					return
				}
				want = readFixture(t, filepath.Join(filepath.Dir(path), c))
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("re-encoding is not byte-identical: %s", firstDiff(enc, want))
			}
			enc2, _ := Encode(f)
			if !bytes.Equal(enc, enc2) {
				t.Error("encoding is not deterministic")
			}
		})
	}
}

var _ = strings.TrimSuffix

func TestFixturesDumpAndScenario(t *testing.T) {
	checked := map[string]int{}
	for _, path := range fixtureFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(path, ".vgf")
			got, err := DumpJSON(f)
			if err != nil {
				t.Fatalf("DumpJSON: %v", err)
			}
			want := readFixture(t, base+".dump.json")
			if !bytes.Equal(got, want) {
				t.Errorf("DumpJSON differs from %s.dump.json: %s", base, firstDiff(got, want))
			}
			checked["dump"]++
			for _, c := range []struct {
				suffix     string
				boundaries bool
			}{{".scenario.json", false}, {".scenario_boundaries.json", true}} {
				want, err := os.ReadFile(base + c.suffix)
				if os.IsNotExist(err) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := ScenarioTemplate(f, c.boundaries)
				if err != nil {
					t.Fatalf("ScenarioTemplate(%v): %v", c.boundaries, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("ScenarioTemplate differs from %s%s: %s\n%s", base, c.suffix, firstDiff(got, want), got)
				}
				checked[c.suffix]++
			}
		})
	}
	t.Logf("checked: %v", checked)
	if checked["dump"] != 8 || checked[".scenario.json"] != 7 || checked[".scenario_boundaries.json"] != 1 {
		t.Errorf("unexpected fixture coverage %v (want 8 dumps, 7 scenarios, 1 with boundaries)", checked)
	}
}

func TestKitchenSinkScenarioRejectsImages(t *testing.T) {
	f, err := ReadFile(filepath.Join(fixtureDir, "corpus/kitchen_sink.vgf"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ScenarioTemplate(f, false)
	if err == nil || !strings.Contains(err.Error(), "Not implemented descriptor type support VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER for input resource") {
		t.Fatalf("got %v, want the image input rejected", err)
	}
}

func TestWriteFileAndReadFile(t *testing.T) {
	data := readFixture(t, filepath.Join(fixtureDir, "corpus/graph_constants.vgf"))
	f, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.vgf")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if got := readFixture(t, path); !bytes.Equal(got, data) {
		t.Fatalf("WriteFile output differs: %s", firstDiff(got, data))
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Filename != path {
		t.Errorf("Filename = %q, want %q", g.Filename, path)
	}
	// An invalid file is not written and leaves the old one in place.
	f.Constants[0].Data = nil
	if err := f.WriteFile(path); err == nil {
		t.Fatal("WriteFile accepted an invalid file")
	}
	if got := readFixture(t, path); !bytes.Equal(got, data) {
		t.Fatal("failed WriteFile modified the existing file")
	}
}

// TestEncodeHandBuilt builds a small graph model the way vgfq's exporter does
// and checks the encoder's output decodes to the same content and dumps.
func TestEncodeHandBuilt(t *testing.T) {
	f := &File{
		Modules: []Module{{Type: ModuleGraph, Name: "g", EntryPoint: "main", CodeType: CodeSPIRV, Code: []uint32{0x07230203, 0x00010600}}},
		Resources: []Resource{
			{Category: CategoryInput, VkDescriptorType: DescriptorTypeTensorARM, VkFormat: FormatR8Sint, Shape: []int64{1, 4, 4, 1}},
			{Category: CategoryOutput, VkDescriptorType: DescriptorTypeTensorARM, VkFormat: FormatR8Sint, Shape: []int64{1, 8, 8, 1}},
			{Category: CategoryConstant, VkDescriptorType: DescriptorTypeNone, VkFormat: FormatR8Sint, Shape: []int64{3}},
		},
		Sequence: Sequence{
			Segments: []Segment{{
				Type: ModuleGraph, Name: "graph_segment_0",
				SetInfos:      []DescriptorSetInfo{{SetIndex: SetIndexUnset, Bindings: []BindingSlot{{0, 0}, {1, 1}}}},
				Inputs:        []BindingSlot{{0, 0}},
				Outputs:       []BindingSlot{{1, 1}},
				Constants:     []uint32{0},
				DispatchShape: []uint32{0, 0, 0},
			}},
			Inputs: []BindingSlot{{0, 0}}, Outputs: []BindingSlot{{1, 1}},
			InputNames: []string{"input"}, OutputNames: []string{"output"},
		},
		Constants: []Constant{DenseConstant(2, []byte{1, 2, 3})},
	}
	enc, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc)%8 != 0 {
		t.Errorf("file size %d is not a multiple of 8", len(enc))
	}
	g, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	f.Version = Version{0, 4, 3}
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("decoded content differs:\n got %+v\nwant %+v", g, f)
	}
	if _, err := DumpJSON(g); err != nil {
		t.Fatal(err)
	}
	g.Filename = "out/model.vgf"
	s, err := ScenarioTemplate(g, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s), `"src": "model.vgf"`) || !strings.Contains(string(s), `"src": "TEMPLATE_PATH_TENSOR_INPUT_0"`) {
		t.Errorf("unexpected scenario:\n%s", s)
	}
	// A nil dispatch shape is written as absent and stays absent.
	f.Sequence.Segments[0].DispatchShape = nil
	enc, err = Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if g, err = Decode(enc); err != nil || g.Sequence.Segments[0].DispatchShape != nil {
		t.Fatalf("dispatch shape after round trip: %v, %v", g.Sequence.Segments[0].DispatchShape, err)
	}
}

func TestFixturesMissingIsFailure(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Fatalf("shared VGF fixtures missing at %s: %v", fixtureDir, err)
	}
}
