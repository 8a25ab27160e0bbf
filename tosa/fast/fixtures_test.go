package fast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
)

// fixturesDir is shared/fixtures/tosa relative to the repository root; the test fails (not
// skips) when it is missing.
func fixturesDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // .../main
	dir := filepath.Join(root, "..", "shared", "fixtures", "tosa")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("TOSA fixtures missing (%v); they are required", err)
	}
	return dir
}

type caseJSON struct {
	Op         string   `json:"op"`
	InputName  string   `json:"input_name"`
	OutputName string   `json:"output_name"`
	Inputs     []string `json:"inputs"`
	Outputs    []string `json:"outputs"`
	GraphOps   []string `json:"graph_ops"`
}

func fixtureCases(t testing.TB) []string {
	var r []string
	err := filepath.WalkDir(fixturesDir(t), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "case.json" {
			r = append(r, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r) == 0 {
		t.Fatal("no fixture cases found")
	}
	sort.Strings(r)
	return r
}

// readNpy reads an int8 or int32 .npy file as a tensor.
func readNpy(path, name string) (*tosa.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Header.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran order not supported", path)
	}
	t := &tosa.Tensor{Name: name, Shape: append([]int{}, r.Header.Descr.Shape...)}
	switch strings.Trim(r.Header.Descr.Type, "'\"") {
	case "|i1", "<i1", "i1":
		var v []int8
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int8, tosa.Int8Data(v)
	case "<i4":
		var v []int32
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int32, tosa.Int32Data(v)
	default:
		return nil, fmt.Errorf("%s: unsupported dtype %q", path, r.Header.Descr.Type)
	}
	return t, nil
}

type fixture struct {
	dir, name string
	c         caseJSON
	g         *tosa.Graph
}

func loadFixture(t testing.TB, root, dir string) *fixture {
	rel, _ := filepath.Rel(root, dir)
	fx := &fixture{dir: dir, name: rel}
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx.c); err != nil {
		t.Fatalf("%s: case.json: %v", rel, err)
	}
	m, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
	if err != nil {
		t.Fatal(err)
	}
	if fx.g, err = tosa.Decode(m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return fx
}

func sameTensor(a, b *tosa.Tensor) bool {
	return a != nil && b != nil && a.Type == b.Type && slices.Equal(a.Shape, b.Shape) && bytes.Equal(a.Data, b.Data)
}

// TestFixtures runs every conformance case: Run and RunInt8 must reproduce expected_k.npy and
// ref.Run bit for bit.
func TestFixtures(t *testing.T) {
	root := fixturesDir(t)
	cases := fixtureCases(t)
	groups := map[string]bool{}
	for _, dir := range cases {
		fx := loadFixture(t, root, dir)
		groups[strings.Split(fx.name, string(filepath.Separator))[0]] = true
		t.Run(fx.name, func(t *testing.T) {
			p, err := Compile(fx.g)
			if err != nil {
				t.Fatal(err)
			}
			if len(fx.c.Inputs) == 0 || len(fx.c.Inputs) != len(fx.c.Outputs) {
				t.Fatalf("case.json lists %d inputs and %d outputs", len(fx.c.Inputs), len(fx.c.Outputs))
			}
			for k := range fx.c.Inputs {
				in, err := readNpy(filepath.Join(fx.dir, fx.c.Inputs[k]), fx.c.InputName)
				if err != nil {
					t.Fatal(err)
				}
				want, err := readNpy(filepath.Join(fx.dir, fx.c.Outputs[k]), fx.c.OutputName)
				if err != nil {
					t.Fatal(err)
				}
				inputs := map[string]*tosa.Tensor{fx.c.InputName: in}
				got, err := p.Run(inputs)
				if err != nil {
					t.Fatalf("input %d: %v", k, err)
				}
				if !sameTensor(got[fx.c.OutputName], want) {
					t.Errorf("input %d: output differs from %s", k, fx.c.Outputs[k])
				}
				rr, err := ref.Run(fx.g, inputs)
				if err != nil {
					t.Fatalf("ref: %v", err)
				}
				if !sameTensor(got[fx.c.OutputName], rr[fx.c.OutputName]) {
					t.Errorf("input %d: output differs from ref.Run", k)
				}
				if in.Type == tosa.Int8 && want.Type == tosa.Int8 {
					x, _ := in.Int8s()
					y := make([]int8, want.NumElements())
					if err := p.RunInt8(x, y); err != nil {
						t.Fatalf("RunInt8: %v", err)
					}
					if !bytes.Equal(tosa.Int8Data(y), want.Data) {
						t.Errorf("input %d: RunInt8 output differs from %s", k, fx.c.Outputs[k])
					}
				}
			}
			// every operator named in the README's fast list runs fast in these cases
			for op, n := range p.RefOps() {
				switch op {
				case tosa.OpPad, tosa.OpSlice, tosa.OpTransposeConv2D:
				default:
					t.Errorf("%d %v ops run through tosa/ref", n, op)
				}
			}
		})
	}
	for _, g := range []string{"conv2d", "depthwise_conv2d", "rescale", "resize_bilinear", "resize_nearest", "small_upscaler"} {
		if !groups[g] {
			t.Errorf("fixture group %s missing", g)
		}
	}
}
