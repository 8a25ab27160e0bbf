package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

func saveZoo(t *testing.T, dir, name string, size int) string {
	t.Helper()
	g, err := zoo.Build(name, size, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

var qatSmall = []string{"--builtin-train", "96", "--builtin-test", "32", "--batch", "16", "--eval-batches", "1",
	"--eval-images", "32", "--layer-images", "4", "--log-every", "2", "--quiet"}

func TestQATCLI(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	out := filepath.Join(dir, "out")
	args := append([]string{"qat", "--model", model, "--out", out, "--calib", "4"}, qatSmall...)
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("qat exit %d: %s %s", code, stdout, stderr)
	}
	for _, want := range []string{"epoch 1 step 2/6 loss", "fake-quant test PSNR", "activation qparams: trained", "FP32", "fake-quant", "INT8 (.vgf)", "bilinear", "per-layer error"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"model.tosa", "model.vgf", "io.json", "scenario.json", "input.npy", "expected_output.npy", "quant.json", "layers.json", "checkpoint/qat_state.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	var q struct {
		Calibrator string `json:"calibrator"`
		QAT        struct {
			Steps       int `json:"steps"`
			Activations []struct {
				TrainScale  float32 `json:"train_scale"`
				ExportScale float32 `json:"export_scale"`
			} `json:"activations"`
		} `json:"qat"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "quant.json"))
	if err := json.Unmarshal(js, &q); err != nil || q.Calibrator != "qat" || q.QAT.Steps != 6 || len(q.QAT.Activations) != 4 {
		t.Fatalf("quant.json qat section: %v %+v", err, q)
	}
	for _, a := range q.QAT.Activations {
		if d := math.Abs(float64(a.ExportScale)/float64(a.TrainScale) - 1); d > 1e-5 {
			t.Errorf("exported scale %v far from trained %v", a.ExportScale, a.TrainScale)
		}
	}
	// ptq and qat export through the same path: same files.
	pout := filepath.Join(dir, "ptq")
	if code, _, stderr := runCLI(t, "ptq", "--model", model, "--builtin-train", "96", "--builtin-test", "32", "--calib", "8", "--eval-images", "0", "--layer-images", "4", "--out", pout, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	pf, qf := listDir(t, pout), listDir(t, out)
	if strings.Join(pf, " ")+" checkpoint" != strings.Join(qf, " ") && !strings.Contains(strings.Join(qf, " "), strings.Join(pf, " ")) {
		t.Errorf("ptq wrote %v, qat %v", pf, qf)
	}
}

// --resume continues a run bit-exactly: 1 epoch + resume to 2 epochs equals 2 epochs.
func TestQATResumeCLI(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if code, _, stderr := runCLI(t, append([]string{"qat", "--model", model, "--out", a, "--epochs", "2"}, qatSmall...)...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"qat", "--model", model, "--out", b, "--epochs", "1"}, qatSmall...)...); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, stderr := runCLI(t, append([]string{"qat", "--out", b, "--resume", "--epochs", "2"}, qatSmall...)...)
	if code != 0 || !strings.Contains(stdout, "resuming QAT") {
		t.Fatalf("resume exit %d: %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"model.vgf", "model.tosa", "quant.json", "checkpoint/" + graph.WeightsFile, "checkpoint/qat_state.safetensors"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between 2 epochs and 1 epoch + --resume", f)
		}
	}
}

func TestQATBadInput(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	notModel := filepath.Join(dir, "empty")
	os.MkdirAll(notModel, 0o755)
	small := saveZoo(t, filepath.Join(dir, "s"), "upscaler", 8)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"not a model", []string{"--model", notModel}, "--model"},
		{"missing model", []string{"--model", filepath.Join(dir, "nope")}, "no such model directory"},
		{"input size", []string{"--model", small}, "takes 8x8 inputs"},
		{"resume nothing", []string{"--resume"}, "--resume"},
		{"bad lr", []string{"--model", model, "--lr", "-1"}, "lr"},
		{"bad layout", []string{"--model", model, "--layout", "nhcw"}, "--layout"},
		{"bad calib", []string{"--model", model, "--calib", "1000"}, "--calib 1000"},
	} {
		out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
		args := append(append([]string{"qat", "--out", out}, c.args...), qatSmall...)
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q (want exit 2, one line with %q)", c.name, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil && c.name != "resume nothing" {
			t.Errorf("%s: %s was created", c.name, out)
		}
	}
}

// A diverging run stops at the step that produced the non-finite loss, names it, exits 2 and
// keeps the last good checkpoint unchanged.
func TestQATNaNLossKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, append([]string{"qat", "--model", model, "--out", out}, qatSmall...)...); code != 0 {
		t.Fatal(stderr)
	}
	ck := filepath.Join(out, "checkpoint")
	// Poison the checkpoint's weights so the next step overflows, then resume one more epoch.
	g, err := graph.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.Params["conv3.bias"].Data {
		g.Params["conv3.bias"].Data[i] = 3e38
	}
	if err := g.WriteFiles(ck); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range listDir(t, ck) {
		before[f], _ = os.ReadFile(filepath.Join(ck, f))
	}
	code, _, stderr := runCLI(t, append([]string{"qat", "--out", out, "--resume", "--epochs", "2"}, qatSmall...)...)
	if code != 2 || !strings.Contains(stderr, "step 1") || !strings.Contains(stderr, "last good checkpoint") {
		t.Fatalf("diverging run: exit %d, %q", code, stderr)
	}
	for f, b := range before {
		a, _ := os.ReadFile(filepath.Join(ck, f))
		if !bytes.Equal(a, b) {
			t.Errorf("checkpoint file %s changed by the failed run", f)
		}
	}
}

// The demo runs all four steps and ends with the FP32 / PTQ-INT8 / QAT-INT8 table.
func TestDemoWithQAT(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := runCLI(t, "demo", "--builtin-train", "576", "--builtin-test", "64", "--qat-steps", "2", "--dir", dir, "--quiet")
	if code != 0 {
		t.Fatalf("demo exit %d: %s %s", code, stdout, stderr)
	}
	i := strings.Index(stdout, "== summary")
	if i < 0 {
		t.Fatalf("no summary table:\n%s", stdout)
	}
	for _, row := range []string{"FP32", "PTQ-INT8", "QAT-INT8"} {
		if !strings.Contains(stdout[i:], row) {
			t.Errorf("summary lacks %s:\n%s", row, stdout[i:])
		}
	}
	for _, f := range []string{"output/model.vgf", "output_qat/model.vgf", "output_qat/quant.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
