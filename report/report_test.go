package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/train"
)

// buildDemoReport reports on the fixture's fp32, ptq and qat runs (or the dirs given).
func buildDemoReport(t *testing.T, dirs ...string) (*fixture, *Report) {
	t.Helper()
	f := demoRuns(t)
	bs, err := CropBatches(f.ds.Test, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		dirs = []string{f.fp32, f.ptq, f.qat}
	}
	rep, err := Build(dirs, Options{Batches: bs, DataName: "builtin test split", GridImages: 3})
	if err != nil {
		t.Fatal(err)
	}
	return f, rep
}

func TestReportRows(t *testing.T) {
	f, rep := buildDemoReport(t)
	var stages []string
	rows := map[string]*Row{}
	for _, r := range rep.Rows {
		stages = append(stages, r.Stage)
		rows[r.Stage] = r
	}
	if got, want := strings.Join(stages, "|"), "bilinear|FP32|PTQ-INT8 (tosa)|PTQ-INT8 (vgf)|QAT-INT8 (tosa)|QAT-INT8 (vgf)"; got != want {
		t.Fatalf("stages %s, want %s", got, want)
	}
	for _, m := range []string{"PTQ", "QAT"} {
		tr, vr := rows[m+"-INT8 (tosa)"], rows[m+"-INT8 (vgf)"]
		if tr.Scores != vr.Scores {
			t.Errorf("%s: .vgf row %+v differs from .tosa row %+v", m, vr.Scores, tr.Scores)
		}
		if !vr.Checked || vr.Mismatch != 0 || vr.Scores.Images != 40 {
			t.Errorf("%s .vgf check: checked %v, %d mismatches over %d images", m, vr.Checked, vr.Mismatch, vr.Scores.Images)
		}
	}
	if rows["PTQ-INT8 (tosa)"].Scores == rows["QAT-INT8 (tosa)"].Scores {
		t.Error("PTQ and QAT rows are identical")
	}
	tr := rows["PTQ-INT8 (tosa)"]
	// The FP32, bilinear and INT8 RGB numbers are the ones vgfq eval computes on the same images.
	ev, err := train.EvaluatePredictor(train.GraphPredictor(rep.Runs[0].Graph), f.ds.Test, 64, 1, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Images != 64 {
		t.Fatalf("eval saw %d images", ev.Images)
	}
	bs, _ := CropBatches(f.ds.Test, 40)
	lr := engine.FromData(bs[0].LR, 40, 3, 16, 16)
	y, err := train.GraphPredictor(rep.Runs[0].Graph)(lr)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows["FP32"].Scores.PSNR; math.Abs(got-psnr(y.Data, bs[0].HR)) > 1e-12 {
		t.Errorf("FP32 PSNR %v, direct %v", got, psnr(y.Data, bs[0].HR))
	}
	i8, err := lower.Int8Predictor(f.res.Lowered, 2)
	if err != nil {
		t.Fatal(err)
	}
	q, err := i8(lr)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Scores.PSNR; got != psnr(q.Data, bs[0].HR) {
		t.Errorf("INT8 PSNR %v, the lowered graph's %v", got, psnr(q.Data, bs[0].HR))
	}
	if rows["bilinear"].Scores.PSNR <= 0 || math.IsNaN(rows["FP32"].Scores.SSIMY) {
		t.Errorf("bad scores %+v %+v", rows["bilinear"].Scores, rows["FP32"].Scores)
	}
	if rep.Runs[1].Label != "PTQ-INT8" || len(rep.Runs[1].Layers) == 0 {
		t.Errorf("ptq run: label %q, %d layers", rep.Runs[1].Label, len(rep.Runs[1].Layers))
	}
	// The QAT directory is labelled from its quant.json (its "qat" section), not its name.
	if rep.Runs[2].Label != "QAT-INT8" || rep.Runs[2].Method != "qat" || len(rep.Runs[2].Layers) == 0 {
		t.Errorf("qat run: label %q method %q, %d layers", rep.Runs[2].Label, rep.Runs[2].Method, len(rep.Runs[2].Layers))
	}
	if len(rep.Grid) != 3 || len(rep.Grid[0].Cells) != 6 {
		t.Fatalf("grid %d images, %d columns", len(rep.Grid), len(rep.Grid[0].Cells))
	}
}

func psnr(a, b []float32) float64 {
	var m float64
	for i := range a {
		d := a[i] - b[i]
		m += float64(d * d)
	}
	return 10 * math.Log10(1/float64(float32(m/float64(len(a)))))
}

// The page is self-contained: every src/href is a data URI or an in-page anchor, no script.
func TestReportSelfContained(t *testing.T) {
	_, rep := buildDemoReport(t)
	page, err := rep.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(page), []byte("<script")) {
		t.Error("page has a script")
	}
	attrs := regexp.MustCompile(`(?i)\b(src|href)\s*=\s*"([^"]*)"`).FindAllSubmatch(page, -1)
	imgs := 0
	for _, m := range attrs {
		v := html.UnescapeString(string(m[2]))
		if !strings.HasPrefix(v, "data:image/png;base64,") && !strings.HasPrefix(v, "data:image/svg+xml;base64,") && !strings.HasPrefix(v, "#") {
			t.Errorf("%s=%q is not embedded", m[1], clip(v, 60))
		}
		imgs++
	}
	if imgs < 3*14 {
		t.Errorf("only %d embedded images", imgs)
	}
	if bytes.Contains(page, []byte("url(http")) || bytes.Contains(page, []byte("@import")) {
		t.Error("stylesheet loads something")
	}
	// Deterministic.
	again, err := rep.HTML()
	if err != nil || !bytes.Equal(page, again) {
		t.Error("HTML differs between two renderings")
	}
}

// An INT8 directory's stage comes from its quant.json, whatever the directory is called.
func TestRunLabelFromQuantJSON(t *testing.T) {
	f := demoRuns(t)
	dir := filepath.Join(t.TempDir(), "int8-b")
	copyDir(t, f.ptq, dir)
	b, err := os.ReadFile(filepath.Join(dir, QuantFile))
	if err != nil {
		t.Fatal(err)
	}
	var q map[string]any
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	q["method"] = "qat"
	b, _ = json.Marshal(q)
	if err := os.WriteFile(filepath.Join(dir, QuantFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Label != "QAT-INT8" || r.Method != "qat" {
		t.Errorf("label %q method %q", r.Label, r.Method)
	}
	for _, c := range []struct {
		q    map[string]any
		dir  string
		want string
	}{
		{map[string]any{"calibrator": "histogram"}, "qat-run", "ptq"},
		{map[string]any{"format": "vgfq-qat-summary/1"}, "x", "qat"},
		{map[string]any{"qat": map[string]any{"epochs": 1}}, "x", "qat"},
		{nil, "runs/qat", "qat"},
		{nil, "runs/out", "ptq"},
	} {
		if got := methodOf(c.q, c.dir); got != c.want {
			t.Errorf("methodOf(%v, %s) = %s, want %s", c.q, c.dir, got, c.want)
		}
	}
	// Two runs of one kind are told apart by their directories.
	_, rep := buildDemoReport(t, f.fp32, f.qat, dir)
	var stages []string
	for _, r := range rep.Rows {
		stages = append(stages, r.Stage)
	}
	if got := strings.Join(stages, "|"); got != "bilinear|FP32|QAT-INT8 qat (tosa)|QAT-INT8 qat (vgf)|QAT-INT8 int8-b (tosa)|QAT-INT8 int8-b (vgf)" {
		t.Errorf("stages %s", got)
	}
	if len(rep.Grid[0].Cells) != 6 {
		t.Errorf("%d grid columns", len(rep.Grid[0].Cells))
	}
}

// Only INT8 runs: no FP32 column; a QAT checkpoint directory runs as float and says so.
func TestReportWithoutFloat(t *testing.T) {
	f, rep := buildDemoReport(t, demoRuns(t).qat, demoRuns(t).ptq)
	if len(rep.Rows) != 5 || rep.view().FP32 != nil {
		t.Fatalf("%d rows", len(rep.Rows))
	}
	page, err := rep.HTML()
	if err != nil || strings.Contains(string(page), "PSNR vs FP32") {
		t.Errorf("FP32 column without an FP32 run (%v)", err)
	}
	ck := filepath.Join(t.TempDir(), "checkpoint")
	copyDir(t, f.fp32, ck)
	os.WriteFile(filepath.Join(ck, "qat.json"), []byte("{}"), 0o644)
	r, err := LoadRun(ck)
	if err != nil || r.Kind != KindFloat || r.Label != "FP32 (QAT weights)" {
		t.Errorf("QAT checkpoint: %+v %v", r, err)
	}
}

func TestLoadRunErrors(t *testing.T) {
	d := t.TempDir()
	if _, err := LoadRun(d); err == nil || !strings.Contains(err.Error(), "neither a float model") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := LoadRun(filepath.Join(d, "missing")); err == nil || !strings.Contains(err.Error(), "no such run directory") {
		t.Errorf("missing dir: %v", err)
	}
	os.WriteFile(filepath.Join(d, TOSAFile), []byte("not a tosa file"), 0o644)
	if _, err := LoadRun(d); err == nil {
		t.Error("garbage model.tosa accepted")
	}
}

// decodeURI decodes a PNG data URI of the report.
func decodeURI(t *testing.T, uri string) image.Image {
	t.Helper()
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(uri, prefix) {
		t.Fatalf("not a PNG data URI: %.40s", uri)
	}
	b, err := base64.StdEncoding.DecodeString(uri[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// The grid's pictures are the images themselves: the ground truth's detail crop is its pixels
// in the chosen region, the heat map's colour is the error's, the model column is the model's
// output.
func TestGridPixels(t *testing.T) {
	f, rep := buildDemoReport(t)
	bs, _ := CropBatches(f.ds.Test, 1)
	hr := bs[0].HR[:3*32*32]
	g := rep.Grid[0]
	gt := g.Cells[len(g.Cells)-1]
	zoom := decodeURI(t, string(gt.Zoom))
	d := g.Detail
	if zoom.Bounds().Dx() != d.W || zoom.Bounds().Dy() != d.H {
		t.Fatalf("detail %v, region %+v", zoom.Bounds(), d)
	}
	for y := 0; y < d.H; y++ {
		for x := 0; x < d.W; x++ {
			r, gg, b, _ := zoom.At(x, y).RGBA()
			i := (d.Y+y)*32 + d.X + x
			if uint8(r>>8) != To8Bit(hr[i]) || uint8(gg>>8) != To8Bit(hr[1024+i]) || uint8(b>>8) != To8Bit(hr[2048+i]) {
				t.Fatalf("detail pixel %d,%d differs from the ground truth", x, y)
			}
		}
	}
	// The detail region has the most edges of any window: no other window has more.
	if d.W != 8 || d.H != 8 {
		t.Errorf("detail %dx%d, want 8x8 (a quarter of 32)", d.W, d.H)
	}
	// The FP32 heat map at one pixel: the colour of its mean absolute error.
	fp := g.Cells[2]
	if fp.Label != "FP32" {
		t.Fatalf("column 2 is %s", fp.Label)
	}
	y, err := train.GraphPredictor(rep.Runs[0].Graph)(engine.FromData(bs[0].LR[:3*256], 1, 3, 16, 16))
	if err != nil {
		t.Fatal(err)
	}
	heat := decodeURI(t, string(fp.Heat))
	for _, p := range [][2]int{{0, 0}, {5, 17}, {31, 31}} {
		i := p[1]*32 + p[0]
		var e float64
		for c := 0; c < 3; c++ {
			e += math.Abs(float64(y.Data[c*1024+i]) - float64(hr[c*1024+i]))
		}
		wr, wg, wb := heatColor(e / 3 / HeatMax)
		r, gg, b, _ := heat.At(p[0], p[1]).RGBA()
		if uint8(r>>8) != wr || uint8(gg>>8) != wg || uint8(b>>8) != wb {
			t.Errorf("heat at %v: %d,%d,%d, want %d,%d,%d", p, r>>8, gg>>8, b>>8, wr, wg, wb)
		}
	}
	full := decodeURI(t, string(fp.Full))
	r, _, _, _ := full.At(7, 9).RGBA()
	if uint8(r>>8) != To8Bit(y.Data[9*32+7]) {
		t.Error("FP32 picture is not the model's output")
	}
}
