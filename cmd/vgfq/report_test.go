package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyImages makes an image folder (train/ and test/) from the committed PNGs of the Y-metric
// golden test: whole images of 20x24, 41x33 and 48x48.
func copyImages(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join("..", "..", "metrics", "testdata", "ycbcr")
	for sub, files := range map[string][]string{"train": {"a_gt.png"}, "test": {"b_gt.png", "c_gt.png", "a_pred.png"}} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, sub, f), b, 0o644)
		}
	}
}

func quantized(t *testing.T, model string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	m := saveZoo(t, dir, model, 16)
	out := filepath.Join(dir, "ptq")
	code, stdout, stderr := runCLI(t, "ptq", "--model", m, "--builtin-train", "32", "--builtin-test", "32",
		"--calib", "8", "--eval-images", "0", "--layer-images", "4", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("ptq exit %d: %s %s", code, stdout, stderr)
	}
	return m, out
}

func TestReportCLI(t *testing.T) {
	m, out := quantized(t, "upscaler")
	page := filepath.Join(t.TempDir(), "r.html")
	code, stdout, stderr := runCLI(t, "report", m, out, "--builtin-test", "32", "--images", "32", "--grid-images", "2", "--metric", "y", "--out", page)
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != page {
		t.Errorf("stdout %q, want the path", stdout)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PTQ-INT8 (tosa)", "PTQ-INT8 (vgf)", "bit-identical", "Y-PSNR", "VK_FORMAT_R8_SINT", "per-layer error"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Whole images of any size: eval and report run the models at each image's size.
	imgs := t.TempDir()
	copyImages(t, imgs)
	var ys []map[string]any
	for _, f := range []string{m, filepath.Join(out, "model.tosa"), filepath.Join(out, "model.vgf")} {
		code, stdout, stderr := runCLI(t, "eval", "--model", f, "--data", imgs, "--full-image", "--metric", "y", "--json")
		if code != 0 {
			t.Fatalf("eval --full-image %s: exit %d: %s", f, code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		if r["images"] != 3.0 || r["metric"] != "y" || r["full_image"] != true || !(r["psnr"].(float64) > 0) {
			t.Errorf("eval %s: %v", f, r)
		}
		ys = append(ys, r)
	}
	if ys[1]["psnr"] != ys[2]["psnr"] || ys[1]["ssim"] != ys[2]["ssim"] {
		t.Errorf(".tosa %v and .vgf %v differ", ys[1], ys[2])
	}
	code, _, stderr = runCLI(t, "report", m, out, "--data", imgs, "--full-image", "--out", page)
	if code != 0 {
		t.Fatalf("report --full-image: exit %d: %s", code, stderr)
	}
	me := filepath.Join(t.TempDir(), "me.json")
	if code, _, stderr := runCLI(t, "inspect", filepath.Join(out, "model.vgf"), "--model-explorer", me); code != 0 {
		t.Fatalf("inspect --model-explorer: exit %d: %s", code, stderr)
	}
	var doc struct {
		Label  string `json:"label"`
		Graphs []struct {
			Nodes []map[string]any `json:"nodes"`
		} `json:"graphs"`
	}
	if b, err := os.ReadFile(me); err != nil || json.Unmarshal(b, &doc) != nil || len(doc.Graphs) != 1 || len(doc.Graphs[0].Nodes) < 10 {
		t.Errorf("model explorer file: %v %+v", err, doc)
	}
}

func TestReportBadInput(t *testing.T) {
	m, out := quantized(t, "espcn")
	empty := t.TempDir()
	imgs := t.TempDir()
	copyImages(t, imgs)
	page := filepath.Join(t.TempDir(), "r.html")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", empty, "--out", page}, "neither a float model"},
		{[]string{"report", filepath.Join(empty, "nope"), "--out", page}, "no such run directory"},
		{[]string{"report", m, "--metric", "z", "--out", page}, "--metric"},
		{[]string{"report", m, "--full-image", "--out", page}, "folder of images"},
		{[]string{"report", m, "--images", "0", "--out", page}, "--images"},
		{[]string{"report", m, out, "--builtin-test", "8", "--out", filepath.Join(empty, "no", "dir", "r.html")}, "--out"},
		{[]string{"eval", "--model", m, "--metric", "x"}, "--metric"},
		// ESPCN's pixel shuffle pins its INT8 shapes: whole images run in 16x16 tiles, and an
		// image smaller than one tile (10x12 LR) is refused with the reason.
		{[]string{"eval", "--model", filepath.Join(out, "model.tosa"), "--data", imgs, "--full-image"}, "smaller than the model's 16x16 input"},
		{[]string{"inspect", filepath.Join(out, "model.tosa"), "--model-explorer", page, "--json"}, "at most one"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || !strings.Contains(lines[len(lines)-1], c.want) || strings.Count(stderr, "vgfq:") != 1 {
			t.Errorf("%v: exit %d, stderr %q (want exit 2 and %q on one line)", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(page); !os.IsNotExist(err) {
		t.Error("a failed report left a file")
	}
	// Whole images at least one tile large: ESPCN's INT8 rows run tiled, and say so.
	os.Remove(filepath.Join(imgs, "test", "a_pred.png"))
	code, _, stderr := runCLI(t, "report", m, out, "--data", imgs, "--full-image", "--out", page)
	if code != 0 {
		t.Fatalf("espcn report --full-image: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "overlapping 16x16 tiles with a 4-pixel halo") || !strings.Contains(string(b), "bit-identical") {
		t.Error("the report does not say the INT8 rows ran tiled")
	}
}
