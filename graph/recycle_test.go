package graph_test

import (
	"math"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// TestRecycleDroppedValues: a run without gradients hands the values no later node reads back
// to the engine's pool; repeated runs with batches of other sizes must give the bits of runs
// that recycle nothing (a hook turns recycling off), values that share memory (reshape views, in-place ReLU, a node's input
// passed through) must survive, and outputs the caller holds must stay intact.
func TestRecycleDroppedValues(t *testing.T) {
	views := func() *graph.Graph {
		b := graph.NewBuilder("views", 3)
		x := b.Input("x", 1, 3, 8, 8)
		c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1})
		r1 := b.ReLU("relu1", c1)
		v := b.Add(&graph.Node{Name: "flat", Op: graph.OpReshape, Inputs: []string{r1}, Attrs: graph.Attrs{Shape: []int{0, -1}}})
		back := b.Add(&graph.Node{Name: "back", Op: graph.OpReshape, Inputs: []string{v}, Attrs: graph.Attrs{Shape: []int{0, 8, 8, 8}}})
		c2 := b.Conv2d("conv2", back, graph.ConvSpec{In: 8, Out: 8, Kernel: 3, Padding: 1})
		s := b.Binary(graph.OpAdd, "skip", c2, r1)
		up := b.Upsample("up", s, 2, "bilinear")
		c3 := b.Conv2d("conv3", up, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1})
		g, err := b.Build(c3, v)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	graphs := map[string]func() *graph.Graph{"views": views}
	for _, name := range []string{"upscaler", "espcn"} {
		graphs[name] = func() *graph.Graph {
			g, err := zoo.Build(name, 8, 8, 1)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
	}
	for name, build := range graphs {
		g := build()
		ex := graph.NewExec(g, false)
		in := g.Inputs()[0].Name
		type heldOut struct {
			v    *engine.Var
			want []float32
		}
		var held []heldOut
		for run := 0; run < 4; run++ {
			x := engine.New([]int{2, 3, 9, 13}[run], 3, 8, 8)
			for i := range x.Data {
				x.Data[i] = float32(math.Sin(float64(i*(run+1)) * 0.37))
			}
			xCopy := append([]float32(nil), x.Data...)
			got, err := ex.Run(map[string]*engine.Var{in: engine.Const(x)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ex.Run(map[string]*engine.Var{in: engine.Const(x)}, identity)
			if err != nil {
				t.Fatal(err)
			}
			for o := range want {
				for i, v := range want[o].Val.Data {
					if math.Float32bits(got[o].Val.Data[i]) != math.Float32bits(v) {
						t.Fatalf("%s run %d output %d: element %d = %v, want %v", name, run, o, i, got[o].Val.Data[i], v)
					}
				}
				held = append(held, heldOut{got[o], append([]float32(nil), got[o].Val.Data...)})
			}
			for i, v := range xCopy {
				if math.Float32bits(x.Data[i]) != math.Float32bits(v) {
					t.Fatalf("%s run %d: the input was modified", name, run)
				}
			}
		}
		for _, h := range held {
			for i, v := range h.want {
				if math.Float32bits(h.v.Val.Data[i]) != math.Float32bits(v) {
					t.Fatalf("%s: output of an earlier run changed at %d", name, i)
				}
			}
		}
	}
}
