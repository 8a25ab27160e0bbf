// Package zoo builds vgfq's reference models as graphs with PyTorch's default initialization.
package zoo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/graph"
)

// Builders maps model names to constructors. h and w are the low-resolution input size (the
// graph's declared input shape is 1 x 3 x h x w; any batch size runs).
var Builders = map[string]func(h, w int, seed uint64) (*graph.Graph, error){
	"upscaler": Upscaler,
	"espcn":    ESPCN,
}

// Names returns the model names, sorted.
func Names() []string {
	var n []string
	for k := range Builders {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Build makes the named model.
func Build(name string, h, w int, seed uint64) (*graph.Graph, error) {
	f, ok := Builders[name]
	if !ok {
		return nil, fmt.Errorf("unknown model %q (available: %s)", name, strings.Join(Names(), ", "))
	}
	return f(h, w, seed)
}

// Upscaler is the tutorial's SmallUpscaler: bilinear 2x (align_corners=False) -> Conv 3->32 k3
// p1 -> ReLU -> Conv 32->32 k3 p1 -> ReLU -> Conv 32->3 k3 p1. Input N x 3 x h x w, output
// N x 3 x 2h x 2w. Parameter names match the PyTorch module's state_dict (conv1.weight, ...).
func Upscaler(h, w int, seed uint64) (*graph.Graph, error) {
	b := graph.NewBuilder("upscaler", seed)
	x := b.Input("x", 1, 3, h, w)
	up := b.Upsample("upsample", x, 2, "bilinear")
	c1 := b.Conv2d("conv1", up, graph.ConvSpec{In: 3, Out: 32, Kernel: 3, Padding: 1})
	r1 := b.ReLU("relu1", c1)
	c2 := b.Conv2d("conv2", r1, graph.ConvSpec{In: 32, Out: 32, Kernel: 3, Padding: 1})
	r2 := b.ReLU("relu2", c2)
	c3 := b.Conv2d("conv3", r2, graph.ConvSpec{In: 32, Out: 3, Kernel: 3, Padding: 1})
	g, err := b.Build(c3)
	if err == nil {
		g.Meta["model"] = "upscaler"
	}
	return g, err
}

// ESPCN is a sub-pixel upscaler (Shi et al. 2016) working at the low resolution: Conv 3->32 k5
// p2 -> ReLU -> Conv 32->32 k3 p1 -> ReLU -> Conv 32->12 k3 p1 -> PixelShuffle(2), plus a global
// residual: the bilinear 2x upsample of the input is added to the output, so the network only
// learns the detail bilinear misses. ReLU (not the paper's tanh) keeps it INT8-friendly.
func ESPCN(h, w int, seed uint64) (*graph.Graph, error) {
	b := graph.NewBuilder("espcn", seed)
	x := b.Input("x", 1, 3, h, w)
	c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 32, Kernel: 5, Padding: 2})
	r1 := b.ReLU("relu1", c1)
	c2 := b.Conv2d("conv2", r1, graph.ConvSpec{In: 32, Out: 32, Kernel: 3, Padding: 1})
	r2 := b.ReLU("relu2", c2)
	c3 := b.Conv2d("conv3", r2, graph.ConvSpec{In: 32, Out: 12, Kernel: 3, Padding: 1})
	ps := b.PixelShuffle("shuffle", c3, 2)
	up := b.Upsample("upsample", x, 2, "bilinear")
	out := b.Binary(graph.OpAdd, "residual", ps, up)
	g, err := b.Build(out)
	if err == nil {
		g.Meta["model"] = "espcn"
	}
	return g, err
}
