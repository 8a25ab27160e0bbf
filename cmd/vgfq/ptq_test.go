package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/tosa"
)

func TestPTQ(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "espcn", 16)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64",
		"--calib", "32", "--eval-images", "64", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("ptq exit %d: %s %s", code, stdout, stderr)
	}
	for _, want := range []string{"FP32", "fake-quant", "INT8 (.vgf)", "bilinear"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("PSNR table lacks %q:\n%s", want, stdout)
		}
	}
	buf, err := os.ReadFile(filepath.Join(out, "model.tosa"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tosa.Decode(buf); err != nil {
		t.Fatalf("model.tosa: %v", err)
	}
	var summary struct {
		Rescales []struct {
			Multipliers []int32 `json:"multipliers"`
			Shifts      []int   `json:"shifts"`
		} `json:"rescales"`
		Tensors []struct {
			Scale float32 `json:"scale"`
		} `json:"tensors"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "quant.json"))
	if err := json.Unmarshal(js, &summary); err != nil || len(summary.Rescales) == 0 || len(summary.Tensors) == 0 {
		t.Fatalf("quant.json: %v %s", err, js[:min(200, len(js))])
	}
	// eval scores the INT8 artifacts themselves; .tosa and .vgf are the same model.
	var scores []map[string]float64
	for _, file := range []string{"model.tosa", "model.vgf"} {
		code, stdout, stderr := runCLI(t, "eval", "--model", filepath.Join(out, file), "--builtin-test", "64", "--batch", "32", "--json", "--grid", "")
		if code != 0 {
			t.Fatalf("eval %s: exit %d: %s", file, code, stderr)
		}
		var r map[string]float64
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("eval %s: %v", file, err)
		}
		scores = append(scores, r)
	}
	if scores[0]["psnr"] != scores[1]["psnr"] || !(scores[0]["psnr"] > 10) {
		t.Errorf("INT8 PSNR .tosa %v vs .vgf %v", scores[0]["psnr"], scores[1]["psnr"])
	}
	// Deterministic: the same run writes the same bytes.
	out2 := filepath.Join(dir, "out2")
	if code, _, _ := runCLI(t, "ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "32", "--eval-images", "0", "--out", out2, "--quiet"); code != 0 {
		t.Fatal("second ptq failed")
	}
	for _, f := range []string{"model.tosa", "model.vgf", "io.json", "scenario.json", "input.npy", "expected_output.npy", "quant.json"} {
		a, err1 := os.ReadFile(filepath.Join(out, f))
		b, err2 := os.ReadFile(filepath.Join(out2, f))
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s differs between identical runs (%v %v)", f, err1, err2)
		}
	}

	// A graph op without a TOSA lowering: exit 2 naming the node, nothing written.
	b := graph.NewBuilder("odd", 1)
	x := b.Input("x", 1, 3, 16, 16)
	up := b.Unary(graph.OpMaxPool2d, "pool_ceil", x, graph.Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, CeilMode: true})
	oddG, err := b.Build(b.Conv2d("conv", up, graph.ConvSpec{In: 3, Out: 3, Kernel: 3, Padding: 1}))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "odd")
	if err := oddG.Save(odd); err != nil {
		t.Fatal(err)
	}
	oddOut := filepath.Join(dir, "oddout")
	code, _, stderr = runCLI(t, "ptq", "--model", odd, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--eval-images", "0", "--layer-images", "0", "--out", oddOut, "--quiet")
	if code != exitInput || !strings.Contains(stderr, `node "pool_ceil" (MaxPool2d)`) || !strings.Contains(stderr, "ceil_mode") {
		t.Errorf("op without lowering: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(oddOut); err == nil {
		t.Errorf("failed lowering left %s behind", oddOut)
	}

	bad := filepath.Join(dir, "bad")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--calib", "0"}, "--calib 0"},
		{[]string{"--calib", "100"}, "only 64 images"},
		{[]string{"--layout", "hwcn"}, "--layout"},
		{[]string{"--calibrator", "magic"}, "--calibrator"},
		{[]string{"--keep-float", "nope"}, `"nope"`},
		{[]string{"--keep-float", "conv2"}, "kept in float"},
	} {
		args := append([]string{"ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--out", bad, "--quiet"}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != exitInput || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(bad); err == nil {
			t.Errorf("%v: left %s behind", c.args, bad)
		}
	}
}
