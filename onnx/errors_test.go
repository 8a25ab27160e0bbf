package onnx

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

func loadProto(t testing.TB, path string) *pb.ModelProto {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		t.Fatal(err)
	}
	return &mp
}

func encode(t testing.TB, mp *pb.ModelProto) []byte {
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func findNode(mp *pb.ModelProto, name string) *pb.NodeProto {
	for _, n := range mp.Graph.Node {
		if n.GetName() == name {
			return n
		}
	}
	return nil
}

// TestBadModels: every malformed model gets one line naming the node or field.
func TestBadModels(t *testing.T) {
	const src = "testdata/corpus/upscaler_op13.onnx"
	orig, _ := os.ReadFile(src)
	cases := []struct {
		name   string
		data   func() []byte
		opt    Options
		node   string // the error must name this node ("" : none)
		substr string
	}{
		{"truncated", func() []byte { return orig[:len(orig)/2] }, Options{}, "", "truncated"},
		{"not onnx", func() []byte { return []byte("PK\x03\x04 this is a zip") }, Options{}, "", "not a valid ONNX"},
		{"opset 9", func() []byte {
			mp := loadProto(t, src)
			mp.OpsetImport[0].Version = proto.Int64(9)
			return encode(t, mp)
		}, Options{}, "", "opset 9"},
		{"unknown domain", func() []byte {
			mp := loadProto(t, src)
			findNode(mp, "/conv2/Conv").Domain = proto.String("com.microsoft")
			return encode(t, mp)
		}, Options{}, "/conv2/Conv", "com.microsoft"},
		{"unknown op", func() []byte {
			mp := loadProto(t, src)
			findNode(mp, "/Relu").OpType = proto.String("Softsign")
			return encode(t, mp)
		}, Options{}, "/Relu", "Softsign"},
		{"dynamic H and W", func() []byte {
			mp := loadProto(t, src)
			d := mp.Graph.Input[0].Type.GetTensorType().Shape.Dim
			d[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "height"}
			d[3].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "width"}
			return encode(t, mp)
		}, Options{}, "", "--input-shape input=1x3x64x64"},
		{"input-shape of another input", func() []byte { return orig }, Options{InputShapes: map[string][]int{"x": {1, 3, 8, 8}}}, "", `no input "x"`},
		{"missing initializer", func() []byte {
			mp := loadProto(t, src)
			var keep []*pb.TensorProto
			for _, i := range mp.Graph.Initializer {
				if i.GetName() != "conv2.weight" {
					keep = append(keep, i)
				}
			}
			mp.Graph.Initializer = keep
			return encode(t, mp)
		}, Options{}, "/conv2/Conv", "missing initializer"},
		{"cycle", func() []byte {
			mp := loadProto(t, src)
			findNode(mp, "/conv1/Conv").Input[0] = "output"
			return encode(t, mp)
		}, Options{}, "", "cycle"},
		{"mismatched shapes", func() []byte {
			mp := loadProto(t, src)
			for _, i := range mp.Graph.Initializer {
				if i.GetName() == "conv2.weight" { // 8x8x3x3 -> 8x5x3x3 (and its data)
					i.Dims = []int64{8, 5, 3, 3}
					i.RawData = i.RawData[:8*5*9*4]
				}
			}
			return encode(t, mp)
		}, Options{}, "/conv2/Conv", "channel"},
		{"bad raw_data", func() []byte {
			mp := loadProto(t, src)
			mp.Graph.Initializer[0].RawData = mp.Graph.Initializer[0].RawData[:5]
			return encode(t, mp)
		}, Options{}, "", "raw_data"},
		{"external data escaping", func() []byte {
			mp := loadProto(t, src)
			i := mp.Graph.Initializer[0]
			i.RawData = nil
			i.DataLocation = pb.TensorProto_EXTERNAL.Enum()
			i.ExternalData = []*pb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("../../etc/passwd")}}
			return encode(t, mp)
		}, Options{}, "", "relative path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.data(), "testdata/corpus", c.opt)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line")
			}
			if !strings.Contains(msg, c.substr) {
				t.Errorf("error does not mention %q", c.substr)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *onnx.Error")
			}
			if c.node != "" && e.Node != c.node && !strings.Contains(msg, c.node) {
				t.Errorf("error names node %q, want %q", e.Node, c.node)
			}
			if strings.Contains(msg, "vgfq bug") {
				t.Errorf("an internal panic, not a checked error")
			}
		})
	}
}

// TestInputShapeFixesDynamic: --input-shape makes a model with dynamic H and W import, at any
// size (here 1x3x10x14, odd aspect).
func TestInputShapeFixesDynamic(t *testing.T) {
	mp := loadProto(t, "testdata/corpus/upscaler_op13.onnx")
	d := mp.Graph.Input[0].Type.GetTensorType().Shape.Dim
	d[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "height"}
	d[3].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "width"}
	m, err := Decode(encode(t, mp), "", Options{InputShapes: map[string][]int{"input": {1, 3, 10, 14}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.Node(m.Graph.Outputs[0]).Shape; got[2] != 20 || got[3] != 28 {
		t.Fatalf("output %v, want 1x3x20x28", got)
	}
}

// TestRoundTrip: Encode then import computes exactly what the imported graph computed (the
// corpus, and every Resize / DepthToSpace / SpaceToDepth case).
func TestRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/resize/*.onnx")
	for _, name := range corpusModels {
		files = append(files, "testdata/corpus/"+name+"_op13.onnx")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".onnx")
		m, err := Load(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Encode(m.Graph)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m2, err := Decode(b, "", Options{})
		if err != nil {
			t.Fatalf("%s: re-import: %v", name, err)
		}
		x := engine.New(m.Graph.Inputs()[0].Attrs.Shape...)
		for i := range x.Data {
			x.Data[i] = float32(math.Sin(float64(i) * 0.7))
		}
		y1, y2 := runFloat(t, m.Graph, x), runFloat(t, m2.Graph, x)
		for i := range y1.Data {
			if y1.Data[i] != y2.Data[i] {
				t.Fatalf("%s: output %d differs after the round trip: %v vs %v", name, i, y1.Data[i], y2.Data[i])
			}
		}
		if m2.Graph.Inputs()[0].Name != "input" || m2.Graph.Outputs[0] != "output" {
			t.Errorf("%s: names %q -> %q after the round trip", name, m2.Graph.Inputs()[0].Name, m2.Graph.Outputs[0])
		}
	}
}

// FuzzDecode: no input panics or hangs the reader; errors are one line.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"upscaler_op13", "bnnet_op13", "qdq_op17", "unet_op17"} {
		b, err := os.ReadFile("testdata/corpus/" + name + ".onnx")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Decode(data, "", Options{})
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		if err != nil && strings.Contains(err.Error(), "vgfq bug") {
			t.Fatalf("panic: %v", err)
		}
	})
}

// TestExternalData: initializers stored in a file next to the model (offset/length) load and
// give the same outputs.
func TestExternalData(t *testing.T) {
	mp := loadProto(t, "testdata/corpus/upscaler_op13.onnx")
	dir := t.TempDir()
	var blob []byte
	for _, i := range mp.Graph.Initializer {
		off := len(blob)
		blob = append(blob, []byte("pad!")...) // non-zero offsets
		off += 4
		blob = append(blob, i.RawData...)
		i.ExternalData = []*pb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String("weights.bin")},
			{Key: proto.String("offset"), Value: proto.String(strconv.Itoa(off))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(i.RawData)))},
		}
		i.RawData = nil
		i.DataLocation = pb.TensorProto_EXTERNAL.Enum()
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), encode(t, mp), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(filepath.Join(dir, "m.onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Load("testdata/corpus/upscaler_op13.onnx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := readNPY(t, "testdata/corpus/upscaler.in.npy")
	y1, y2 := runFloat(t, m.Graph, x), runFloat(t, ref.Graph, x)
	for i := range y1.Data {
		if y1.Data[i] != y2.Data[i] {
			t.Fatalf("output %d differs", i)
		}
	}
	if err := os.Remove(filepath.Join(dir, "weights.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "m.onnx"), Options{}); err == nil || !strings.Contains(err.Error(), "weights.bin") {
		t.Fatalf("missing external file: %v", err)
	}
}

// TestSaveLoad: imported graphs (Const, Pad, Slice, GELU, PReLU, ... nodes) survive the model
// directory format that training checkpoints use.
func TestSaveLoad(t *testing.T) {
	for _, name := range corpusModels {
		m, err := Load("testdata/corpus/"+name+"_op17.onnx", Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := m.Graph.Save(dir); err != nil {
			t.Fatal(err)
		}
		g, err := graph.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := readNPY(t, "testdata/corpus/"+name+".in.npy")
		y1, y2 := runFloat(t, m.Graph, x), runFloat(t, g, x)
		for i := range y1.Data {
			if y1.Data[i] != y2.Data[i] {
				t.Fatalf("%s: output %d differs after Save/Load", name, i)
			}
		}
	}
}
