package report

import (
	"bytes"
	"encoding/json"
	"html"
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

func buildDemoReport(t *testing.T, extra ...string) (*fixture, *Report) {
	t.Helper()
	f := demoRuns(t)
	bs, err := CropBatches(f.ds.Test, 40)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(append([]string{f.fp32, f.ptq}, extra...), Options{Batches: bs, DataName: "builtin test split", GridImages: 3})
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
	if got, want := strings.Join(stages, "|"), "bilinear|FP32|PTQ-INT8 (tosa)|PTQ-INT8 (vgf)"; got != want {
		t.Fatalf("stages %s, want %s", got, want)
	}
	tr, vr := rows["PTQ-INT8 (tosa)"], rows["PTQ-INT8 (vgf)"]
	if tr.Scores != vr.Scores {
		t.Errorf(".vgf row %+v differs from .tosa row %+v", vr.Scores, tr.Scores)
	}
	if !vr.Checked || vr.Mismatch != 0 || vr.Scores.Images != 40 {
		t.Errorf(".vgf check: checked %v, %d mismatches over %d images", vr.Checked, vr.Mismatch, vr.Scores.Images)
	}
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
	if len(rep.Grid) != 3 || len(rep.Grid[0].Cells) != 5 {
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
	// Three runs: the second INT8 stage gets its own rows.
	_, rep := buildDemoReport(t, dir)
	var stages []string
	for _, r := range rep.Rows {
		stages = append(stages, r.Stage)
	}
	if got := strings.Join(stages, "|"); got != "bilinear|FP32|PTQ-INT8 (tosa)|PTQ-INT8 (vgf)|QAT-INT8 (tosa)|QAT-INT8 (vgf)" {
		t.Errorf("stages %s", got)
	}
	if len(rep.Grid[0].Cells) != 6 {
		t.Errorf("%d grid columns", len(rep.Grid[0].Cells))
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
