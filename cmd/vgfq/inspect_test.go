package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/export/exporttest"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/tosa"
)

// exported writes an exported upscaler (model.vgf & co) plus model.tosa into a temp dir.
func exported(t *testing.T, layout lower.Layout) (string, *export.Artifacts) {
	t.Helper()
	res := exporttest.Lowered(t, "upscaler", 8, 8, layout, 6)
	dir := t.TempDir()
	a, err := export.WriteVGF(res, dir, export.Options{DebugInfo: true, Inputs: exporttest.RandomInputs(res, 3)})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tosa.Encode(res.Graph)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "model.tosa"), tb, 0o644)
	return dir, a
}

func TestInspectCLI(t *testing.T) {
	dir, _ := exported(t, lower.NCHW)
	vgfPath, tosaPath := filepath.Join(dir, "model.vgf"), filepath.Join(dir, "model.tosa")
	for _, p := range []string{vgfPath, tosaPath} {
		code, out, stderr := runCLI(t, "inspect", p)
		if code != 0 {
			t.Fatalf("inspect %s: exit %d: %s", p, code, stderr)
		}
		for _, want := range []string{"CONV2D", "TRANSPOSE: 2", "from node x", "RESCALE: ", "from node conv1", "multiplier"} {
			if !strings.Contains(out, want) {
				t.Errorf("inspect %s: output lacks %q", p, want)
			}
		}
		for _, flag := range []string{"--json", "--dot", "--svg"} {
			code, out, stderr := runCLI(t, "inspect", flag, p)
			if code != 0 || len(out) < 100 {
				t.Errorf("inspect %s %s: exit %d: %s", flag, p, code, stderr)
			}
		}
	}
	code, out, _ := runCLI(t, "inspect", "--vgf-dump", vgfPath)
	if code != 0 || !strings.Contains(out, `"VK_FORMAT_R8_SINT"`) || strings.HasSuffix(out, "\n") {
		t.Errorf("--vgf-dump: exit %d", code)
	}
	code, out, _ = runCLI(t, "inspect", "--scenario-template", vgfPath)
	if code != 0 || !strings.Contains(out, `"TEMPLATE_PATH_TENSOR_INPUT_0"`) || !strings.Contains(out, `"src": "model.vgf"`) {
		t.Errorf("--scenario-template: exit %d\n%s", code, out)
	}
	svg := filepath.Join(dir, "g.svg")
	if code, _, stderr := runCLI(t, "inspect", "--svg", "-o", svg, vgfPath); code != 0 || !fileExists(svg) {
		t.Errorf("-o: exit %d %s", code, stderr)
	}
	// vgf_dump fixtures through the CLI, byte for byte.
	fx := "../../internal/testdata/fixtures/vgf/simple_conv2d_rescale_graph_v0_4_3"
	if want, err := os.ReadFile(fx + ".dump.json"); err != nil {
		t.Fatal(err)
	} else {
		if code, out, _ := runCLI(t, "inspect", "--vgf-dump", fx+".vgf"); code != 0 || out != string(want) {
			t.Errorf("fixture --vgf-dump differs")
		}
		want, _ := os.ReadFile(fx + ".scenario.json")
		if code, out, _ := runCLI(t, "inspect", "--scenario-template", fx+".vgf"); code != 0 || out != string(want) {
			t.Errorf("fixture --scenario-template differs")
		}
	}
}

func TestRunCLI(t *testing.T) {
	for _, layout := range []lower.Layout{lower.NHWC, lower.NCHW} {
		dir, a := exported(t, layout)
		expected, _ := os.ReadFile(filepath.Join(dir, "expected_output.npy"))
		for _, model := range []string{"model.vgf", "model.tosa"} {
			y := filepath.Join(dir, "y_"+model+".npy")
			code, out, stderr := runCLI(t, "run", filepath.Join(dir, model), "--input", filepath.Join(dir, "input.npy"), "--output", y)
			if code != 0 {
				t.Fatalf("run %s: exit %d: %s", model, code, stderr)
			}
			got, _ := os.ReadFile(y)
			if !bytes.Equal(got, expected) {
				t.Errorf("run %s: output.npy differs from expected_output.npy", model)
			}
			if !strings.Contains(out, "wrote") {
				t.Errorf("run output: %q", out)
			}
		}
		// PNG in, PNG out, scales from io.json next to model.vgf.
		in := a.Contract.Inputs[0]
		_, c, h, w, _ := imageLayout(in.Shape, in.Layout)
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = byte(i * 7)
		}
		var pb bytes.Buffer
		png.Encode(&pb, img)
		xp := filepath.Join(dir, "x.png")
		os.WriteFile(xp, pb.Bytes(), 0o644)
		yp := filepath.Join(dir, "y.png")
		if code, _, stderr := runCLI(t, "run", filepath.Join(dir, "model.vgf"), "--input", xp, "--output", yp); code != 0 {
			t.Fatalf("png run: exit %d: %s (c=%d)", code, stderr, c)
		}
		f, err := os.Open(yp)
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil || im.Bounds().Dx() != 2*w || im.Bounds().Dy() != 2*h {
			t.Fatalf("output png: %v %v", err, im.Bounds())
		}
		// The same through the .tosa with explicit flags gives the same PNG.
		o := a.Contract.Outputs[0]
		yp2 := filepath.Join(dir, "y2.png")
		args := []string{"run", filepath.Join(dir, "model.tosa"), "--input", xp, "--output", yp2,
			"--input-scale", ftoa(in.Scale), "--input-zp", itoa(in.ZeroPoint), "--output-scale", ftoa(o.Scale), "--output-zp", itoa(o.ZeroPoint)}
		if layout == lower.NHWC { // without a contract the layout is inferred from the shape
			os.Rename(filepath.Join(dir, "io.json"), filepath.Join(dir, "io.json.bak"))
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("png run with flags: exit %d: %s", code, stderr)
		}
		b1, _ := os.ReadFile(yp)
		b2, _ := os.ReadFile(yp2)
		if !bytes.Equal(b1, b2) {
			t.Errorf("PNG from .vgf + io.json differs from .tosa + flags")
		}
		if layout == lower.NHWC {
			code, _, stderr := runCLI(t, "run", filepath.Join(dir, "model.tosa"), "--input", xp, "--output", yp2)
			if code != exitInput || !strings.Contains(stderr, "scale and zero point are unknown") || !strings.Contains(stderr, "model.tosa") {
				t.Errorf("unknown scales: exit %d: %s", code, stderr)
			}
		}
	}
}

func ftoa(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

func itoa(v int32) string { return strconv.Itoa(int(v)) }

func TestInspectRunBadInput(t *testing.T) {
	dir, _ := exported(t, lower.NHWC)
	vgfPath := filepath.Join(dir, "model.vgf")
	good, _ := os.ReadFile(vgfPath)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	trunc := write("trunc.vgf", good[:300])
	v05 := append([]byte{}, good...)
	v05[9] = 5
	ver := write("v05.vgf", v05)
	junk := write("junk.vgf", []byte("not a model at all"))
	npy3 := write("wrong.npy", mustNPY(t, &tosa.Tensor{Type: tosa.Int8, Shape: []int{1, 4, 4, 3}, Data: make([]byte, 48)}))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"inspect", trunc}, "trunc.vgf"},
		{[]string{"inspect", ver}, "v05.vgf"},
		{[]string{"inspect", junk}, "not a .tosa or .vgf file"},
		{[]string{"inspect", filepath.Join(dir, "missing.vgf")}, "missing.vgf"},
		{[]string{"inspect", "--json", "--dot", vgfPath}, "at most one"},
		{[]string{"inspect", "--vgf-dump", filepath.Join(dir, "model.tosa")}, "not a .vgf file"},
		{[]string{"run", trunc, "--input", npy3, "--output", "y.npy"}, "trunc.vgf"},
		{[]string{"run", vgfPath, "--input", npy3, "--output", filepath.Join(dir, "y.npy")}, "wrong.npy"},
		{[]string{"run", vgfPath, "--input", junk, "--output", filepath.Join(dir, "y.png")}, "junk.vgf"},
		{[]string{"run", vgfPath, "--input", npy3, "--output", filepath.Join(dir, "y.txt")}, "--output"},
		{[]string{"run", vgfPath, "--output", filepath.Join(dir, "y.npy")}, "--input"},
		{[]string{"run", vgfPath, "--input", filepath.Join(dir, "nope.npy"), "--output", filepath.Join(dir, "y.npy")}, "nope.npy"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitInput || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, stderr, c.want)
		}
	}
}

func mustNPY(t *testing.T, x *tosa.Tensor) []byte {
	b, err := export.EncodeNPY(x)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
