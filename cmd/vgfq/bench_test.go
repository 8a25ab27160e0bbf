package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// bench train / infer take any --model the other commands take (an .onnx file here, with a
// non-square input), and bench infer also an INT8 model.vgf / model.tosa.
func TestBenchModels(t *testing.T) {
	onnxModel := filepath.Join("testdata", "nonsquare.onnx")
	bench := func(args ...string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"bench"}, append(args, "--json")...)...)
		if code != 0 {
			t.Fatalf("bench %v: exit %d: %s", args, code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("bench %v --json: %v: %q", args, err, stdout)
		}
		if r["input_size"] != 8.0 || r["input_width"] != 12.0 {
			t.Errorf("bench %v: input %vx%v, want the model's 8x12", args, r["input_size"], r["input_width"])
		}
		return r
	}
	if r := bench("train", "--model", onnxModel, "--batch", "2", "--steps", "1", "--warmup", "0"); !(r["images_per_s"].(float64) > 0) {
		t.Errorf("bench train: %v", r)
	}
	if r := bench("infer", "--model", onnxModel, "--images", "2", "--calib", "2"); !(r["fp32_images_per_s"].(float64) > 0 && r["int8_ref_images_per_s"].(float64) > 0) {
		t.Errorf("bench infer: %v", r)
	}
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "ptq", "--model", onnxModel, "--calib", "2", "--builtin-train", "8", "--builtin-test", "8", "--eval-images", "0", "--layer-images", "0", "--out", dir); code != 0 {
		t.Fatalf("ptq: %s", stderr)
	}
	for _, f := range []string{"model.vgf", "model.tosa"} {
		r := bench("infer", "--model", filepath.Join(dir, f), "--images", "2")
		if !(r["int8_fast_images_per_s"].(float64) > 0 && r["int8_ref_images_per_s"].(float64) > 0) || r["fp32_images_per_s"] != nil {
			t.Errorf("bench infer %s: %v", f, r)
		}
	}
	code, _, stderr := runCLI(t, "bench", "train", "--model", filepath.Join(dir, "missing.onnx"))
	if code != exitInput || !strings.Contains(stderr, "missing.onnx") {
		t.Errorf("bench train on a missing model: exit %d: %s", code, stderr)
	}
}

// TestBenchTrainRefusesNon2x: a model whose output is not twice its input (the test corpus's
// mobile net crops) is refused before any step, with exit 2 and the way to time it instead.
func TestBenchTrainRefusesNon2x(t *testing.T) {
	model := corpus + "mobile_op17.onnx"
	code, stdout, stderr := runCLI(t, "bench", "train", "--model", model, "--steps", "1", "--warmup", "0")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "20x28 outputs for 14x18 inputs") || !strings.Contains(stderr, "vgfq bench infer") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
