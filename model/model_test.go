package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadKinds(t *testing.T) {
	l, err := Load("espcn", Options{H: 8, W: 12})
	if err != nil || l.Kind != Zoo || !reflect.DeepEqual(l.Graph.Inputs()[0].Attrs.Shape, []int{1, 3, 8, 12}) {
		t.Fatalf("zoo: %v %+v", err, l)
	}
	l, err = Load("../onnx/testdata/corpus/unet_op13.onnx", Options{})
	if err != nil || l.Kind != ONNX || l.ONNX == nil || l.Graph.Outputs[0] != "output" {
		t.Fatalf("onnx: %v", err)
	}
	dir := t.TempDir()
	if err := l.Graph.Save(dir); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir, Options{})
	if err != nil || d.Kind != Dir || len(d.Graph.Nodes) != len(l.Graph.Nodes) {
		t.Fatalf("dir: %v", err)
	}
	for spec, want := range map[string]string{
		"nope":                    `unknown model "nope"`,
		"missing.onnx":            "missing.onnx",
		"model_test.go":           "not a model directory",
		"../onnx/testdata":        "graph.json",
		"../onnx/testdata/x.ONNX": "x.ONNX",
	} {
		if _, err := Load(spec, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q): %v, want an error mentioning %q", spec, err, want)
		}
	}
	if _, err := Load("upscaler", Options{InputShapes: map[string][]int{"input": {1, 3, 4, 4}}}); err == nil {
		t.Error("--input-shape on a zoo model was accepted")
	}
}

func TestParseInputShapes(t *testing.T) {
	got, err := ParseInputShapes([]string{"input=1x3x64x64", "b=2x1x5x7"})
	if err != nil || !reflect.DeepEqual(got, map[string][]int{"input": {1, 3, 64, 64}, "b": {2, 1, 5, 7}}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"input", "=1x3", "x=1x0x3", "x=1xax3", "x=", "x=1x99999999"} {
		if _, err := ParseInputShapes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseInputShapes([]string{"a=1", "a=2"}); err == nil {
		t.Error("duplicate accepted")
	}
}
