package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A model with a non-square input (testdata/nonsquare.onnx: 1x3x8x12 in, 1x3x16x24 out, from
// tools/golden/onnx_nonsquare_gen.py) is calibrated, scored, fine-tuned and evaluated from the
// CLI on 16x24 windows of the (square) data.
func TestNonSquareModel(t *testing.T) {
	model := filepath.Join("testdata", "nonsquare.onnx")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	data := []string{"--builtin-train", "64", "--builtin-test", "64"}
	code, stdout, stderr := runCLI(t, append([]string{"ptq", "--model", model, "--calib", "8", "--eval-images", "64", "--layer-images", "2", "--quiet", "--out", out}, data...)...)
	if code != 0 {
		t.Fatalf("ptq: exit %d: %s %s", code, stdout, stderr)
	}
	for _, want := range []string{"using the 16x24 centre of 24x24 images", "INT8 (.vgf)", "INT8 vs FP32"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("ptq output lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "io.json"))
	var io struct {
		Inputs []struct{ Shape []int } `json:"inputs"`
	}
	if err == nil {
		err = json.Unmarshal(b, &io)
	}
	if err != nil || len(io.Inputs) != 1 || fmt.Sprint(io.Inputs[0].Shape) != "[1 8 12 3]" {
		t.Errorf("io.json does not declare the 1x8x12x3 (NHWC) input: %v %+v", err, io)
	}
	// The INT8 file and the ONNX model score on the same windows.
	for _, m := range []string{filepath.Join(out, "model.vgf"), model} {
		code, stdout, stderr = runCLI(t, append([]string{"eval", "--model", m, "--batch", "32", "--batches", "2", "--grid", filepath.Join(dir, "grid.png"), "--json"}, data...)...)
		if code != 0 {
			t.Fatalf("eval %s: exit %d: %s", m, code, stderr)
		}
		var res map[string]float64
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res["images"] != 64 || res["psnr"] <= 0 {
			t.Errorf("eval %s --json: %v %s", m, err, stdout)
		}
	}
	// The Y-channel metric and the HTML report take the model's size too.
	code, stdout, stderr = runCLI(t, append([]string{"eval", "--model", filepath.Join(out, "model.vgf"), "--metric", "y", "--batch", "32", "--batches", "1", "--grid", "", "--json"}, data...)...)
	if code != 0 || !strings.Contains(stdout, `"metric": "y"`) {
		t.Errorf("eval --metric y: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"report", out, "--images", "16", "--out", filepath.Join(dir, "r.html")}, data...)...); code != 0 || !fileExists(filepath.Join(dir, "r.html")) {
		t.Errorf("report: exit %d: %s", code, stderr)
	}
	// Fine-tuning and QAT: a few steps.
	run := filepath.Join(dir, "run")
	code, stdout, stderr = runCLI(t, append([]string{"train", "--model", model, "--batch", "16", "--max-steps", "2", "--eval-batches", "1", "--quiet", "--out", run}, data...)...)
	if code != 0 || !strings.Contains(stdout, "epoch 1 done") {
		t.Fatalf("train: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, append([]string{"qat", "--model", run, "--batch", "16", "--max-steps", "2", "--eval-batches", "1", "--eval-images", "32", "--layer-images", "0", "--quiet", "--out", filepath.Join(dir, "qat")}, data...)...)
	if code != 0 || !strings.Contains(stdout, "INT8 (.vgf)") {
		t.Fatalf("qat: exit %d: %s %s", code, stdout, stderr)
	}
	// Images too small for the model: a clear error naming them, nothing written.
	photos := filepath.Join(dir, "photos")
	os.MkdirAll(photos, 0o755)
	img := image.NewRGBA(image.Rect(0, 0, 20, 20))
	for i := 0; i < 12; i++ {
		var buf bytes.Buffer
		png.Encode(&buf, img)
		os.WriteFile(filepath.Join(photos, fmt.Sprintf("%d.png", i)), buf.Bytes(), 0o644)
	}
	code, _, stderr = runCLI(t, "ptq", "--model", model, "--data", photos, "--calib", "2", "--out", filepath.Join(dir, "never"))
	t.Logf("20x20 images: %s", stderr)
	if code != 2 || !strings.Contains(stderr, "20x20") || strings.Contains(strings.TrimSpace(stderr), "\n") || fileExists(filepath.Join(dir, "never")) {
		t.Errorf("ptq on 20x20 images: exit %d: %s", code, stderr)
	}
}

// A square model on data of another size: the hint names the --crop that fits, and
// --input-size only where it exists (train, for a zoo model).
func TestInputSizeHint(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	code, _, stderr := runCLI(t, "train", "--model", "espcn", "--input-size", "8", "--crop", "32", "--builtin-train", "16", "--builtin-test", "16", "--batch", "8", "--quiet", "--out", run)
	if code != 2 || !strings.Contains(stderr, "use --crop 16") || !strings.Contains(stderr, "--input-size 16") {
		t.Errorf("train: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "train", "--model", "espcn", "--input-size", "8", "--crop", "16", "--builtin-train", "16", "--builtin-test", "16", "--batch", "8", "--max-steps", "1", "--eval-batches", "1", "--quiet", "--out", run); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	code, _, stderr = runCLI(t, "ptq", "--model", run, "--builtin-train", "16", "--builtin-test", "16", "--calib", "4", "--out", filepath.Join(dir, "out"))
	if code != 2 || !strings.Contains(stderr, "use --crop 16") || strings.Contains(stderr, "--input-size") {
		t.Errorf("ptq: exit %d: %s", code, stderr)
	}
}
