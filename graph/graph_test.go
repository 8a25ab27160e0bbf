package graph_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

func TestZooShapes(t *testing.T) {
	for _, name := range zoo.Names() {
		g, err := zoo.Build(name, 16, 16, 1)
		if err != nil {
			t.Fatal(err)
		}
		out := g.Node(g.Outputs[0]).Shape
		if !engine.SameShape(out, []int{1, 3, 32, 32}) {
			t.Errorf("%s: output shape %v", name, out)
		}
		x := engine.New(2, 3, 16, 16)
		y, err := graph.NewExec(g, false).Forward(engine.Const(x))
		if err != nil {
			t.Fatal(err)
		}
		if !engine.SameShape(y.Shape(), []int{2, 3, 32, 32}) {
			t.Errorf("%s: run shape %v", name, y.Shape())
		}
	}
}

func TestUpscalerString(t *testing.T) {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := g.String()
	for _, want := range []string{
		"upsample = Resize(x) [mode=bilinear scale=[2 2]] -> 1x3x32x32",
		"conv1 = Conv2d(upsample) [stride=1,1 pad=1,1 dilation=1,1] {weight conv1.weight 32x3x3x3, bias conv1.bias 32} -> 1x32x32x32",
		"conv3 = Conv2d(relu2)",
		"return conv3",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	// 3*32*9+32 + 32*32*9+32 + 32*3*9+3
	if n := g.NumParams(); n != 896+9248+867 {
		t.Errorf("NumParams = %d", n)
	}
}

func TestInitBounds(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 7)
	// PyTorch default init: |w|, |b| <= 1/sqrt(fan_in), fan_in = in*k*k.
	for name, fanIn := range map[string]int{"conv1": 27, "conv2": 288, "conv3": 288} {
		bound := float32(1 / sqrt(float64(fanIn)))
		for _, p := range []string{".weight", ".bias"} {
			for _, v := range g.Params[name+p].Data {
				if v < -bound || v > bound {
					t.Fatalf("%s%s value %v outside ±%v", name, p, v, bound)
				}
			}
		}
	}
	g2, _ := zoo.Upscaler(16, 16, 7)
	g3, _ := zoo.Upscaler(16, 16, 8)
	if !equalData(g.Params["conv2.weight"], g2.Params["conv2.weight"]) {
		t.Error("same seed gave different weights")
	}
	if equalData(g.Params["conv2.weight"], g3.Params["conv2.weight"]) {
		t.Error("different seeds gave the same weights")
	}
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 60; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func equalData(a, b *engine.Tensor) bool {
	if len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			return false
		}
	}
	return true
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	for _, name := range zoo.Names() {
		g, _ := zoo.Build(name, 16, 16, 3)
		if err := g.Save(dir); err != nil {
			t.Fatal(err)
		}
		h, err := graph.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if g.String() != h.String() {
			t.Errorf("%s: graph changed:\n%s\nvs\n%s", name, g, h)
		}
		for k, v := range g.Params {
			if !equalData(v, h.Params[k]) {
				t.Errorf("%s: param %s changed", name, k)
			}
		}
		// Deterministic bytes.
		a, _ := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
		if err := h.Save(dir); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: weights not byte-identical after round trip", name)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("temp files left behind: %v", ents)
	}
}

func TestLoadErrors(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	dir := filepath.Join(t.TempDir(), "m")
	if err := g.Save(dir); err != nil {
		t.Fatal(err)
	}
	gj, _ := os.ReadFile(filepath.Join(dir, graph.GraphFile))
	wj, _ := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
	cases := map[string]struct {
		g, w []byte
		want string
	}{
		"truncated weights": {gj, wj[:len(wj)/2], "weights.safetensors"},
		"empty weights":     {gj, nil, "weights.safetensors"},
		"corrupt graph":     {gj[:10], wj, "graph.json: corrupt graph"},
		"unknown op":        {bytes.Replace(gj, []byte(`"ReLU"`), []byte(`"Gelu"`), 1), wj, `node "relu1" (Gelu): unknown op`},
		"bad input ref": {bytes.Replace(gj, []byte(`"relu1"
      ]`), []byte(`"nope"
      ]`), 1), wj, `input "nope"`},
		"wrong version": {bytes.Replace(gj, []byte(`"vgfq_graph_format": 1`), []byte(`"vgfq_graph_format": 9`), 1), wj, "format 9"},
	}
	for name, c := range cases {
		_, err := graph.Decode(c.g, c.w, "graph.json", "weights.safetensors")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
	if _, err := graph.Load(t.TempDir()); !errors.Is(err, graph.ErrNotModel) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestShapeErrors(t *testing.T) {
	b := graph.NewBuilder("bad", 1)
	x := b.Input("x", 1, 3, 8, 8)
	c := b.Conv2d("c", x, graph.ConvSpec{In: 4, Out: 8, Kernel: 3, Padding: 1}) // wrong in-channels
	_, err := b.Build(c)
	var ne *graph.NodeError
	if !errors.As(err, &ne) || ne.Node != "c" {
		t.Fatalf("want a NodeError naming c, got %v", err)
	}
	b = graph.NewBuilder("bad2", 1)
	x = b.Input("x", 1, 3, 8, 8)
	y := b.Input("y", 1, 4, 8, 8)
	s := b.Binary(graph.OpAdd, "s", x, y)
	if _, err := b.Build(s); err == nil || !strings.Contains(err.Error(), `"s"`) {
		t.Fatalf("broadcast error: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	g, _ := zoo.ESPCN(8, 8, 1)
	dir := filepath.Join(f.TempDir(), "m")
	if err := g.Save(dir); err != nil {
		f.Fatal(err)
	}
	gj, _ := os.ReadFile(filepath.Join(dir, graph.GraphFile))
	wj, _ := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
	f.Add(gj, wj)
	f.Add(gj[:50], wj[:100])
	f.Add([]byte("{}"), []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, gjs, w []byte) {
		g, err := graph.Decode(gjs, w, "graph.json", "weights.safetensors")
		if err == nil {
			// A decoded graph must be runnable on its declared input shape.
			in := g.Inputs()
			if len(in) != 1 || engine.NumElems(in[0].Attrs.Shape) > 1<<16 {
				return
			}
			for _, n := range g.Nodes {
				if engine.NumElems(n.Shape) > 1<<20 {
					return
				}
			}
			ex := graph.NewExec(g, false)
			outs, err := ex.Run(map[string]*engine.Var{in[0].Name: engine.Const(engine.New(in[0].Attrs.Shape...))}, nil)
			_ = outs
			_ = err
		}
	})
}
