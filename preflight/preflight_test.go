package preflight

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/model"
)

func TestCorpusLowers(t *testing.T) {
	for _, spec := range []string{"upscaler", "espcn", "../onnx/testdata/corpus/bnnet_op13.onnx", "../onnx/testdata/corpus/unet_op17.onnx",
		"../onnx/testdata/corpus/fsrcnn_op13.onnx", "../onnx/testdata/corpus/actnet_op17.onnx", "../onnx/testdata/corpus/espcn_op13.onnx",
		"../onnx/testdata/corpus/upscaler_op17.onnx", "../onnx/testdata/corpus/qdq_op13.onnx"} {
		l, err := model.Load(spec, model.Options{KeepGoing: true})
		if err != nil {
			t.Fatal(err)
		}
		r := Check(spec, l)
		if !r.OK {
			var b bytes.Buffer
			r.Print(&b)
			t.Errorf("%s does not lower:\n%s", spec, b.String())
		}
	}
}

func TestUnsupportedNamed(t *testing.T) {
	l, err := model.Load("../onnx/testdata/corpus/cubic.onnx", model.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	r := Check("cubic", l)
	var b bytes.Buffer
	r.Print(&b)
	if r.OK || !strings.Contains(b.String(), "unsupported /Resize") || !strings.Contains(b.String(), "use linear or nearest") {
		t.Fatalf("cubic resize not reported:\n%s", b.String())
	}
}

// TestLoweringRefusalNamed: nodes that import but do not lower (max pooling with ceil_mode, a
// dilated pooling) are each reported as fails with the lowering's reason; the others as ok.
func TestLoweringRefusalNamed(t *testing.T) {
	b := graph.NewBuilder("ac", 1)
	x := b.Input("x", 1, 3, 8, 8)
	u := b.Unary(graph.OpMaxPool2d, "up", x, graph.Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true})
	c := b.Conv2d("conv", u, graph.ConvSpec{In: 3, Out: 3, Kernel: 3, Padding: 1})
	p := b.Unary(graph.OpMaxPool2d, "dilated", c, graph.Attrs{Kernel: []int{2, 2}, Stride: []int{1, 1}, Dilation: []int{2, 2}})
	g, err := b.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	r := Check("ac", &model.Loaded{Graph: g, Kind: model.Dir})
	var buf bytes.Buffer
	r.Print(&buf)
	out := buf.String()
	if r.OK || !strings.Contains(out, "fails       up") || !strings.Contains(out, "ceil_mode") || !strings.Contains(out, "ok          conv") ||
		!strings.Contains(out, "fails       dilated") || !strings.Contains(out, "2 node(s) do not lower") {
		t.Fatalf("report:\n%s", out)
	}
}

// TestEveryProblemNamed: a model with three problems of different kinds gets all three named.
func TestEveryProblemNamed(t *testing.T) {
	l, err := model.Load("../onnx/testdata/corpus/mixed.onnx", model.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	r := Check("mixed", l)
	var b bytes.Buffer
	r.Print(&b)
	out := b.String()
	for _, want := range []string{"fails       /MaxPool", "ceil_mode", "fails       /ct/ConvTranspose", "grouped ConvTranspose2d",
		"unsupported /Abs", "ok          /c1/Conv", "3 node(s) do not lower"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
