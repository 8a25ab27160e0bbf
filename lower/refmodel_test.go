package lower

import (
	"bytes"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
	"github.com/vgfq/vgfq/zoo"
)

// The reference-model vectors (issue 3): for each case, testdata/refmodel/<case>/ holds the
// lowered graph (model.tosa), random int8 inputs (input_k.npy) and the outputs the TOSA
// reference model computed from them (refmodel_output_k.npy, see README.md there). vgfq's
// interpreter must reproduce those outputs bit-exactly, and today's pipeline must reproduce
// model.tosa byte-identically.

var writeRefModel = flag.Bool("write-refmodel", false, "rewrite testdata/refmodel/*/model.tosa and input_*.npy (then rerun the TOSA reference model, see testdata/refmodel/README.md)")

const (
	refModelDir      = "testdata/refmodel"
	refModelInputs   = 4  // input_0.npy .. input_3.npy per case
	refModelCalib    = 64 // calibration images: the first 64 of the builtin train split, batch 1
	refModelLRSize   = 16 // the builtin images are 32x32 HR, so 16x16 LR
	refModelSeed     = 1  // zoo seed of the float weights
	refModelRegenCmd = "go test ./lower -run TestWriteRefModelCases -args -write-refmodel, then rerun the TOSA reference model as lower/testdata/refmodel/README.md describes"
)

type refModelCase struct {
	name   string // folder under testdata/refmodel
	model  string // zoo model
	layout Layout
}

var refModelCases = []refModelCase{
	{"upscaler_nhwc", "upscaler", NHWC},
	{"upscaler_nchw", "upscaler", NCHW},
	{"espcn_nhwc", "espcn", NHWC},
}

// refModelCalibFile (in refModelDir) holds the calibration images of every case as rendered on
// amd64: float32, refModelCalib × 3 × 16 × 16 (flat), the LR images of the first refModelCalib
// images of the builtin train split. The builtin renderer is deterministic per platform only
// (Go fuses multiply-adds on arm64 and other architectures, not on amd64; see data.Builtin), so
// the cases are built from this file everywhere and amd64 checks that the renderer still
// produces it bit for bit. From the same images, everything else in the pipeline (zoo weights,
// the float engine's forward pass: the NEON GEMM kernels do the AVX2 kernels' fused
// multiply-adds in the same order; observers, conversion, lowering) gives the same bytes on
// amd64 and arm64.
const refModelCalibFile = "calib_lr.npy"

// renderRefModelCalib renders the calibration images from the builtin dataset.
func renderRefModelCalib() ([]float32, error) {
	ds := data.Builtin(data.BuiltinOptions{})
	loader, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: 1})
	if err != nil {
		return nil, err
	}
	var all []float32
	for i := 0; i < refModelCalib; i++ {
		b, err := loader.Next()
		if err != nil {
			return nil, err
		}
		if b.H/2 != refModelLRSize || b.W/2 != refModelLRSize || len(b.LR) != data.Channels*refModelLRSize*refModelLRSize {
			return nil, fmt.Errorf("builtin image %dx%d, want %dx%d HR", b.H, b.W, 2*refModelLRSize, 2*refModelLRSize)
		}
		all = append(all, b.LR...)
	}
	return all, nil
}

// readRefModelCalib reads refModelCalibFile.
func readRefModelCalib() ([]float32, error) {
	path := filepath.Join(refModelDir, refModelCalibFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var v []float32
	if err := r.Read(&v); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(v) != refModelCalib*data.Channels*refModelLRSize*refModelLRSize {
		return nil, fmt.Errorf("%s: %d values, want %d", path, len(v), refModelCalib*data.Channels*refModelLRSize*refModelLRSize)
	}
	return v, nil
}

// buildRefModelCase runs the PTQ pipeline of vgfq ptq (cmd/vgfq/ptq.go) on the zoo model with
// deterministic calibration: the images calib (refModelCalibFile: the first refModelCalib
// images of the builtin train split), in index order, batch 1, default (histogram) calibrator.
func buildRefModelCase(c refModelCase, calib []float32) (*Result, []byte, error) {
	g, err := zoo.Build(c.model, refModelLRSize, refModelLRSize, refModelSeed)
	if err != nil {
		return nil, nil, err
	}
	g, _, err = graph.FoldBatchNorm(g)
	if err != nil {
		return nil, nil, err
	}
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		return nil, nil, err
	}
	cal := quant.NewCalibrator(plan, quant.Config{})
	n := data.Channels * refModelLRSize * refModelLRSize
	for i := 0; i < refModelCalib; i++ {
		x := slices.Clone(calib[i*n : (i+1)*n])
		if err := cal.Observe(engine.FromData(x, 1, data.Channels, refModelLRSize, refModelLRSize)); err != nil {
			return nil, nil, err
		}
	}
	m, err := cal.Convert()
	if err != nil {
		return nil, nil, err
	}
	res, err := Lower(m, Options{Layout: c.layout})
	if err != nil {
		return nil, nil, err
	}
	buf, err := tosa.Encode(res.Graph)
	if err != nil {
		return nil, nil, err
	}
	return res, buf, nil
}

// refModelInput is input k of a case: uniform random int8 over the whole range, from a PCG
// stream seeded by k and the FNV-1a hash of the case name.
func refModelInput(c refModelCase, shape []int, k int) []int8 {
	h := fnv.New64a()
	h.Write([]byte(c.name))
	rng := rand.New(rand.NewPCG(uint64(k), h.Sum64()))
	v := make([]int8, tosa.NumElements(shape))
	for i := range v {
		v[i] = int8(rng.Uint32())
	}
	return v
}

// nest4 turns a flat row-major rank-4 slice into [][][][]int8 so that npy.Write records the
// shape.
func nest4(v []int8, s []int) ([][][][]int8, error) {
	if len(s) != 4 || tosa.NumElements(s) != len(v) {
		return nil, fmt.Errorf("shape %v for %d values: want rank 4", s, len(v))
	}
	out := make([][][][]int8, s[0])
	p := 0
	for a := range out {
		out[a] = make([][][]int8, s[1])
		for b := range out[a] {
			out[a][b] = make([][]int8, s[2])
			for c := range out[a][b] {
				out[a][b][c] = v[p : p+s[3] : p+s[3]]
				p += s[3]
			}
		}
	}
	return out, nil
}

func encodeInt8Npy(v []int8, shape []int) ([]byte, error) {
	n, err := nest4(v, shape)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := npy.Write(&b, n); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// readInt8Npy reads a C-order int8 .npy file (numpy's or the reference model's header).
func readInt8Npy(path string) ([]int8, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	if ty := strings.Trim(r.Header.Descr.Type, "'\""); ty != "|i1" && ty != "i1" && ty != "<i1" {
		return nil, nil, fmt.Errorf("%s: dtype %s, want int8", path, ty)
	}
	if r.Header.Descr.Fortran {
		return nil, nil, fmt.Errorf("%s: Fortran order", path)
	}
	var v []int8
	if err := r.Read(&v); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	shape := append([]int{}, r.Header.Descr.Shape...)
	if tosa.NumElements(shape) != len(v) {
		return nil, nil, fmt.Errorf("%s: %d values for shape %v", path, len(v), shape)
	}
	return v, shape, nil
}

// TestWriteRefModelCases is the generator of testdata/refmodel (opt-in):
//
//	go test ./lower -run TestWriteRefModelCases -args -write-refmodel
//
// It writes the calibration images (refModelCalibFile, amd64 only), and model.tosa and
// input_k.npy of every case; refmodel_output_k.npy must then be recomputed with the TOSA
// reference model (testdata/refmodel/README.md).
func TestWriteRefModelCases(t *testing.T) {
	if !*writeRefModel {
		t.Skip("generator; run with -args -write-refmodel")
	}
	if runtime.GOARCH != "amd64" {
		t.Fatal("regenerate on amd64: the builtin renderer's images are amd64's (see refModelCalibFile)")
	}
	calib, err := renderRefModelCalib()
	if err != nil {
		t.Fatal(err)
	}
	var cb bytes.Buffer
	if err := npy.Write(&cb, calib); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(refModelDir, refModelCalibFile), cb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range refModelCases {
		res, buf, err := buildRefModelCase(c, calib)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		dir := filepath.Join(refModelDir, c.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.tosa"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		if len(res.Graph.Inputs) != 1 {
			t.Fatalf("%s: %d graph inputs, want 1", c.name, len(res.Graph.Inputs))
		}
		shape := res.Graph.Tensor(res.Graph.Inputs[0]).Shape
		for k := 0; k < refModelInputs; k++ {
			b, err := encodeInt8Npy(refModelInput(c, shape, k), shape)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("input_%d.npy", k)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: wrote model.tosa (%d bytes, input %s %v, output %s) and %d inputs",
			c.name, len(buf), res.Graph.Inputs[0], shape, res.Graph.Outputs[0], refModelInputs)
	}
}

// TestRefModelVectors runs every committed model.tosa with vgfq's interpreter on the committed
// inputs and compares with the TOSA reference model's outputs bit-exactly.
func TestRefModelVectors(t *testing.T) {
	for _, c := range refModelCases {
		t.Run(c.name, func(t *testing.T) {
			checkRefModelVectors(t, filepath.Join(refModelDir, c.name), refModelInputs, refModelRegenCmd)
		})
	}
}

// checkRefModelVectors runs dir/model.tosa with vgfq's interpreter on dir/input_k.npy (k < n)
// and compares with the TOSA reference model's dir/refmodel_output_k.npy bit for bit.
func checkRefModelVectors(t *testing.T, dir string, n int, regen string) {
	t.Helper()
	buf, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
	if err != nil {
		t.Fatalf("%v (regenerate: %s)", err, regen)
	}
	g, err := tosa.Decode(buf)
	if err != nil {
		t.Fatalf("decode model.tosa: %v", err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		t.Fatalf("graph has %d inputs, %d outputs; want 1, 1", len(g.Inputs), len(g.Outputs))
	}
	in, out := g.Tensor(g.Inputs[0]), g.Tensor(g.Outputs[0])
	for k := 0; k < n; k++ {
		x, xs, err := readInt8Npy(filepath.Join(dir, fmt.Sprintf("input_%d.npy", k)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(xs, in.Shape) {
			t.Fatalf("input_%d.npy shape %v, graph input %q is %v", k, xs, in.Name, in.Shape)
		}
		want, ws, err := readInt8Npy(filepath.Join(dir, fmt.Sprintf("refmodel_output_%d.npy", k)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ws, out.Shape) {
			t.Fatalf("refmodel_output_%d.npy shape %v, graph output %q is %v", k, ws, out.Name, out.Shape)
		}
		got, err := ref.Run(g, map[string]*tosa.Tensor{in.Name: {Name: in.Name, Shape: xs, Type: tosa.Int8, Data: tosa.Int8Data(x)}})
		if err != nil {
			t.Fatalf("input_%d: %v", k, err)
		}
		if got[out.Name] == nil || !slices.Equal(got[out.Name].Shape, out.Shape) {
			t.Fatalf("input_%d: no interpreter output %q of shape %v", k, out.Name, out.Shape)
		}
		gv, err := got[out.Name].Int8s()
		if err != nil {
			t.Fatalf("input_%d: output %q: %v", k, out.Name, err)
		}
		diff, first := 0, -1
		for i := range want {
			if gv[i] != want[i] {
				if first < 0 {
					first = i
				}
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("input_%d: %d of %d outputs differ from the reference model; first at flat index %d: vgfq %d, reference model %d",
				k, diff, len(want), first, gv[first], want[first])
		}
	}
}

// TestRefModelCasesReproducible rebuilds every case with today's pipeline and checks that
// model.tosa and the inputs come out byte-identical to the committed ones.
func TestRefModelCasesReproducible(t *testing.T) {
	calib, err := readRefModelCalib()
	if err != nil {
		t.Fatalf("%v (regenerate: %s)", err, refModelRegenCmd)
	}
	if runtime.GOARCH == "amd64" {
		r, err := renderRefModelCalib()
		if err != nil {
			t.Fatal(err)
		}
		for i := range r {
			if math.Float32bits(r[i]) != math.Float32bits(calib[i]) {
				t.Fatalf("the builtin renderer's calibration images differ from %s at value %d (%v, committed %v); regenerate: %s",
					refModelCalibFile, i, r[i], calib[i], refModelRegenCmd)
			}
		}
	} else {
		t.Logf("%s: the builtin renderer is checked against it on amd64 only (platform-dependent float rendering)", refModelCalibFile)
	}
	for _, c := range refModelCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(refModelDir, c.name)
			committed, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
			if err != nil {
				t.Fatalf("%v (regenerate: %s)", err, refModelRegenCmd)
			}
			res, buf, err := buildRefModelCase(c, calib)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, committed) {
				t.Fatalf("today's pipeline (zoo %s seed %d, builtin data, %d calibration images, %s) writes a model.tosa of %d bytes "+
					"that differs from the committed one (%d bytes). If the builtin dataset, zoo, quant or lower changed on purpose, "+
					"regenerate: %s",
					c.model, refModelSeed, refModelCalib, c.layout, len(buf), len(committed), refModelRegenCmd)
			}
			shape := res.Graph.Tensor(res.Graph.Inputs[0]).Shape
			for k := 0; k < refModelInputs; k++ {
				b, err := encodeInt8Npy(refModelInput(c, shape, k), shape)
				if err != nil {
					t.Fatal(err)
				}
				old, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("input_%d.npy", k)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, old) {
					t.Errorf("input_%d.npy differs from what the generator writes today; regenerate: %s", k, refModelRegenCmd)
				}
			}
		})
	}
}
