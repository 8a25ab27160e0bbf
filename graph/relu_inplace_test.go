package graph_test

import (
	"math"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// TestInferenceReLUInPlace: inference (ReLU applied in place on convolution outputs) gives the
// same values as a run that records gradients (no in-place ReLU).
func TestInferenceReLUInPlace(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		g, err := zoo.Build(name, 8, 8, 1)
		if err != nil {
			t.Fatal(err)
		}
		x := engine.New(2, 3, 8, 8)
		for i := range x.Data {
			x.Data[i] = float32(math.Sin(float64(i)))
		}
		inf, err := graph.NewExec(g, false).Forward(engine.Const(x))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := graph.NewExec(g, true).Forward(engine.Const(x))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range tr.Val.Data {
			if math.Float32bits(inf.Val.Data[i]) != math.Float32bits(v) {
				t.Fatalf("%s: element %d: %v, want %v", name, i, inf.Val.Data[i], v)
			}
		}
	}
}
