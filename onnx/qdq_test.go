package onnx

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/ptq"
)

// TestQDQ imports the model from PyTorch's FX QAT flow, checks that its fake-quant execution
// (the prescribed scales, no calibration) reproduces torch's output, lowers it exactly and
// exports it.
func TestQDQ(t *testing.T) {
	for _, c := range []struct {
		file, data string
		convs      int
	}{{"qdq_op13", "qdq", 3}, {"qdq_op17", "qdq", 3}, {"qdq_unet_op17", "qdq_unet", 3}, {"qdq_convbn_op17", "qdq_convbn", 2}, {"qdq_resscale_op17", "qdq_resscale", 2}} {
		t.Run(c.file, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata/corpus", c.file+".onnx"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.QDQ == nil || m.QDQ.Model == nil {
				t.Fatal("no QDQ quantization imported")
			}
			qm := m.QDQ.Model
			if len(qm.Convs) != c.convs {
				t.Fatalf("%d quantized convs, want %d", len(qm.Convs), c.convs)
			}
			x := readNPY(t, "testdata/corpus/"+c.data+".in.npy")
			want := readNPY(t, "testdata/corpus/"+c.data+".out.npy")
			got, err := qm.FakeQuantPredictor()(x)
			if err != nil {
				t.Fatal(err)
			}
			// torch's fake-quant output is a multiple of the last scale: count the elements
			// that differ by more than float rounding (a conv sum that lands on the other
			// side of a rounding boundary moves by one step).
			q, _ := qm.QParamOf(qm.Graph.Outputs[0])
			steps := 0
			for i := range got.Data {
				d := float64(got.Data[i] - want.Data[i])
				if d < 0 {
					d = -d
				}
				if d > 1.01*float64(q.Scale) {
					t.Fatalf("element %d: %v vs torch %v (more than one quantization step %v)", i, got.Data[i], want.Data[i], q.Scale)
				}
				if d > 1e-6 {
					steps++
				}
			}
			t.Logf("fake-quant vs torch: %d of %d elements one step apart, rest equal", steps, len(got.Data))
			if steps > len(got.Data)/100 {
				t.Errorf("%d elements differ by a step", steps)
			}
			low, err := lower.Lower(qm, lower.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res := &ptq.Result{Graph: qm.Graph, Model: qm, Lowered: low}
			if _, err := res.Export(t.TempDir(), x, false); err != nil {
				t.Fatal(err)
			}
			yq, err := lower.Int8PredictorRef(low, 1)(x)
			if err != nil {
				t.Fatal(err)
			}
			// The INT8 graph computes the integer version of what torch's fake-quant model
			// computes; float rounding in torch's conv sums may move a value by a step.
			diff := 0
			for i := range yq.Data {
				d := float64(yq.Data[i] - want.Data[i])
				if d > 1e-6 || d < -1e-6 {
					diff++
				}
				if d > 1.01*float64(q.Scale) || d < -1.01*float64(q.Scale) {
					t.Fatalf("INT8 element %d = %v, torch fake-quant %v: more than one step", i, yq.Data[i], want.Data[i])
				}
			}
			t.Logf("INT8 graph (TOSA reference interpreter) vs torch's fake-quant output: %d of %d elements differ (by one step)", diff, len(yq.Data))
			if diff > len(yq.Data)/50 {
				t.Errorf("%d elements differ", diff)
			}
		})
	}
}

func TestQDQRefused(t *testing.T) {
	for file, want := range map[string]string{
		"qdq_int16.onnx": "int16",
		"qdq_asym.onnx":  "symmetric",
	} {
		_, err := Load(filepath.Join("testdata/corpus", file), Options{})
		var e *Error
		if !errors.As(err, &e) || e.Node == "" || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want a node error mentioning %q", file, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", file, err)
		}
		t.Logf("%s: %v", file, err)
	}
}
