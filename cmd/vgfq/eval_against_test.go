package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// eval --against scores the INT8 model.vgf against its FP32 model: the same number ptq prints
// as "INT8 vs FP32" on the same test images, and 100 dB (the cap) for a model against itself.
func TestEvalAgainst(t *testing.T) {
	dir := t.TempDir()
	run, out := filepath.Join(dir, "run"), filepath.Join(dir, "out")
	data := []string{"--builtin-train", "256", "--builtin-test", "128"}
	if code, _, stderr := runCLI(t, append([]string{"train", "--model", "espcn", "--batch", "16", "--eval-batches", "1", "--out", run, "--quiet"}, data...)...); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, append([]string{"ptq", "--model", run, "--calib", "8", "--eval-images", "128", "--layer-images", "0", "--quiet", "--out", out}, data...)...)
	if code != 0 {
		t.Fatalf("ptq: %s", stderr)
	}
	m := regexp.MustCompile(`INT8 vs FP32 +([0-9.]+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("ptq printed no INT8 vs FP32 line: %s", stdout)
	}
	want, _ := strconv.ParseFloat(m[1], 64)
	eval := func(model, against string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"eval", "--model", model, "--against", against, "--batch", "64", "--batches", "2", "--grid", "", "--json"}, data...)...)
		if code != 0 {
			t.Fatalf("eval --against: exit %d: %s", code, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("eval --json output %q: %v", stdout, err)
		}
		return res
	}
	res := eval(filepath.Join(out, "model.vgf"), run)
	got, ok := res["against_psnr"].(float64)
	if !ok || res["against"] != run || res["psnr"].(float64) <= 0 {
		t.Fatalf("eval --against JSON: %v", res)
	}
	if d := got - want; d > 0.0005 || d < -0.0005 { // ptq prints 3 decimals
		t.Errorf("eval --against = %.4f dB, ptq's INT8 vs FP32 = %.3f dB", got, want)
	}
	if res := eval(run, run); res["against_psnr"] != 100.0 {
		t.Errorf("a model against itself: against_psnr %v, want the 100 dB cap", res["against_psnr"])
	}
	code, _, stderr = runCLI(t, "eval", "--model", run, "--against", filepath.Join(dir, "missing"), "--grid", "")
	if code != 2 || !strings.Contains(stderr, "--against") {
		t.Errorf("missing --against model: exit %d: %s", code, stderr)
	}
}
