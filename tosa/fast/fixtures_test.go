package fast

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/internal/tosatest"
	"github.com/vgfq/vgfq/tosa/ref"
)

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

// The shared fixture readers (tosa/internal/tosatest).
type caseJSON = tosatest.Case

func fixturesDir(t testing.TB) string                 { return tosatest.Dir(t) }
func fixtureCases(t testing.TB) []string              { return tosatest.Cases(t) }
func readNpy(path, name string) (*tosa.Tensor, error) { return tosatest.ReadNPY(path, name) }
