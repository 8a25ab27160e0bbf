package onnx

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

var corpusModels = []string{"upscaler", "espcn", "fsrcnn", "unet", "bnnet", "actnet", "mobile", "prelunet", "senet"}

func readNPY(t testing.TB, path string) *engine.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var data []float32
	if err := r.Read(&data); err != nil {
		t.Fatal(err)
	}
	return engine.FromData(data, r.Header.Descr.Shape...)
}

// maxRelErr is max |a-b| / max|b| (the error relative to the output's scale).
func maxRelErr(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

func runFloat(t testing.TB, g *graph.Graph, x *engine.Tensor) *engine.Tensor {
	t.Helper()
	y, err := graph.NewExec(g, false).Forward(engine.Const(x))
	if err != nil {
		t.Fatal(err)
	}
	return y.Val
}

// TestCorpusFloat imports every corpus model at opsets 13 and 17 and compares its FP32 output
// with PyTorch's (tools/golden/onnx_gen.py).
func TestCorpusFloat(t *testing.T) {
	for _, name := range corpusModels {
		for _, opset := range []int{13, 17} {
			t.Run(fmt.Sprintf("%s_op%d", name, opset), func(t *testing.T) {
				m, err := Load(filepath.Join("testdata/corpus", fmt.Sprintf("%s_op%d.onnx", name, opset)), Options{})
				if err != nil {
					t.Fatal(err)
				}
				x := readNPY(t, filepath.Join("testdata/corpus", name+".in.npy"))
				want := readNPY(t, filepath.Join("testdata/corpus", name+".out.npy"))
				got := runFloat(t, m.Graph, x)
				if !engine.SameShape(got.Shape, want.Shape) {
					t.Fatalf("output %v, want %v", got.Shape, want.Shape)
				}
				e := maxRelErr(got.Data, want.Data)
				t.Logf("%s: max rel error %.3g (%d nodes)", m.Graph.Name, e, len(m.Graph.Nodes))
				if e > 1e-5 {
					t.Errorf("max relative error %.3g > 1e-5\n%s", e, m.Graph)
				}
				// Any batch size runs (training batches): two copies give the same outputs.
				x2 := engine.New(append([]int{2}, x.Shape[1:]...)...)
				copy(x2.Data, x.Data)
				copy(x2.Data[len(x.Data):], x.Data)
				y2 := runFloat(t, m.Graph, x2)
				for i, v := range got.Data {
					if y2.Data[i] != v || y2.Data[len(got.Data)+i] != v {
						t.Fatalf("batch of 2: output %d differs from batch 1", i)
					}
				}
			})
		}
	}
}
