package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/ptq"
)

// TestResizeReference runs one-node Resize models for every coordinate_transformation_mode and
// nearest_mode vgfq accepts against the outputs of ONNX's reference implementation, and
// DepthToSpace (DCR, CRD) / SpaceToDepth against the operator definitions'
// (tools/golden/onnx_resize_gen.py).
func TestResizeReference(t *testing.T) {
	files, err := filepath.Glob("testdata/resize/*.onnx")
	if err != nil || len(files) < 64 {
		t.Fatalf("%d cases: %v", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".onnx")
		t.Run(name, func(t *testing.T) {
			m, err := Load(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := npz.Open(strings.TrimSuffix(f, ".onnx") + ".npz")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var x, y []float32
			if err := r.Read("x.npy", &x); err != nil {
				t.Fatal(err)
			}
			if err := r.Read("y.npy", &y); err != nil {
				t.Fatal(err)
			}
			in := m.Graph.Inputs()[0].Attrs.Shape
			got, err := graph.NewExec(m.Graph, false).Forward(engine.Const(engine.FromData(x, in...)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Val.Data) != len(y) {
				t.Fatalf("%d outputs, reference %d (%v)", len(got.Val.Data), len(y), got.Shape())
			}
			for i := range y {
				if math.Abs(float64(got.Val.Data[i]-y[i])) > 1e-5*math.Max(1, math.Abs(float64(y[i]))) {
					t.Fatalf("output %d = %v, ONNX reference %v (%s)", i, got.Val.Data[i], y[i], m.Graph.Node(m.Graph.Outputs[0]).Attrs.Mode)
				}
			}
		})
	}
}

// TestResizeCasesLower quantizes every case and checks the INT8 graph against the fake-quant
// model: data movement and nearest sampling pick the same int8 values (exact), linear is within
// one step.
func TestResizeCasesLower(t *testing.T) {
	files, _ := filepath.Glob("testdata/resize/*.onnx")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".onnx")
		t.Run(name, func(t *testing.T) {
			m, err := Load(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := m.Graph.Inputs()[0].Attrs.Shape
			x := engine.New(in...)
			for i := range x.Data {
				x.Data[i] = float32(math.Sin(float64(i)*0.37)*0.5 + 0.5)
			}
			res, err := ptq.Quantize(m.Graph, calibImages(in, x, 4), ptq.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if out := os.Getenv("VGFQ_CORPUS_OUT"); out != "" { // for external checks
				if _, err := res.Export(filepath.Join(out, name), x, false); err != nil {
					t.Fatal(err)
				}
			}
			fq, err := res.Model.FakeQuantPredictor()(x)
			if err != nil {
				t.Fatal(err)
			}
			y, err := lower.Int8PredictorRef(res.Lowered, 1)(x)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := res.Model.QParamOf(res.Graph.Outputs[0])
			limit := 0.01
			if strings.Contains(name, "linear") {
				limit = 1.01
			}
			for i := range y.Data {
				if d := math.Abs(float64(y.Data[i]-fq.Data[i])) / float64(q.Scale); d > limit {
					t.Fatalf("element %d: INT8 %v, fake-quant %v (%.2f steps)", i, y.Data[i], fq.Data[i], d)
				}
			}
		})
	}
}
