package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainOnTorchvisionCIFAR: --data takes the cifar-10-batches-py directory torchvision
// keeps, or its parent, and --cache-dir finds it for --data cifar10 (the test pickles are
// written by tools/golden/cifar_pickle_gen.py in the published layout).
func TestTrainOnTorchvisionCIFAR(t *testing.T) {
	py, _ := filepath.Abs("../../data/testdata/cifar-10-batches-py")
	root := t.TempDir()
	if err := os.Symlink(py, filepath.Join(root, "cifar-10-batches-py")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--data", py},
		{"--data", root},
		{"--data", "cifar10", "--cache-dir", root, "--no-fallback"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		a := append([]string{"train", "--model", "espcn", "--batch", "4", "--epochs", "1", "--max-steps", "2", "--quiet", "--out", out}, args...)
		code, stdout, stderr := runCLI(t, a...)
		if code != 0 || !strings.Contains(stdout, "data cifar10: 15 train / 3 test images") {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
	}
}

// TestPairedFolderErrorsExit2: HR/LR folders that do not pair up are input errors naming the file.
func TestPairedFolderErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, w, h int) {
		var b bytes.Buffer
		png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b.Bytes(), 0o644)
	}
	for i := 1; i <= 10; i++ {
		write(fmt.Sprintf("HR/%04d.png", i), 64, 64)
		write(fmt.Sprintf("LR_bicubic/X2/%04dx2.png", i), 32, 32)
	}
	code, stdout, stderr := runCLI(t, "train", "--data", dir, "--batch", "2", "--max-steps", "1", "--quiet", "--out", filepath.Join(dir, "run"))
	if code != 0 || !strings.Contains(stdout, "data paired:") {
		t.Fatalf("good pairs: exit %d\n%s\n%s", code, stdout, stderr)
	}
	write("LR_bicubic/X2/0004x2.png", 30, 32)
	code, _, stderr = runCLI(t, "train", "--data", dir, "--batch", "2", "--max-steps", "1", "--quiet", "--out", filepath.Join(dir, "run2"))
	if code != 2 || !strings.Contains(stderr, "0004.png is 64x64 but its LR partner") {
		t.Fatalf("size mismatch: exit %d: %s", code, stderr)
	}
	os.Remove(filepath.Join(dir, "LR_bicubic/X2/0004x2.png"))
	code, _, stderr = runCLI(t, "train", "--data", dir, "--batch", "2", "--max-steps", "1", "--quiet", "--out", filepath.Join(dir, "run2"))
	if code != 2 || !strings.Contains(stderr, "0004.png has no LR partner") {
		t.Fatalf("missing LR: exit %d: %s", code, stderr)
	}
}
