package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// TestPTQA16W8 runs ptq --a16w8 with names and with auto:DB and checks the int16 graph, the
// record in quant.json and that the graph I/O (io.json) stays int8.
func TestPTQA16W8(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	g, _ := zoo.Upscaler(16, 16, 1)
	if err := g.Save(model); err != nil {
		t.Fatal(err)
	}
	common := []string{"ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "16", "--layer-images", "4", "--quiet"}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, append(common, "--eval-images", "64", "--out", out, "--a16w8", "conv1,relu2")...)
	if code != 0 {
		t.Fatalf("ptq exit %d: %s %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "a16w8: int16 activations [relu1,relu2]") || !strings.Contains(stdout, "INT8 (.vgf)") {
		t.Errorf("output:\n%s", stdout)
	}
	buf, err := os.ReadFile(filepath.Join(out, "model.tosa"))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := tosa.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	types := map[tosa.DType]int{}
	for _, tt := range tg.Tensors {
		types[tt.Type]++
	}
	if types[tosa.Int16] == 0 || types[tosa.Int48] == 0 {
		t.Errorf("model.tosa has no INT16/INT48 tensors: %v", types)
	}
	var summary struct {
		Tensors []struct {
			Source string `json:"source"`
			Int16  bool   `json:"int16"`
			ZP     int32  `json:"zero_point"`
		} `json:"tensors"`
		Options struct {
			A16W8 *struct {
				Requested []string `json:"requested"`
				Int16     []string `json:"int16"`
				Scheme    string   `json:"scheme"`
			} `json:"a16w8"`
		} `json:"ptq_options"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "quant.json"))
	if err := json.Unmarshal(js, &summary); err != nil {
		t.Fatal(err)
	}
	a := summary.Options.A16W8
	if a == nil || strings.Join(a.Requested, ",") != "conv1,relu2" || strings.Join(a.Int16, ",") != "relu1,relu2" || !strings.Contains(a.Scheme, "-32767") {
		t.Errorf("quant.json a16w8: %+v", a)
	}
	n16 := 0
	for _, ti := range summary.Tensors {
		if ti.Int16 {
			n16++
			if ti.ZP != 0 {
				t.Errorf("int16 tensor %s has zero point %d", ti.Source, ti.ZP)
			}
		}
	}
	if n16 < 2 {
		t.Errorf("quant.json marks %d tensors int16", n16)
	}
	c, err := export.ReadContract(filepath.Join(out, "io.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.TOSAExtensions, ",") != "EXT-INT16" {
		t.Errorf("io.json tosa_extensions %v, want [EXT-INT16]", c.TOSAExtensions)
	}
	if c.Inputs[0].ElementType != "int8" || c.Outputs[0].ElementType != "int8" {
		t.Errorf("io.json I/O %s / %s, want int8", c.Inputs[0].ElementType, c.Outputs[0].ElementType)
	}
	if code, stdout, _ := runCLI(t, "inspect", filepath.Join(out, "model.vgf")); code != 0 || !strings.Contains(stdout, "needs TOSA extensions: EXT-INT16") || !strings.Contains(stdout, "INT48") {
		t.Errorf("inspect of the int16 .vgf: %d\n%s", code, stdout)
	}
	// vgfq run executes the .vgf with int16 layers.
	if code, stdout, stderr := runCLI(t, "run", filepath.Join(out, "model.vgf"), "--input", filepath.Join(out, "input.npy"), "--output", filepath.Join(dir, "y.npy")); code != 0 {
		t.Errorf("run: %d %s %s", code, stdout, stderr)
	} else {
		got, _ := os.ReadFile(filepath.Join(dir, "y.npy"))
		want, _ := os.ReadFile(filepath.Join(out, "expected_output.npy"))
		if len(got) == 0 || string(got) != string(want) {
			t.Error("vgfq run's output differs from expected_output.npy")
		}
	}
	// --a16w8-eps-2-16 lifts the 2^-12 floor of the int16 scale (the random model's hidden
	// activations are far below 8, so the default scale is exactly 2^-12).
	scaleOf := func(dir, node string) float64 {
		var s struct {
			Tensors []struct {
				Source string  `json:"source"`
				Scale  float64 `json:"scale"`
			} `json:"tensors"`
		}
		js, _ := os.ReadFile(filepath.Join(dir, "quant.json"))
		_ = json.Unmarshal(js, &s)
		for _, ti := range s.Tensors {
			if ti.Source == node {
				return ti.Scale
			}
		}
		return -1
	}
	out16 := filepath.Join(dir, "eps16")
	if code, _, stderr := runCLI(t, append(common, "--eval-images", "0", "--out", out16, "--a16w8", "relu1", "--a16w8-eps-2-16")...); code != 0 {
		t.Fatal(stderr)
	}
	if s12, s16 := scaleOf(out, "relu1"), scaleOf(out16, "relu1"); float32(s12) != float32(1.0/4096) || !(s16 < s12 && s16 > 0) {
		t.Errorf("relu1 int16 scale: eps 2^-12 %g, eps 2^-16 %g", s12, s16)
	}
	// auto with a tolerance the INT8 graph already meets picks nothing; a negative-infinite
	// one is refused by the parser; a zero tolerance the random model cannot reach is refused
	// with the best selection named.
	outA := filepath.Join(dir, "auto")
	code, stdout, stderr = runCLI(t, append(common, "--eval-images", "0", "--out", outA, "--a16w8", "auto:1000", "--a16w8-images", "32")...)
	if code != 0 || !strings.Contains(stdout, "a16w8 auto: int16 []") {
		t.Fatalf("auto:1000: exit %d %s %s", code, stdout, stderr)
	}
	js, _ = os.ReadFile(filepath.Join(outA, "quant.json"))
	if !strings.Contains(string(js), `"reached": true`) || !strings.Contains(string(js), `"ranking": [`) {
		t.Errorf("auto record:\n%s", js)
	}
}

// TestPTQA16W8BadInput: unknown or ineligible nodes and bad auto:DB exit 2 with one line and
// write nothing.
func TestPTQA16W8BadInput(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	g, _ := zoo.Upscaler(16, 16, 1)
	if err := g.Save(model); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct{ spec, want string }{
		{"nosuch", `--a16w8 "nosuch": no such node in graph "upscaler" (valid: relu1|conv1, relu2|conv2)`},
		{"relu1,conv3", `--a16w8 "conv3" cannot be int16: it is the graph output "conv3"`},
		{"x", `--a16w8 "x" cannot be int16: it is the graph input "x"`},
		{"auto:abc", `--a16w8 "auto:abc": want auto:DB with DB a non-negative number`},
		{"auto:-1", `--a16w8 "auto:-1": want auto:DB`},
		{"auto:NaN", `--a16w8 "auto:NaN": want auto:DB`},
		{"auto", `--a16w8 auto: give the tolerance`},
		{"relu1,,relu2", `empty node name`},
		{"auto:0", `--a16w8 auto:0: no selection of int16 activations reaches the target`},
		{"", `--a16w8-eps-2-16 needs --a16w8`},
	} {
		args := []string{"ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--out", out, "--quiet", "--a16w8", c.spec, "--a16w8-images", "16"}
		if c.spec == "" {
			args = append(args, "--a16w8-eps-2-16")
		}
		code, _, stderr := runCLI(t, args...)
		if code != exitInput || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q (want one line with %q)", c.spec, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: left %s behind", c.spec, out)
		}
	}
}

// TestPTQA16W8ONNX: an imported ONNX model (the corpus's actnet: conv, ReLU, Clip, Mul, Sub)
// with every eligible value int16 — standalone CLAMP on int16, MUL and SUB with int16
// operands — quantizes, exports and runs.
func TestPTQA16W8ONNX(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	model := filepath.Join("..", "..", "onnx", "testdata", "corpus", "actnet_op17.onnx")
	code, stdout, stderr := runCLI(t, "ptq", "--model", model, "--crop", "18", "--builtin-train", "64", "--builtin-test", "64",
		"--calib", "16", "--eval-images", "0", "--layer-images", "0", "--quiet", "--out", out,
		"--a16w8", "/Relu_output_0,/Clip_output_0,/Mul_output_0,/Sub_output_0,/Clip_1_output_0")
	if code != 0 {
		t.Fatalf("ptq exit %d: %s %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "a16w8: int16 activations [/Relu_output_0,/Clip_output_0,/Mul_output_0,/Sub_output_0,/Clip_1_output_0]") {
		t.Errorf("output:\n%s", stdout)
	}
	buf, err := os.ReadFile(filepath.Join(out, "model.tosa"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := tosa.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, op := range g.Ops {
		if len(op.Outputs) == 1 && g.Tensor(op.Outputs[0]).Type == tosa.Int16 {
			ops[op.Op.String()] = true
		}
	}
	if !ops["CLAMP"] || !ops["RESCALE"] {
		t.Errorf("int16 results only from %v", ops)
	}
	if code, stdout, stderr := runCLI(t, "run", filepath.Join(out, "model.vgf"), "--input", filepath.Join(out, "input.npy"), "--output", filepath.Join(dir, "y.npy")); code != 0 {
		t.Fatalf("run: %d %s %s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "y.npy"))
	want, _ := os.ReadFile(filepath.Join(out, "expected_output.npy"))
	if len(got) == 0 || string(got) != string(want) {
		t.Error("vgfq run's output differs from expected_output.npy")
	}
}
