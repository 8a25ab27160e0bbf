package report

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// Whole images of other sizes than the export's 16x16: the INT8 graph with its shapes re-derived
// by TOSA shape inference computes what the fake-quant model computes at that size (within one
// output quantization step, as at the native size), and .vgf equals .tosa bit for bit.
func TestFullImageInt8MatchesFakeQuant(t *testing.T) {
	f := demoRuns(t)
	dir := filepath.Join("..", "metrics", "testdata", "ycbcr")
	bs, err := FullImageBatches([]string{filepath.Join(dir, "b_gt.png"), filepath.Join(dir, "c_gt.png"), filepath.Join(dir, "a_gt.png")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bs[0].H != 32 || bs[0].W != 40 { // 41x33 loses its odd column and row
		t.Fatalf("first image %dx%d", bs[0].W, bs[0].H)
	}
	run, err := LoadRun(f.ptq)
	if err != nil {
		t.Fatal(err)
	}
	tosaA, _ := run.ArtifactFor(TOSAFile)
	vgfA, _ := run.ArtifactFor(VGFFile)
	m := f.res.Model
	outScale := run.IO[1].Scale
	for _, b := range bs {
		h, w := b.H/2, b.W/2
		lr := engine.FromData(b.LR, 1, 3, h, w)
		pt, err := tosaA.Predictor(h, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		yt, err := pt(lr)
		if err != nil {
			t.Fatal(err)
		}
		pv, err := vgfA.Predictor(h, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		yv, err := pv(lr)
		if err != nil {
			t.Fatal(err)
		}
		for i := range yt.Data {
			if yt.Data[i] != yv.Data[i] {
				t.Fatalf("%dx%d: .vgf differs from .tosa at %d", w, h, i)
			}
		}
		fg, err := m.FakeQuantGraph().WithInputSize(h, w)
		if err != nil {
			t.Fatal(err)
		}
		ex := graph.NewExec(fg, false)
		hook := func(n *graph.Node, out *engine.Var) *engine.Var {
			q, ok := m.QParamOf(n.Name)
			if !ok {
				return out
			}
			return engine.Const(engine.FromData(quant.FakeQuantTensor(nil, out.Val.Data, q.Scale, q.ZP, -128, 127, nil), out.Val.Shape...))
		}
		outs, err := ex.Run(map[string]*engine.Var{fg.Inputs()[0].Name: engine.Const(lr)}, hook)
		if err != nil {
			t.Fatal(err)
		}
		fq := outs[0].Val
		if !engine.SameShape(fq.Shape, yt.Shape) || fq.Shape[2] != b.H || fq.Shape[3] != b.W {
			t.Fatalf("shapes: fake-quant %v, INT8 %v, image %dx%d", fq.Shape, yt.Shape, b.W, b.H)
		}
		var worst float64
		for i := range fq.Data {
			worst = math.Max(worst, math.Abs(float64(fq.Data[i]-yt.Data[i]))/float64(outScale))
		}
		if worst > 1.01 {
			t.Errorf("%dx%d: INT8 differs from fake-quant by %.2f steps", w, h, worst)
		}
		t.Logf("%dx%d LR: INT8 vs fake-quant at most %.2f output steps", w, h, worst)
	}
	// The report over whole images scores both stages at every size.
	rep, err := Build([]string{f.fp32, f.ptq}, Options{Batches: bs, DataName: "whole images", GridImages: 2, Metric: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[len(rep.Rows)-1]; !r.Checked || r.Mismatch != 0 || r.Scores.Images != 3 {
		t.Errorf(".vgf row %+v", r)
	}
}

// A graph whose shapes are pinned by constants (ESPCN's pixel shuffle lowers to RESHAPE with
// constant shapes) cannot be re-derived at another size: the error names the operator.
func TestWithInputShapesFixedReshape(t *testing.T) {
	g, err := zoo.ESPCN(8, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := engine.New(1, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(i%17) / 17
	}
	res, err := ptq.Quantize(g, func(yield func(*engine.Tensor, error) bool) { yield(x, nil) }, ptq.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := res.Lowered.Graph
	in := tg.Inputs[0]
	same, err := tosa.WithInputShapes(tg, map[string][]int{in: {1, 8, 8, 3}})
	if err != nil {
		t.Fatalf("same size: %v", err)
	}
	for i, tt := range same.Tensors {
		if !slices.Equal(tt.Shape, tg.Tensors[i].Shape) {
			t.Errorf("tensor %s: %v, was %v", tt.Name, tt.Shape, tg.Tensors[i].Shape)
		}
	}
	_, err = tosa.WithInputShapes(tg, map[string][]int{in: {1, 12, 10, 3}})
	if err == nil || !strings.Contains(err.Error(), "RESHAPE") {
		t.Errorf("ESPCN at 10x12: %v", err)
	}
}
