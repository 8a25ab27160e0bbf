package export

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/vgfq/vgfq/export/exporttest"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/spirv"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/vgf"
)

// TestRoundTrip: lowered graph → model.vgf → decode + spirv.Read → ref.Run equals ref.Run of the
// TOSA graph, bit for bit, on random int8 inputs (upscaler and espcn, both I/O layouts).
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		model  string
		layout lower.Layout
		debug  bool
	}{{"upscaler", lower.NHWC, false}, {"espcn", lower.NHWC, true}, {"upscaler", lower.NCHW, true}, {"espcn", lower.NCHW, false}} {
		t.Run(c.model+"_"+c.layout.String(), func(t *testing.T) {
			res := exporttest.Lowered(t, c.model, 8, 8, c.layout, 3)
			dir := t.TempDir()
			a, err := WriteVGF(res, dir, Options{DebugInfo: c.debug, Inputs: exporttest.RandomInputs(res, 1), Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			f, err := vgf.ReadFile(filepath.Join(dir, VGFFile))
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecodeGraph(f)
			if err != nil {
				t.Fatal(err)
			}
			if d.DebugNames != c.debug {
				t.Errorf("DebugNames = %v, want %v", d.DebugNames, c.debug)
			}
			for seed := uint64(2); seed < 5; seed++ {
				ins := exporttest.RandomInputs(res, seed)
				want, err := RunTOSA(res.Graph, ins)
				if err != nil {
					t.Fatal(err)
				}
				got, err := RunDecoded(f, d, ins)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if !bytes.Equal(got[i].Data, want[i].Data) || !slices.Equal(got[i].Shape, want[i].Shape) {
						t.Fatalf("seed %d: output %d differs", seed, i)
					}
				}
			}
			// Layout checks.
			if len(f.Modules) != 1 || len(f.Sequence.Segments) != 1 || f.Modules[0].Type != vgf.ModuleGraph {
				t.Fatalf("want one GRAPH module and segment")
			}
			nc := len(a.Module.Constants)
			if len(f.Constants) != nc || nc == 0 {
				t.Fatalf("%d constants, module has %d", len(f.Constants), nc)
			}
			for i, k := range f.Constants {
				r := f.Resources[k.ResourceIndex]
				if k.ResourceIndex != uint32(i) || r.Category != vgf.CategoryConstant || r.VkDescriptorType != vgf.DescriptorTypeNone {
					t.Errorf("constant %d: resource %d %+v", i, k.ResourceIndex, r)
				}
			}
			in := f.Resources[f.Sequence.Inputs[0].MRTIndex]
			if in.Category != vgf.CategoryInput || in.VkFormat != vgf.FormatR8Sint || in.VkDescriptorType != vgf.DescriptorTypeTensorARM {
				t.Errorf("input resource %+v", in)
			}
			if f.Sequence.Inputs[0].Binding != 0 || f.Sequence.Outputs[0].Binding != 1 {
				t.Errorf("bindings %+v %+v", f.Sequence.Inputs, f.Sequence.Outputs)
			}
			// Contract and files.
			c2, err := ReadContract(filepath.Join(dir, ContractFile))
			if err != nil {
				t.Fatal(err)
			}
			ci := c2.Inputs[0]
			if ci.Name != res.Inputs[0].Name || ci.Scale != res.Inputs[0].Scale || ci.ZeroPoint != res.Inputs[0].ZP || ci.VkFormat != "VK_FORMAT_R8_SINT" || !strings.EqualFold(ci.Layout, c.layout.String()) {
				t.Errorf("contract input %+v vs %+v", ci, res.Inputs[0])
			}
			if ci.FloatRange[0] != (float32(-128-ci.ZeroPoint))*ci.Scale || ci.InvScale != 1/ci.Scale {
				t.Errorf("float range %v", ci.FloatRange)
			}
			for _, name := range []string{"input.npy", "expected_output.npy"} {
				fh, err := os.Open(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				r, err := npy.NewReader(fh)
				if err != nil {
					t.Fatal(err)
				}
				var v []int8
				if err := r.Read(&v); err != nil {
					t.Fatal(err)
				}
				fh.Close()
				want := a.Inputs[0]
				if name != "input.npy" {
					want = a.Expected[0]
				}
				if !slices.Equal(r.Header.Descr.Shape, want.Shape) || !bytes.Equal(tosa.Int8Data(v), want.Data) {
					t.Errorf("%s: shape %v", name, r.Header.Descr.Shape)
				}
			}
			scen, _ := os.ReadFile(filepath.Join(dir, ScenarioFile))
			for _, s := range []string{`"src": "model.vgf"`, `"src": "input.npy"`, `"dst": "output.npy"`, `"VK_FORMAT_R8_SINT"`} {
				if !bytes.Contains(scen, []byte(s)) {
					t.Errorf("scenario.json lacks %s:\n%s", s, scen)
				}
			}
			if dump := os.Getenv("VGFQ_EXPORT_DUMP_DIR"); dump != "" {
				b, _ := a.Module.Module.Bytes()
				os.WriteFile(filepath.Join(dump, t.Name()[len("TestRoundTrip/"):]+".spv"), b, 0o644)
				os.WriteFile(filepath.Join(dump, t.Name()[len("TestRoundTrip/"):]+".vgf"), a.VGFBytes, 0o644)
			}
		})
	}
}

// TestDeterministic: the same lowered graph and sample input give byte-identical files.
func TestDeterministic(t *testing.T) {
	var prev map[string][]byte
	for run := 0; run < 2; run++ {
		res := exporttest.Lowered(t, "espcn", 8, 8, lower.NHWC, 5)
		dir := t.TempDir()
		a, err := WriteVGF(res, dir, Options{DebugInfo: true, Inputs: exporttest.RandomInputs(res, 9)})
		if err != nil {
			t.Fatal(err)
		}
		cur := map[string][]byte{}
		for _, p := range a.Files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cur[filepath.Base(p)] = b
		}
		if len(cur) != 5 {
			t.Fatalf("files %v", a.Files)
		}
		if prev != nil {
			for k, v := range cur {
				if !bytes.Equal(prev[k], v) {
					t.Errorf("%s differs between runs", k)
				}
			}
		}
		prev = cur
	}
}

func TestModuleValidates(t *testing.T) {
	res := exporttest.Lowered(t, "upscaler", 8, 8, lower.NHWC, 1)
	m, err := BuildVGF(res.Graph, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := spirv.Validate(m.Module.Module); err != nil {
		t.Fatal(err)
	}
}

func TestBadSampleInput(t *testing.T) {
	res := exporttest.Lowered(t, "upscaler", 8, 8, lower.NHWC, 1)
	bad := &tosa.Tensor{Name: "x", Type: tosa.Int8, Shape: []int{1, 4, 4, 3}, Data: make([]byte, 48)}
	if _, err := WriteVGF(res, t.TempDir(), Options{Inputs: []*tosa.Tensor{bad}}); err == nil {
		t.Fatal("no error for a wrongly shaped sample input")
	}
	// Zero-point default input.
	a, err := WriteVGF(res, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := a.Inputs[0].Int8s()
	if v[0] != int8(res.Inputs[0].ZP) {
		t.Fatalf("default input %d, want zero point %d", v[0], res.Inputs[0].ZP)
	}
}

func TestNPYRoundTrip(t *testing.T) {
	x := &tosa.Tensor{Name: "x", Type: tosa.Int8, Shape: []int{1, 2, 3, 4}, Data: make([]byte, 24)}
	for i := range x.Data {
		x.Data[i] = byte(i * 37)
	}
	b, err := EncodeNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ReadNPY("x.npy", b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape, x.Shape) || !bytes.Equal(y.Data, x.Data) || y.Type != tosa.Int8 {
		t.Fatalf("got %v %v", y.Shape, y.Type)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), b[:12], []byte("\x93NUMPY\x01\x00\x20\x00{'descr': '|i1', 'fortran_order': False, 'shape': (1000000000, 1000000000), }")} {
		if _, err := ReadNPY("bad.npy", bad); err == nil {
			t.Errorf("no error for %q", bad[:min(len(bad), 40)])
		}
	}
}
