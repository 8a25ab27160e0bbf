package lower

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vgfq/vgfq/graph"
)

// TestResizeModes lowers every resize sampling rule (PyTorch's and ONNX's coordinate
// transforms and nearest roundings) at integer and non-integer ratios and compares the INT8
// graph with the fake-quant model: nearest picks the same element (exact), linear is within a
// step.
func TestResizeModes(t *testing.T) {
	var modes []graph.Attrs
	modes = append(modes, graph.Attrs{Mode: "bilinear"}, graph.Attrs{Mode: "bilinear", AlignCorners: true},
		graph.Attrs{Mode: "nearest"}, graph.Attrs{Mode: "nearest-exact"}, graph.Attrs{Mode: "linear", Coord: "asymmetric"})
	for _, c := range []string{"half_pixel", "asymmetric", "align_corners"} {
		for _, r := range []string{"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"} {
			modes = append(modes, graph.Attrs{Mode: "nearest", Coord: c, Round: r})
		}
	}
	for _, a := range modes {
		for _, size := range [][2]int{{10, 14}, {9, 12}, {3, 5}} {
			name := fmt.Sprintf("%s_%s_%s_align%v_%dx%d", a.Mode, a.Coord, a.Round, a.AlignCorners, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				b := graph.NewBuilder("rs", 1)
				x := b.Input("x", 1, 3, 5, 7)
				at := a
				at.Size = []int{size[0], size[1]}
				r := b.Unary(graph.OpResize, "up", x, at)
				g, err := b.Build(r)
				if err != nil {
					t.Fatal(err)
				}
				m := quantize(t, g, 2)
				res, err := Lower(m, Options{})
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(5, 5))
				in := smooth(rng, 1, 5, 7)
				fq, err := m.FakeQuantPredictor()(in)
				if err != nil {
					t.Fatal(err)
				}
				y, err := Int8PredictorRef(res, 1)(in)
				if err != nil {
					t.Fatal(err)
				}
				q, _ := m.QParamOf("up")
				maxSteps := 0.0
				for i := range y.Data {
					maxSteps = math.Max(maxSteps, math.Abs(float64(y.Data[i]-fq.Data[i]))/float64(q.Scale))
				}
				limit := 1.01
				if a.Mode == "nearest" || a.Mode == "nearest-exact" {
					limit = 0.01
				}
				if maxSteps > limit {
					t.Errorf("INT8 vs fake-quant: %.2f steps", maxSteps)
				}
			})
		}
	}
}

// TestGroupedConv: a grouped (not depthwise) convolution lowers and matches the fake-quant model.
func TestGroupedConv(t *testing.T) {
	for _, groups := range []int{2, 3} {
		b := graph.NewBuilder("grouped", 1)
		x := b.Input("x", 1, 3, 9, 8)
		c0 := b.Conv2d("c0", x, graph.ConvSpec{In: 3, Out: 6, Kernel: 1})
		c := b.Conv2d("conv", c0, graph.ConvSpec{In: 6, Out: 12, Kernel: 3, Padding: 1, Groups: groups})
		g, err := b.Build(c)
		if err != nil {
			t.Fatal(err)
		}
		m := quantize(t, g, 2)
		res, err := Lower(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := smooth(rand.New(rand.NewPCG(3, 3)), 1, 9, 8)
		fq, err := m.FakeQuantPredictor()(in)
		if err != nil {
			t.Fatal(err)
		}
		y, err := Int8PredictorRef(res, 1)(in)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := m.QParamOf("conv")
		for i := range y.Data {
			if d := math.Abs(float64(y.Data[i]-fq.Data[i])) / float64(q.Scale); d > 1.01 {
				t.Fatalf("groups %d: element %d is %.2f steps from fake-quant", groups, i, d)
			}
		}
	}
}
