package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vgfq/vgfq/onnx/onnxpb"
)

const corpus = "../../onnx/testdata/corpus/"

// TestONNXCommands runs the ONNX flows end to end on the corpus: check, ptq, export (QDQ and
// --format onnx), run.
func TestONNXCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "check", corpus+"unet_op17.onnx")
	if code != 0 || !strings.Contains(out, "every node lowers") {
		t.Fatalf("check unet: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "check", corpus+"cubic.onnx", "--json")
	var rep struct {
		OK    bool `json:"ok"`
		Nodes []struct{ Node, Op, Status, Reason, Fix string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	found := false
	for _, n := range rep.Nodes {
		if n.Op == "Resize" && n.Status == "unsupported" && strings.Contains(n.Reason, "cubic") && n.Fix != "" {
			found = true
		}
	}
	if code == 0 || rep.OK || !found {
		t.Fatalf("check cubic: exit %d ok %v, want the Resize named with a fix:\n%s", code, rep.OK, out)
	}
	ptqOut := filepath.Join(dir, "ptq")
	code, out, errs = runCLI(t, "ptq", "--model", corpus+"upscaler_op17.onnx", "--data", "builtin", "--builtin-train", "64", "--builtin-test", "64",
		"--crop", "24", "--calib", "8", "--eval-images", "0", "--layer-images", "0", "--quiet", "--out", ptqOut)
	if code != 0 {
		t.Fatalf("ptq upscaler.onnx: exit %d\n%s%s", code, out, errs)
	}
	b, err := os.ReadFile(filepath.Join(ptqOut, "io.json"))
	if err != nil || !strings.Contains(string(b), `"name": "input"`) || !strings.Contains(string(b), `"name": "output"`) {
		t.Fatalf("io.json does not carry the ONNX names: %v\n%s", err, b)
	}
	qdqOut := filepath.Join(dir, "qdq")
	code, out, errs = runCLI(t, "export", "--model", corpus+"qdq_op13.onnx", "--out", qdqOut)
	if code != 0 {
		t.Fatalf("export qdq: exit %d\n%s%s", code, out, errs)
	}
	for _, f := range []string{"model.tosa", "model.vgf", "io.json", "scenario.json", "input.npy", "expected_output.npy", "quant.json"} {
		if _, err := os.Stat(filepath.Join(qdqOut, f)); err != nil {
			t.Errorf("export qdq: %v", err)
		}
	}
	rt := filepath.Join(dir, "rt.onnx")
	if code, out, errs = runCLI(t, "export", "--format", "onnx", "--model", corpus+"fsrcnn_op13.onnx", "--out", rt); code != 0 {
		t.Fatalf("export --format onnx: exit %d\n%s%s", code, out, errs)
	}
	y := filepath.Join(dir, "y.npy")
	if code, out, errs = runCLI(t, "run", rt, "--input", corpus+"fsrcnn.in.npy", "--output", y); code != 0 {
		t.Fatalf("run rt.onnx: exit %d\n%s%s", code, out, errs)
	}
	got, err := readFloatNPY(y)
	if err != nil {
		t.Fatal(err)
	}
	want, err := readFloatNPY(corpus + "fsrcnn.out.npy")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Data {
		if d := got.Data[i] - want.Data[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("run of the re-exported model: element %d = %v, torch %v", i, got.Data[i], want.Data[i])
		}
	}
}

// TestONNXTrainEval fine-tunes an imported model and scores it, and fixes dynamic H/W with
// --input-shape.
func TestONNXTrainEval(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "ft")
	code, out, errs := runCLI(t, "train", "--model", corpus+"upscaler_op13.onnx", "--data", "builtin", "--builtin-train", "64",
		"--builtin-test", "32", "--crop", "24", "--batch", "16", "--epochs", "1", "--out", run, "--quiet")
	if code != 0 || !strings.Contains(out, "checkpoint written") {
		t.Fatalf("train .onnx: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "eval", "--model", run, "--data", "builtin", "--builtin-test", "32", "--crop", "24", "--batches", "1", "--json", "--grid", "")
	if code != 0 || !strings.Contains(out, `"psnr"`) {
		t.Fatalf("eval of the fine-tuned model: exit %d\n%s%s", code, out, errs)
	}
	// Dynamic H and W: refused without --input-shape, imported with it.
	mp, err := os.ReadFile(corpus + "upscaler_op13.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dyn := filepath.Join(dir, "dyn.onnx")
	if err := os.WriteFile(dyn, dynamicHW(t, mp), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs = runCLI(t, "check", dyn); code != 2 || !strings.Contains(errs, "--input-shape input=") {
		t.Fatalf("dynamic H/W without --input-shape: exit %d %q", code, errs)
	}
	if code, out, errs = runCLI(t, "check", dyn, "--input-shape", "input=1x3x20x28"); code != 0 || !strings.Contains(out, "every node lowers") {
		t.Fatalf("with --input-shape: exit %d\n%s%s", code, out, errs)
	}
}

// dynamicHW makes the model's input H and W dynamic.
func dynamicHW(t *testing.T, b []byte) []byte {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		t.Fatal(err)
	}
	d := mp.Graph.Input[0].Type.GetTensorType().Shape.Dim
	d[2].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "h"}
	d[3].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "w"}
	out, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestONNXBadInput: bad ONNX input exits 2 with one line naming the problem and writes nothing.
func TestONNXBadInput(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(corpus + "upscaler_op13.onnx")
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.onnx")
	if err := os.WriteFile(trunc, orig[:len(orig)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cases := [][]string{
		{"ptq", "--model", trunc, "--out", out, "--quiet"},
		{"check", trunc},
		{"export", "--model", trunc, "--out", out},
		{"export", "--model", corpus + "upscaler_op13.onnx", "--out", out}, // not a QDQ model
		{"export", "--model", corpus + "qdq_int16.onnx", "--out", out},
		{"export", "--model", corpus + "qdq_asym.onnx", "--out", out},
		{"ptq", "--model", corpus + "qdq_op13.onnx", "--out", out, "--quiet"}, // QDQ: use export
		{"ptq", "--model", corpus + "upscaler_op13.onnx", "--input-shape", "input=1x3", "--out", out, "--quiet"},
		{"ptq", "--model", corpus + "upscaler_op13.onnx", "--input-shape", "bogus", "--out", out, "--quiet"},
		{"run", corpus + "upscaler_op13.onnx", "--input", corpus + "espcn.in.npy", "--output", filepath.Join(out, "y.npy")},
	}
	for _, args := range cases {
		code, stdout, stderr := runCLI(t, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "vgfq: ") {
			t.Errorf("%v: exit %d, stderr %q (stdout %q); want exit 2 and one line", args, code, stderr, stdout)
		}
		t.Logf("%v: %s", args[:2], lines[0])
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v wrote %s", args, out)
		}
	}
}

// TestSameSizeModel: a model that does not upscale 2x (the corpus U-Net keeps its size) cannot be
// trained on or scored against the 2x super-resolution data: a clear exit 2 with nothing written,
// while ptq without scoring still quantizes it (calibration needs only the inputs).
func TestSameSizeModel(t *testing.T) {
	dir := t.TempDir()
	small := []string{"--data", "builtin", "--builtin-train", "64", "--builtin-test", "64"}
	out := filepath.Join(dir, "scored")
	code, _, errs := runCLI(t, append([]string{"ptq", "--model", corpus + "unet_op17.onnx", "--calib", "8", "--out", out}, small...)...)
	if code != 2 || !strings.Contains(errs, "2x super-resolution pairs") || !strings.Contains(errs, "--eval-images 0 --layer-images 0") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("ptq of a same-size model with scoring: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("ptq refused the model but wrote %s", out)
	}
	code, _, errs = runCLI(t, append([]string{"train", "--model", corpus + "unet_op17.onnx", "--epochs", "1", "--out", filepath.Join(dir, "fp32")}, small...)...)
	if code != 2 || !strings.Contains(errs, "2x super-resolution pairs") {
		t.Errorf("train of a same-size model: exit %d, stderr %q", code, errs)
	}
	out = filepath.Join(dir, "unscored")
	code, stdout, errs := runCLI(t, append([]string{"ptq", "--model", corpus + "unet_op17.onnx", "--calib", "8", "--eval-images", "0", "--layer-images", "0", "--out", out, "--quiet"}, small...)...)
	if code != 0 || !fileExists(filepath.Join(out, "model.vgf")) {
		t.Errorf("ptq of a same-size model without scoring: exit %d\n%s%s", code, stdout, errs)
	}
}
