package graph_test

import (
	"math"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// identity is a hook that changes nothing but, being a hook, turns off the fused
// convolution + ReLU and the in-place ReLU: the reference path.
func identity(_ *graph.Node, v *engine.Var) *engine.Var { return v }

// TestFusedConvReLU: the fused convolution + ReLU (and the ReLU over a convolution's storage)
// give bit-identical outputs and parameter gradients to the separate operations.
func TestFusedConvReLU(t *testing.T) {
	for _, name := range []string{"upscaler", "espcn"} {
		x := engine.New(2, 3, 8, 8)
		for i := range x.Data {
			x.Data[i] = float32(math.Sin(float64(i)))
		}
		run := func(hook graph.Hook, grads bool) ([]float32, map[string][]float32) {
			g, err := zoo.Build(name, 8, 8, 1)
			if err != nil {
				t.Fatal(err)
			}
			ex := graph.NewExec(g, grads)
			outs, err := ex.Run(map[string]*engine.Var{g.Inputs()[0].Name: engine.Const(x)}, hook)
			if err != nil {
				t.Fatal(err)
			}
			y := outs[0]
			vals := append([]float32(nil), y.Val.Data...)
			grads2 := map[string][]float32{}
			if grads {
				target := engine.New(y.Val.Shape...)
				engine.MSELoss(y, engine.Const(target)).Backward()
				for pn, v := range ex.Vars {
					if v.Grad != nil {
						grads2[pn] = v.Grad.Data
					}
				}
			}
			return vals, grads2
		}
		for _, grads := range []bool{false, true} {
			got, gg := run(nil, grads)
			want, wg := run(identity, grads)
			for i, v := range want {
				if math.Float32bits(got[i]) != math.Float32bits(v) {
					t.Fatalf("%s (grads %v): output %d: %v, want %v", name, grads, i, got[i], v)
				}
			}
			if len(gg) != len(wg) {
				t.Fatalf("%s: %d gradients, want %d", name, len(gg), len(wg))
			}
			for pn, w := range wg {
				for i, v := range w {
					if math.Float32bits(gg[pn][i]) != math.Float32bits(v) {
						t.Fatalf("%s: grad %s[%d]: %v, want %v", name, pn, i, gg[pn][i], v)
					}
				}
			}
		}
	}
}
