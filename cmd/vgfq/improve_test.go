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

// TestPTQImprovements runs ptq with every named option and checks they are recorded in
// quant.json and the INT8 artifacts are written.
func TestPTQImprovements(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64",
		"--calib", "16", "--eval-images", "64", "--layer-images", "0", "--out", out, "--quiet",
		"--cle", "--bias-correction", "--adaround", "--adaround-iters", "20", "--adaround-batch", "4")
	if code != 0 {
		t.Fatalf("ptq exit %d: %s %s", code, stdout, stderr)
	}
	for _, want := range []string{"CLE conv1 -> conv2 via relu1", "AdaRound conv2", "bias correction conv3", "INT8 (.vgf)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
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
		Options struct {
			CLE       bool `json:"cle"`
			CLEReport struct {
				Pairs []struct{ First, Second string } `json:"pairs"`
			} `json:"cle_report"`
			AdaRound *struct {
				Iters int `json:"iterations"`
			} `json:"adaround"`
			AdaRoundLayers []struct {
				Node string `json:"node"`
			} `json:"adaround_layers"`
			BiasCorrection  bool `json:"bias_correction"`
			BiasCorrections []struct {
				Node string `json:"node"`
			} `json:"bias_corrections"`
		} `json:"ptq_options"`
	}
	js, _ := os.ReadFile(filepath.Join(out, "quant.json"))
	if err := json.Unmarshal(js, &summary); err != nil {
		t.Fatal(err)
	}
	o := summary.Options
	if !o.CLE || len(o.CLEReport.Pairs) != 2 || o.AdaRound == nil || o.AdaRound.Iters != 20 || len(o.AdaRoundLayers) != 3 ||
		!o.BiasCorrection || len(o.BiasCorrections) != 3 {
		t.Errorf("quant.json ptq_options: %+v", o)
	}
	// Off by default, and recorded as off.
	out2 := filepath.Join(dir, "out2")
	if code, _, stderr := runCLI(t, "ptq", "--model", model, "--builtin-train", "64", "--builtin-test", "64",
		"--calib", "8", "--eval-images", "0", "--layer-images", "0", "--out", out2, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	js, _ = os.ReadFile(filepath.Join(out2, "quant.json"))
	if !strings.Contains(string(js), `"cle": false`) || !strings.Contains(string(js), `"adaround": null`) || !strings.Contains(string(js), `"bias_correction": false`) {
		t.Errorf("default quant.json does not record the options as off")
	}
}

// TestPTQImprovementsBadInput: an option that cannot apply, or bad AdaRound settings, exit 2
// naming the flag, and nothing is written.
func TestPTQImprovementsBadInput(t *testing.T) {
	dir := t.TempDir()
	b := graph.NewBuilder("single", 1)
	x := b.Input("x", 1, 3, 16, 16)
	up := b.Upsample("up", x, 2, "bilinear")
	g, err := b.Build(b.Conv2d("conv", up, graph.ConvSpec{In: 3, Out: 3, Kernel: 3, Padding: 1}))
	if err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single")
	if err := g.Save(single); err != nil {
		t.Fatal(err)
	}
	model := saveZoo(t, dir, "upscaler", 16)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		model string
		args  []string
		want  string
	}{
		{single, []string{"--cle"}, "--cle: graph \"single\": no pair of consecutive convolutions"},
		{model, []string{"--adaround", "--adaround-iters", "-3"}, "--adaround-iters -3"},
		{model, []string{"--adaround", "--adaround-batch", "0"}, "--adaround-batch 0"},
	} {
		args := append([]string{"ptq", "--model", c.model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--out", out, "--quiet"}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != exitInput || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q (want one line with %q)", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: left %s behind", c.args, out)
		}
	}
	code, _, stderr := runCLI(t, "sensitivity", "--model", single, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--cle")
	if code != exitInput || !strings.Contains(stderr, "--cle") {
		t.Errorf("sensitivity --cle on a single conv: exit %d %q", code, stderr)
	}
}

// TestSensitivityCLI checks the JSON report names every quantizable unit of the upscaler.
func TestSensitivityCLI(t *testing.T) {
	dir := t.TempDir()
	model := saveZoo(t, dir, "upscaler", 16)
	code, stdout, stderr := runCLI(t, "sensitivity", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--images", "32", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		FP32     float64 `json:"fp32_psnr"`
		FQ       float64 `json:"fake_quant_psnr"`
		FQVsFP32 float64 `json:"fake_quant_vs_fp32_psnr"`
		Entries  []struct {
			Node, Kind string
			OnlyDrop   float64 `json:"only_drop_db"`
			OnlyVsFP32 float64 `json:"only_vs_fp32_psnr"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	got := map[string]bool{}
	for i, e := range rep.Entries {
		got[e.Kind+" "+e.Node] = true
		// One unit quantized is closer to FP32 than everything quantized.
		if !(e.OnlyVsFP32 > rep.FQVsFP32) {
			t.Errorf("%s %s: only-vs-FP32 %v not above all-quantized %v", e.Kind, e.Node, e.OnlyVsFP32, rep.FQVsFP32)
		}
		if i > 0 && e.OnlyDrop > rep.Entries[i-1].OnlyDrop {
			t.Errorf("entries not ranked by drop: %v", rep.Entries)
		}
	}
	for _, want := range []string{"weights conv1", "weights conv2", "weights conv3", "activation upsample", "activation relu1", "activation relu2", "activation conv3"} {
		if !got[want] {
			t.Errorf("report lacks %q: %v", want, got)
		}
	}
	if len(rep.Entries) != 7 || !(rep.FP32 > 3) || rep.FQ == rep.FP32 {
		t.Errorf("report: %+v", rep)
	}
	code, stdout, _ = runCLI(t, "sensitivity", "--model", model, "--builtin-train", "64", "--builtin-test", "64", "--calib", "8", "--images", "32")
	if code != 0 || !strings.Contains(stdout, "all-but-vs-FP32") || !strings.Contains(stdout, "relu1") {
		t.Errorf("table: %d %s", code, stdout)
	}
}
