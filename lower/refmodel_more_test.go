package lower_test

import (
	"bytes"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/onnx"
	"github.com/vgfq/vgfq/qat"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// More reference-model vectors (testdata/refmodel/README.md): graphs that do not come from
// zoo + PTQ and so cannot be built inside package lower (qat and onnx import lower). Each case
// folder has the same layout as the PTQ cases (model.tosa, input_k.npy, refmodel_output_k.npy);
// export's TestVGFMatchesTOSAReferenceModel also runs them through the written .vgf.

type moreCase struct {
	name  string
	build func() (*lower.Result, error)
	about string // how model.tosa is built, for the failure message
}

var moreCases = []moreCase{
	{"qat_upscaler_nhwc", buildQATUpscaler, "zoo.Upscaler(16, 16, seed 1), qat.Prepare, 4 AdamW steps (lr 1e-4) on builtin batches, qat Convert"},
	{"onnx_qdq_op17_nhwc", buildONNXQDQ, "onnx.Load(onnx/testdata/corpus/qdq_op17.onnx).QDQ.Model, lower.Lower NHWC (what vgfq export does)"},
	{"a16w8_espcn_nhwc", func() (*lower.Result, error) { return buildA16W8(espcn16, "relu1", "relu2", "conv3") },
		"a16w8: zoo.ESPCN(16, 16, seed 1), relu1, relu2, conv3(+shuffle) int16, 64 builtin calibration images"},
	{"a16w8_resize_nhwc", func() (*lower.Result, error) { return buildA16W8(resizeNet, "relu1", "relu2") },
		"a16w8: conv-relu-bilinear 2x-conv-relu-maxpool-conv (seed 1), both hidden groups int16 (int16 RESIZE and MAX_POOL2D), 64 builtin calibration images"},
}

func espcn16() (*graph.Graph, error) { return zoo.ESPCN(16, 16, 1) }

// resizeNet has int16 RESIZE (bilinear, INT48 accumulator) and int16 MAX_POOL2D when relu1's
// and relu2's groups are int16: x -> conv1 -> relu1 -> bilinear 2x -> conv2 -> relu2 ->
// maxpool k2 s2 -> conv3, 16x16 in, 16x16 out.
func resizeNet() (*graph.Graph, error) {
	b := graph.NewBuilder("a16w8_resize", 1)
	x := b.Input("x", 1, 3, 16, 16)
	c1 := b.Conv2d("conv1", x, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1})
	r1 := b.ReLU("relu1", c1)
	up := b.Upsample("up", r1, 2, "bilinear")
	c2 := b.Conv2d("conv2", up, graph.ConvSpec{In: 8, Out: 8, Kernel: 3, Padding: 1})
	r2 := b.ReLU("relu2", c2)
	mp := b.Add(&graph.Node{Name: "pool", Op: graph.OpMaxPool2d, Inputs: []string{r2}, Attrs: graph.Attrs{Kernel: []int{2, 2}, Stride: []int{2, 2}}})
	c3 := b.Conv2d("conv3", mp, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1})
	return b.Build(c3)
}

// buildA16W8 calibrates like the PTQ cases (the first 64 builtin train images, 16x16 LR, read
// from calib_lr.npy) and
// lowers with the named activation groups int16.
func buildA16W8(build func() (*graph.Graph, error), int16 ...string) (*lower.Result, error) {
	g, err := build()
	if err != nil {
		return nil, err
	}
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		return nil, err
	}
	cal := quant.NewCalibrator(plan, quant.Config{})
	// The committed amd64 rendering of those images (calib_lr.npy): the builtin renderer is
	// deterministic per platform only, and these cases must give the same bytes on arm64.
	calib, err := lower.ReadRefModelCalib()
	if err != nil {
		return nil, err
	}
	n := data.Channels * lower.RefModelLRSize * lower.RefModelLRSize
	for i := 0; i < lower.RefModelCalib; i++ {
		x := slices.Clone(calib[i*n : (i+1)*n])
		if err := cal.Observe(engine.FromData(x, 1, data.Channels, lower.RefModelLRSize, lower.RefModelLRSize)); err != nil {
			return nil, err
		}
	}
	groups, err := plan.A16W8Groups(int16)
	if err != nil {
		return nil, err
	}
	m, err := cal.ConvertA16W8(groups)
	if err != nil {
		return nil, err
	}
	return lower.Lower(m, lower.Options{})
}

const moreInputs = 4

// buildQATUpscaler is a short quantization-aware fine-tune of the zoo upscaler: fake-quant
// steps on the builtin data (256 training images at 32x32, batches of 16 shuffled with seed 2),
// then the conversion to INT8 and the NHWC lowering that vgfq qat exports.
func buildQATUpscaler() (*lower.Result, error) {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		return nil, err
	}
	qm, err := qat.Prepare(g, qat.Options{})
	if err != nil {
		return nil, err
	}
	ds := data.Builtin(data.BuiltinOptions{TrainSize: 256, TestSize: 16, Size: 32})
	tl, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 2})
	if err != nil {
		return nil, err
	}
	opt := engine.NewAdamW(qm.Exec().Params(), 1e-4)
	for i := 0; i < 4; i++ {
		b, err := tl.Next()
		if err != nil {
			return nil, err
		}
		if _, err := qm.Step(opt, b); err != nil {
			return nil, err
		}
	}
	res, _, err := qm.Convert()
	if err != nil {
		return nil, err
	}
	return res.Lowered, nil
}

// buildONNXQDQ lowers the committed QDQ corpus model with its own scales (no calibration).
func buildONNXQDQ() (*lower.Result, error) {
	m, err := onnx.Load(filepath.Join("..", "onnx", "testdata", "corpus", "qdq_op17.onnx"), onnx.Options{})
	if err != nil {
		return nil, err
	}
	if m.QDQ == nil || m.QDQ.Model == nil {
		return nil, fmt.Errorf("qdq_op17.onnx: no QDQ model")
	}
	return lower.Lower(m.QDQ.Model, lower.Options{})
}

// moreInput is input k of a case, drawn like the PTQ cases' inputs: uniform int8 from a PCG
// stream seeded with (k, FNV-1a-64 of the folder name), int8(Uint32()) per element.
func moreInput(name string, shape []int, k int) *tosa.Tensor {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(uint64(k), h.Sum64()))
	v := make([]int8, tosa.NumElements(shape))
	for i := range v {
		v[i] = int8(rng.Uint32())
	}
	return &tosa.Tensor{Shape: slices.Clone(shape), Type: tosa.Int8, Data: tosa.Int8Data(v)}
}

func npyBytes(t *tosa.Tensor) ([]byte, error) {
	var b bytes.Buffer
	if err := export.WriteNPY(&b, t); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func buildMore(c moreCase) (*lower.Result, []byte, error) {
	res, err := c.build()
	if err != nil {
		return nil, nil, err
	}
	buf, err := tosa.Encode(res.Graph)
	if err != nil {
		return nil, nil, err
	}
	return res, buf, nil
}

// regenerating is the -write-refmodel flag of package lower's tests (one command writes every
// case).
func regenerating() bool {
	f := flag.Lookup("write-refmodel")
	return f != nil && f.Value.String() == "true"
}

const moreRegen = "go test ./lower -run 'TestWriteRefModelCases|TestWriteMoreRefModelCases' -args -write-refmodel, then rerun the TOSA reference model as lower/testdata/refmodel/README.md describes"

// TestWriteMoreRefModelCases writes model.tosa and input_k.npy of the cases above (opt-in, with
// -write-refmodel); refmodel_output_k.npy must then be recomputed with the reference model.
func TestWriteMoreRefModelCases(t *testing.T) {
	if !regenerating() {
		t.Skip("generator; run with -args -write-refmodel")
	}
	for _, c := range moreCases {
		res, buf, err := buildMore(c)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		dir := filepath.Join("testdata", "refmodel", c.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.tosa"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		shape := res.Graph.Tensor(res.Graph.Inputs[0]).Shape
		for k := 0; k < moreInputs; k++ {
			b, err := npyBytes(moreInput(c.name, shape, k))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("input_%d.npy", k)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: wrote model.tosa (%d bytes, input %s %v, output %s) and %d inputs",
			c.name, len(buf), res.Graph.Inputs[0], shape, res.Graph.Outputs[0], moreInputs)
	}
}

// TestMoreRefModelVectors runs each committed model.tosa with vgfq's TOSA interpreter on the
// committed inputs and compares with the reference model's outputs bit for bit.
func TestMoreRefModelVectors(t *testing.T) {
	for _, c := range moreCases {
		t.Run(c.name, func(t *testing.T) {
			lower.CheckRefModelVectors(t, filepath.Join("testdata", "refmodel", c.name), moreInputs, moreRegen)
		})
	}
}

// TestMoreRefModelCasesReproducible rebuilds each case with today's code and checks that
// model.tosa and the inputs are byte-identical to the committed ones.
func TestMoreRefModelCasesReproducible(t *testing.T) {
	for _, c := range moreCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "refmodel", c.name)
			committed, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
			if err != nil {
				t.Fatalf("%v (regenerate: %s)", err, moreRegen)
			}
			res, buf, err := buildMore(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, committed) {
				t.Fatalf("today's pipeline (%s) writes a model.tosa of %d bytes that differs from the committed one (%d bytes). "+
					"If that changed on purpose, regenerate: %s", c.about, len(buf), len(committed), moreRegen)
			}
			shape := res.Graph.Tensor(res.Graph.Inputs[0]).Shape
			for k := 0; k < moreInputs; k++ {
				b, err := npyBytes(moreInput(c.name, shape, k))
				if err != nil {
					t.Fatal(err)
				}
				old, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("input_%d.npy", k)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, old) {
					t.Errorf("input_%d.npy differs from what the generator writes today; regenerate: %s", k, moreRegen)
				}
			}
		})
	}
}
