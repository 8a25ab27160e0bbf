package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/zoo"
)

// runCLI runs the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(ro); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(re); errc <- string(b) }()
	code := run(args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, <-outc, <-errc
}

func listDir(t *testing.T, dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestBadInputExit2(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	notimg := filepath.Join(dir, "notimg")
	os.Mkdir(notimg, 0o755)
	os.WriteFile(filepath.Join(notimg, "notes.txt"), []byte("hello"), 0o644)
	corrupt := filepath.Join(dir, "corrupt")
	os.Mkdir(corrupt, 0o755)
	os.WriteFile(filepath.Join(corrupt, "graph.json"), []byte("{nope"), 0o644)
	os.WriteFile(filepath.Join(corrupt, "weights.safetensors"), []byte("xx"), 0o644)
	cache := filepath.Join(dir, "cache")
	bins := filepath.Join(cache, "cifar-10-batches-bin")
	os.MkdirAll(bins, 0o755)
	for _, f := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		os.WriteFile(filepath.Join(bins, f), make([]byte, 3073*10), 0o644) // truncated: 10 records
	}
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--epochs", "0", "--out", out}, "epochs 0 out of range"},
		{[]string{"train", "--batch", "-3", "--out", out}, "batch -3 out of range"},
		{[]string{"train", "--lr", "abc", "--out", out}, "invalid argument"},
		{[]string{"train", "--model", "resnet", "--out", out}, `unknown model "resnet"`},
		{[]string{"train", "--data", empty, "--out", out}, "empty"},
		{[]string{"train", "--data", notimg, "--out", out}, "notes.txt"},
		{[]string{"train", "--data", filepath.Join(dir, "nowhere"), "--out", out}, "not builtin, cifar10, or a"},
		{[]string{"eval", "--model", filepath.Join(dir, "missing")}, "a model directory"},
		{[]string{"eval", "--model", corrupt}, "graph.json"},
		{[]string{"eval", "--model", corrupt, "--batch", "0"}, "graph.json"},
		{[]string{"train", "--resume", "--out", filepath.Join(dir, "missing")}, "no such model directory"},
		{[]string{"train", "--data", "cifar10", "--cache-dir", cache, "--out", out}, "data_batch_1.bin"},
		{[]string{"train", "--input-size", "24", "--out", out}, "use --crop 48 (the high-resolution crop is twice the model's input), or build the zoo model for these images with --input-size 16"},
		{[]string{"train", "--crop", "31", "--out", out}, "--crop 31"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"train", "--nope"}, "unknown flag"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitInput {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, c.want) || !strings.HasPrefix(last, "vgfq: ") {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, stderr, c.want)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: panic escaped: %s", c.args, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("failed runs left %s behind: %v", out, listDir(t, out))
	}
	// Nothing but the inputs we made.
	if got := listDir(t, dir); len(got) != 4 {
		t.Errorf("unexpected files in %s: %v", dir, got)
	}
}

func TestTrainEvalJSON(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI(t, "train", "--model", "espcn", "--builtin-train", "256", "--builtin-test", "64", "--batch", "16",
		"--eval-batches", "1", "--out", run, "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "epoch 1 done") {
		t.Errorf("train output: %s", stdout)
	}
	grid := filepath.Join(dir, "grid.png")
	code, stdout, stderr = runCLI(t, "eval", "--model", run, "--builtin-test", "64", "--batch", "32", "--json", "--grid", grid)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("eval --json output %q: %v", stdout, err)
	}
	for _, k := range []string{"psnr", "ssim", "baseline_psnr", "baseline_ssim"} {
		if _, ok := res[k]; !ok || res[k] <= 0 {
			t.Errorf("eval --json lacks %s: %v", k, res)
		}
	}
	if res["images"] != 64 {
		t.Errorf("images = %v", res["images"])
	}
	png, err := os.ReadFile(grid)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("grid not written: %v", err)
	}
	// Resume of a finished run with more epochs continues it.
	code, stdout, stderr = runCLI(t, "train", "--resume", "--out", run, "--epochs", "2", "--builtin-train", "256", "--builtin-test", "64", "--quiet")
	if code != 0 || !strings.Contains(stdout, "epoch 2 done") {
		t.Fatalf("resume exit %d: %s %s", code, stdout, stderr)
	}
}

func TestModelsCommand(t *testing.T) {
	code, stdout, _ := runCLI(t, "models")
	for _, n := range zoo.Names() {
		if code != 0 || !strings.Contains(stdout, n) {
			t.Errorf("models output lacks %s: %q", n, stdout)
		}
	}
}

func TestBenchCommands(t *testing.T) {
	code, stdout, stderr := runCLI(t, "bench", "train", "--batch", "2", "--steps", "1", "--warmup", "0")
	if code != 0 || !strings.Contains(stdout, "images/s") {
		t.Errorf("bench train: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "bench", "infer", "--images", "2", "--calib", "2", "--model", "espcn")
	if code != 0 || !strings.Contains(stdout, "reference interpreter") {
		t.Errorf("bench infer: exit %d %q %q", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "bench", "train", "--batch", "0"); code != exitInput {
		t.Errorf("bench train --batch 0: exit %d", code)
	}
}

func TestEvalTinyImagesSSIM(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 4)
	code, _, stderr := runCLI(t, "eval", "--model", model, "--crop", "8", "--builtin-test", "16", "--grid", "")
	if code != exitInput || !strings.Contains(stderr, "--no-ssim") {
		t.Errorf("8x8 images with SSIM: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "eval", "--model", model, "--crop", "8", "--builtin-test", "16", "--grid", "", "--no-ssim", "--json")
	if code != 0 || !strings.Contains(stdout, `"psnr"`) {
		t.Errorf("--no-ssim: exit %d, %q %q", code, stdout, stderr)
	}
}
