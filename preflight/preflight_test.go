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

// TestLoweringRefusalNamed: a node that imports but does not lower (max pooling with ceil_mode)
// is reported as fails with the lowering's reason; later nodes as not reached.
func TestLoweringRefusalNamed(t *testing.T) {
	b := graph.NewBuilder("ac", 1)
	x := b.Input("x", 1, 3, 8, 8)
	u := b.Unary(graph.OpMaxPool2d, "up", x, graph.Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true})
	c := b.Conv2d("conv", u, graph.ConvSpec{In: 3, Out: 3, Kernel: 3, Padding: 1})
	g, err := b.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	r := Check("ac", &model.Loaded{Graph: g, Kind: model.Dir})
	var buf bytes.Buffer
	r.Print(&buf)
	out := buf.String()
	if r.OK || !strings.Contains(out, "fails") || !strings.Contains(out, "ceil_mode") || !strings.Contains(out, "not reached conv") {
		t.Fatalf("report:\n%s", out)
	}
}
