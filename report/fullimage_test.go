package report

import (
	"bytes"
	"image"
	"image/png"
	"os"

	"github.com/vgfq/vgfq/data"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
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

// HR/LR pairs as SR benchmarks ship them (HR/ and LR_bicubic/X2/): whole images with the
// dataset's own LR pictures, the HR cut to twice the LR size.
func TestFullImagePairs(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join("..", "metrics", "testdata", "ycbcr")
	hrImg, lrImg := filepath.Join(src, "b_gt.png"), filepath.Join(src, "a_gt.png") // 41x33 HR, 20x24 LR
	for _, split := range []string{"train", "test"} {
		for _, d := range []string{"HR", filepath.Join("LR_bicubic", "X2")} {
			os.MkdirAll(filepath.Join(root, split, d), 0o755)
		}
	}
	// A 20x16 LR picture for the 41x33 HR one: the top-left of a_gt.png.
	lrb, _ := os.ReadFile(lrImg)
	im, err := png.Decode(bytes.NewReader(lrb))
	if err != nil {
		t.Fatal(err)
	}
	sub := im.(*image.RGBA).SubImage(image.Rect(0, 0, 20, 16))
	var buf bytes.Buffer
	png.Encode(&buf, sub)
	hrb, _ := os.ReadFile(hrImg)
	for _, split := range []string{"train", "test"} {
		os.WriteFile(filepath.Join(root, split, "HR", "pic.png"), hrb, 0o644)
		os.WriteFile(filepath.Join(root, split, "LR_bicubic", "X2", "picx2.png"), buf.Bytes(), 0o644)
	}
	ds, err := data.OpenDir(root, data.FolderOptions{CropSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := TestBatches(ds, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].H != 32 || bs[0].W != 40 {
		t.Fatalf("batches %d, first %dx%d", len(bs), bs[0].W, bs[0].H)
	}
	// The LR is the file's, not a downsample of the HR.
	r, g, b, _ := im.At(3, 2).RGBA()
	if got := bs[0].LR[2*20+3]; got != float32(r>>8)/255 || bs[0].LR[320+2*20+3] != float32(g>>8)/255 || bs[0].LR[640+2*20+3] != float32(b>>8)/255 {
		t.Errorf("LR pixel %v is not the LR file's", got)
	}
	f := demoRuns(t)
	rep, err := Build([]string{f.fp32, f.ptq}, Options{Batches: bs, DataName: "pairs"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows[1].Scores.Images != 1 || rep.Grid[0].W != 40 {
		t.Errorf("rows %+v", rep.Rows[1].Scores)
	}
}

// ESPCN's INT8 graph cannot be reshaped (pixel-shuffle RESHAPEs), so whole images run as
// overlapping tiles of the exported 16x16 input with a halo of the receptive radius. The result
// is bit-identical to the same quantized model lowered at the whole image's size.
func TestTiledMatchesWholeImageLowering(t *testing.T) {
	g, err := zoo.ESPCN(16, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "metrics", "testdata", "ycbcr")
	bs, err := FullImageBatches([]string{filepath.Join(dir, "b_gt.png"), filepath.Join(dir, "c_gt.png")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	calib := func(yield func(*engine.Tensor, error) bool) {
		for _, b := range bs {
			// 16x16 calibration crops from the images.
			x := engine.New(1, 3, 16, 16)
			for c := 0; c < 3; c++ {
				for y := 0; y < 16; y++ {
					copy(x.Data[(c*16+y)*16:(c*16+y+1)*16], b.LR[(c*b.H/2+y)*b.W/2:])
				}
			}
			if !yield(x, nil) {
				return
			}
		}
	}
	res, err := ptq.Quantize(g, calib, ptq.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	radius, err := receptiveRadius(res.Lowered.Graph, "NHWC")
	if err != nil || radius != 4 { // 5x5 + 3x3 + 3x3 convolutions at LR; the bilinear branch reaches 1
		t.Fatalf("receptive radius %v, %v; want 4", radius, err)
	}
	for _, b := range bs {
		h, w := b.H/2, b.W/2
		tp, halo, err := tiledPredictor(res.Lowered, h, w, 2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tp(engine.FromData(b.LR, 1, 3, h, w))
		if err != nil {
			t.Fatal(err)
		}
		// Reference: the same quantized model lowered at the image size.
		m := *res.Model
		if m.Graph, err = res.Model.Graph.WithInputSize(h, w); err != nil {
			t.Fatal(err)
		}
		whole, err := lower.Lower(&m, lower.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wp, err := lower.Int8Predictor(whole, 2)
		if err != nil {
			t.Fatal(err)
		}
		want, err := wp(engine.FromData(b.LR, 1, 3, h, w))
		if err != nil {
			t.Fatal(err)
		}
		if !engine.SameShape(got.Shape, want.Shape) {
			t.Fatalf("shapes %v %v", got.Shape, want.Shape)
		}
		diff := 0
		for i := range got.Data {
			if got.Data[i] != want.Data[i] {
				diff++
			}
		}
		if diff != 0 {
			t.Errorf("%dx%d: %d of %d values differ from the whole-image lowering", w, h, diff, len(got.Data))
		}
		t.Logf("%dx%d LR in 16x16 tiles with halo %d: bit-identical to the whole-image lowering", w, h, halo)
	}
	// One pixel less of halo is not enough: the comparison above can fail.
	b := bs[1]
	h, w := b.H/2, b.W/2
	short, err := tiledWithHalo(res.Lowered, h, w, 2, 16, 16, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	full, _, _ := tiledPredictor(res.Lowered, h, w, 2)
	a, _ := short(engine.FromData(b.LR, 1, 3, h, w))
	c, _ := full(engine.FromData(b.LR, 1, 3, h, w))
	if slices.Equal(a.Data, c.Data) {
		t.Error("a halo of 3 gives the same result as 4: the tiling test cannot tell")
	}
}
