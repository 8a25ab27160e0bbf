package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio"
	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/onnx"
	"github.com/vgfq/vgfq/preflight"
	"github.com/vgfq/vgfq/ptq"
)

// inputShapeUsage documents --input-shape.
const inputShapeUsage = "fix an ONNX input's shape, NAME=1x3x64x64 (repeatable; needed for dynamic dimensions other than the batch)"

// loadModel loads --model (zoo name, model directory or .onnx) for a command; errors are input
// errors naming the flag.
func loadModel(spec string, shapes []string, log io.Writer) (*model.Loaded, error) {
	is, err := model.ParseInputShapes(shapes)
	if err != nil {
		return nil, badInput(err)
	}
	l, err := model.Load(spec, model.Options{InputShapes: is})
	if err != nil {
		return nil, badInputf("--model: %v", err)
	}
	if l.ONNX != nil && log != nil {
		fmt.Fprint(log, l.ONNX.Summary())
	}
	return l, nil
}

func newCheckCmd() *cobra.Command {
	var shapes []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check MODEL",
		Short: "Pre-flight: does every node of a model (.onnx, zoo name, model directory) lower to an INT8 TOSA graph in one VGF?",
		Long: `check imports the model and puts it through vgfq's PTQ path (BatchNorm folding,
annotation, a one-image calibration — or a QDQ model's own scales —, conversion, lowering to
TOSA 1.0 INT). It prints one line per node: ok, folded (evaluated at import), unsupported (cannot
be imported) or fails (the lowering refuses it), with the reason and a concrete fix. Exit status
0 only if every node lowers.`,
		Example: `  vgfq check model.onnx
  vgfq check model.onnx --input-shape input=1x3x64x64 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			is, err := model.ParseInputShapes(shapes)
			if err != nil {
				return badInput(err)
			}
			l, err := model.Load(args[0], model.Options{InputShapes: is, KeepGoing: true})
			if err != nil {
				return badInput(err)
			}
			r := preflight.Check(args[0], l)
			if asJSON {
				b, _ := json.MarshalIndent(r, "", "  ")
				fmt.Fprintln(os.Stdout, string(b))
			} else {
				r.Print(os.Stdout)
			}
			if !r.OK {
				return checkFailed{}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, inputShapeUsage)
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}

// checkFailed: vgfq check found nodes that do not lower (exit 1, the report says which).
type checkFailed struct{}

func (checkFailed) Error() string { return "some nodes do not lower to TOSA INT (see above)" }

func newExportCmd() *cobra.Command {
	var spec, out, format, sample string
	var shapes []string
	var debugInfo bool
	c := &cobra.Command{
		Use:   "export",
		Short: "Export a QDQ .onnx model to the INT8 artifact set exactly (no calibration), or a float model to ONNX",
		Long: `export --model qdq.onnx --out DIR lowers a QDQ model (QuantizeLinear/DequantizeLinear
pairs, e.g. from a PyTorch QAT run) with exactly its scales and zero points, checked against the
TOSA INT rules, and writes what 'vgfq ptq' writes: model.tosa, quant.json, model.vgf, io.json,
scenario.json, input.npy, expected_output.npy. The model's input/output names become the VGF's.

export --format onnx --model DIR|model.onnx --out model.onnx writes a float model (e.g. after
'vgfq train' fine-tuning) as an ONNX file (opset 17) for PyTorch / onnxruntime.`,
		Example: `  vgfq export --model qat_qdq.onnx --out output/
  vgfq export --format onnx --model runs/finetuned --out finetuned.onnx`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return badInputf("--out is required")
			}
			l, err := loadModel(spec, shapes, os.Stdout)
			if err != nil {
				return err
			}
			switch format {
			case "onnx":
				b, err := onnx.Encode(l.Graph)
				if err != nil {
					return badInputf("--model: %v", err)
				}
				if err := atomicfile.WriteBytes(out, b, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(os.Stdout, "wrote %s (%d bytes, opset %d)\n", out, len(b), onnx.WriteOpset)
				return nil
			case "vgf", "":
			default:
				return badInputf("--format %q: want vgf (INT8 artifacts of a QDQ model) or onnx (float model)", format)
			}
			if l.ONNX == nil || l.ONNX.QDQ == nil {
				return badInputf("--model %s has no QuantizeLinear/DequantizeLinear quantization; quantize a float model with 'vgfq ptq --model %s'", spec, spec)
			}
			qm := l.ONNX.QDQ.Model
			low, err := lower.Lower(qm, lower.Options{})
			if err != nil {
				return badInputf("--model: %v", err)
			}
			x, err := sampleInput(sample, qm.Graph)
			if err != nil {
				return err
			}
			res := &ptq.Result{Graph: qm.Graph, Model: qm, Lowered: low}
			art, err := res.Export(out, x, debugInfo)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "wrote %s: model.tosa, quant.json, model.vgf (%d bytes), io.json, scenario.json, input.npy, expected_output.npy (%d TOSA operators, scales from the QDQ model)\n",
				out, len(art.VGFBytes), len(low.Graph.Ops))
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&spec, "model", "", "a QDQ .onnx model (or, with --format onnx, any float model)")
	fl.StringVar(&out, "out", "", "output directory (vgf) or .onnx file (onnx)")
	fl.StringVar(&format, "format", "vgf", "vgf: INT8 artifacts of a QDQ model; onnx: the float model as ONNX")
	fl.StringVar(&sample, "sample", "", "float32 .npy (1 x C x H x W) for input.npy / expected_output.npy (default: a seeded synthetic image)")
	fl.StringArrayVar(&shapes, "input-shape", nil, inputShapeUsage)
	fl.BoolVar(&debugInfo, "debug-info", false, "keep tensor names in the SPIR-V graph module")
	return c
}

// sampleInput reads a float .npy, or makes a seeded smooth synthetic image of the graph's input
// shape (batch 1).
func sampleInput(path string, g *graph.Graph) (*engine.Tensor, error) {
	ins := g.Inputs()
	if len(ins) != 1 {
		return nil, badInputf("the model has %d inputs; the INT8 export takes one image input", len(ins))
	}
	s := append([]int{1}, ins[0].Attrs.Shape[1:]...)
	if path != "" {
		x, err := readFloatNPY(path)
		if err != nil {
			return nil, badInputf("--sample: %v", err)
		}
		if !engine.SameShape(x.Shape, s) {
			return nil, badInputf("--sample %s is %s, the model takes %s", path, engine.ShapeString(x.Shape), engine.ShapeString(s))
		}
		return x, nil
	}
	x := engine.New(s...)
	rng := rand.New(rand.NewPCG(7, 7))
	c, h, w := s[1], s[2], s[3]
	for ch := 0; ch < c; ch++ {
		a, b, f := rng.Float64(), rng.Float64(), rng.Float64()
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				v := 0.5 + 0.25*math.Sin(a*float64(y)+b*float64(xx)+f*6) + 0.2*(float64(y)/float64(h)-0.5)
				x.Data[(ch*h+y)*w+xx] = float32(v)
			}
		}
	}
	return x, nil
}

// readFloatNPY reads a float32 .npy.
func readFloatNPY(path string) (*engine.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t *engine.Tensor
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s: malformed .npy", path)
			}
		}()
		r, err := npyio.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if d := strings.Trim(r.Header.Descr.Type, `'"`); d != "<f4" {
			return fmt.Errorf("%s: dtype %s, want float32 (<f4)", path, d)
		}
		n := 1
		for _, d := range r.Header.Descr.Shape {
			n *= d
		}
		if n > 1<<28 {
			return fmt.Errorf("%s: too large", path)
		}
		var data []float32
		if err := r.Read(&data); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		t = engine.FromData(data, r.Header.Descr.Shape...)
		return nil
	}()
	return t, err
}

// runONNX executes an .onnx model in float (a QDQ model as fake-quant: its own scales) on a
// float32 .npy and writes the float32 result.
func runONNX(path string, f *runFlags, shapes []string, log io.Writer) error {
	if !strings.EqualFold(filepath.Ext(f.input), ".npy") || !strings.EqualFold(filepath.Ext(f.output), ".npy") {
		return badInputf("an .onnx model runs in float: give --input x.npy and --output y.npy (float32 N x C x H x W)")
	}
	l, err := loadModel(path, shapes, nil)
	if err != nil {
		return err
	}
	x, err := readFloatNPY(f.input)
	if err != nil {
		return badInputf("--input: %v", err)
	}
	in := l.Graph.Inputs()[0].Attrs.Shape
	if len(x.Shape) != len(in) || !engine.SameShape(x.Shape[1:], in[1:]) {
		return badInputf("--input %s is %s, the model takes %s (any batch)", f.input, engine.ShapeString(x.Shape), engine.ShapeString(in))
	}
	var y *engine.Tensor
	kind := "float"
	if l.ONNX.QDQ != nil {
		y, err = l.ONNX.QDQ.Model.FakeQuantPredictor()(x)
		kind = "fake-quant (the QDQ model's scales)"
	} else {
		var v *engine.Var
		v, err = graph.NewExec(l.Graph, false).Forward(engine.Const(x))
		if v != nil {
			y = v.Val
		}
	}
	if err != nil {
		return badInput(err)
	}
	if err := atomicfile.WriteBytes(f.output, floatNPY(y), 0o644); err != nil {
		return badInputf("--output: %v", err)
	}
	fmt.Fprintf(log, "ran %s in %s: %s -> %s, wrote %s\n", path, kind, engine.ShapeString(x.Shape), engine.ShapeString(y.Shape), f.output)
	return nil
}

// floatNPY encodes a float32 tensor as NPY 1.0 (as numpy.save writes it).
func floatNPY(t *engine.Tensor) []byte {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = fmt.Sprint(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	for _, v := range t.Data {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}
