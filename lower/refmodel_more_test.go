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
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/onnx"
	"github.com/vgfq/vgfq/qat"
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
