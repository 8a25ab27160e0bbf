package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/report"
	"github.com/vgfq/vgfq/tosa"
)

type runFlags struct {
	input, output           string
	contract                string
	inScale, outScale       float32
	inZP, outZP             int32
	inScaleSet, outScaleSet bool
	inZPSet, outZPSet       bool
	maxPixels               int
	inputShapes             []string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run FILE.vgf|FILE.tosa|FILE.onnx --input x.npy|x.png --output y.npy|y.png",
		Short: "Execute a .vgf or .tosa model bit-exactly with vgfq's TOSA reference interpreter",
		Long: `run executes a model on one input. A .vgf is decoded (SPIR-V graph + constants) back into
TOSA, which shows the file carries the whole model; a .tosa is run directly. Both use vgfq's
bit-exact TOSA 1.0 reference interpreter. An .onnx model runs in float on the engine (a QDQ
model as fake-quant with its own scales): float32 .npy in and out.

An .npy input holds the int8 tensor as is (int8 or uint8 bytes, the model input's shape); an
.npy output is the int8 result. A PNG (or JPEG) input is quantized and a .png output
dequantized with the IO contract (q = clamp(zp + round_half_even(x * (1/scale)), -128, 127),
x = (q - zp) * scale, in float32, pixels scaled to [0,1]); the scale and zero point come from
--input-scale/--input-zp/--output-scale/--output-zp, else from --contract, else from the io.json
(or the quant.json written by 'vgfq ptq') next to FILE.`,
		Example: `  vgfq run output/model.vgf --input output/input.npy --output y.npy
  vgfq run output/model.vgf --input photo.png --output upscaled.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			fl := c.Flags()
			f.inScaleSet, f.inZPSet = fl.Changed("input-scale"), fl.Changed("input-zp")
			f.outScaleSet, f.outZPSet = fl.Changed("output-scale"), fl.Changed("output-zp")
			if model.IsONNX(args[0]) {
				return runONNX(args[0], &f, f.inputShapes, os.Stdout)
			}
			return runModel(args[0], &f, os.Stdout)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.input, "input", "", "input tensor (.npy, int8) or image (PNG/JPEG)")
	fl.StringVar(&f.output, "output", "", "output file: .npy (int8 tensor) or .png (dequantized image)")
	fl.StringVar(&f.contract, "contract", "", "io.json with the scales and zero points (default: next to FILE)")
	fl.Float32Var(&f.inScale, "input-scale", 0, "input quantization scale (images)")
	fl.Int32Var(&f.inZP, "input-zp", 0, "input zero point (images)")
	fl.Float32Var(&f.outScale, "output-scale", 0, "output quantization scale (images)")
	fl.Int32Var(&f.outZP, "output-zp", 0, "output zero point (images)")
	fl.IntVar(&f.maxPixels, "max-pixels", 1<<24, "reject larger input images")
	fl.StringArrayVar(&f.inputShapes, "input-shape", nil, inputShapeUsage+" (.onnx only)")
	return c
}

// qparams is what run knows about an input or output for image conversion.
type qparams struct {
	scale  float32
	zp     int32
	layout string // "NHWC" / "NCHW" / "" unknown
	from   string
}

func runModel(path string, f *runFlags, log io.Writer) error {
	if f.input == "" || f.output == "" {
		return badInputf("--input and --output are required")
	}
	outKind := strings.ToLower(filepath.Ext(f.output))
	if outKind != ".npy" && outKind != ".png" {
		return badInputf("--output %s: use a .npy or .png file name", f.output)
	}
	m, err := inspect.Load(path)
	if err != nil {
		return badInput(err)
	}
	ins, err := m.Inputs()
	if err != nil {
		return badInput(err)
	}
	outs, err := m.Outputs()
	if err != nil {
		return badInput(err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return badInputf("%s: the model has %d inputs and %d outputs; vgfq run supports one of each", path, len(ins), len(outs))
	}
	in, out := ins[0], outs[0]
	raw, err := os.ReadFile(f.input)
	if err != nil {
		return badInputf("--input: %v", err)
	}
	var x *tosa.Tensor
	if strings.HasPrefix(string(raw), "\x93NUMPY") {
		x, err = export.ReadNPY(f.input, raw)
		if err != nil {
			return badInput(err)
		}
		if x.Type != in.Type || !slices.Equal(x.Shape, in.Shape) {
			return badInputf("%s: %s%v, but %s input %q is %s%v", f.input, x.Type, x.Shape, path, in.Name, in.Type, in.Shape)
		}
	} else {
		q, err := f.qparams(path, m, true, in)
		if err != nil {
			return err
		}
		x, err = imageTensor(f.input, raw, f.maxPixels, in, q)
		if err != nil {
			return err
		}
	}
	res, err := inspect.Run(m, []*tosa.Tensor{x})
	if err != nil {
		return badInput(err)
	}
	y := res[0]
	if outKind == ".npy" {
		b, err := export.EncodeNPY(y)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(f.output, b, 0o644); err != nil {
			return badInputf("--output: %v", err)
		}
	} else {
		q, err := f.qparams(path, m, false, out)
		if err != nil {
			return err
		}
		if err := writeImage(f.output, y, out, q); err != nil {
			return err
		}
	}
	kind := "TOSA graph"
	if m.Format == inspect.FormatVGF {
		kind = "VGF graph decoded from SPIR-V"
	}
	fmt.Fprintf(log, "ran %s (%s, %d operators) on %s: wrote %s (%s%v)\n", path, kind, len(m.Graph.Ops), f.input, f.output, y.Type, y.Shape)
	return nil
}

// qparams finds the scale and zero point of the model input (in) or output for images: flags,
// then --contract, then io.json / quant.json next to the model file.
func (f *runFlags) qparams(path string, m *inspect.Model, in bool, io inspect.IO) (qparams, error) {
	kind, scaleSet, zpSet, scale, zp := "output", f.outScaleSet, f.outZPSet, f.outScale, f.outZP
	if in {
		kind, scaleSet, zpSet, scale, zp = "input", f.inScaleSet, f.inZPSet, f.inScale, f.inZP
	}
	if scaleSet != zpSet {
		return qparams{}, badInputf("give both --%s-scale and --%s-zp", kind, kind)
	}
	if scaleSet {
		if !(scale > 0) || scale > 1e30 {
			return qparams{}, badInputf("--%s-scale %v must be positive", kind, scale)
		}
		if zp < -128 || zp > 127 {
			return qparams{}, badInputf("--%s-zp %d outside int8", kind, zp)
		}
		return qparams{scale: scale, zp: zp, from: "flags"}, nil
	}
	dir := filepath.Dir(path)
	cpath := f.contract
	if cpath == "" {
		if p := filepath.Join(dir, export.ContractFile); fileExists(p) {
			cpath = p
		}
	}
	if cpath != "" {
		c, err := export.ReadContract(cpath)
		if err != nil {
			return qparams{}, badInput(err)
		}
		ts := c.Outputs
		if in {
			ts = c.Inputs
		}
		for _, t := range ts {
			if t.Name == io.Name || len(ts) == 1 {
				if !slices.Equal(t.Shape, io.Shape) {
					return qparams{}, badInputf("%s: %s %q has shape %v, the model's is %v", cpath, kind, t.Name, t.Shape, io.Shape)
				}
				return qparams{scale: t.Scale, zp: t.ZeroPoint, layout: t.Layout, from: cpath}, nil
			}
		}
		return qparams{}, badInputf("%s: no %s %q", cpath, kind, io.Name)
	}
	// quant.json written by vgfq ptq next to model.tosa.
	if p := filepath.Join(dir, "quant.json"); fileExists(p) {
		b, err := os.ReadFile(p)
		if err != nil {
			return qparams{}, badInputf("%s: %v", p, err)
		}
		var s struct {
			Inputs  []lower.IO `json:"inputs"`
			Outputs []lower.IO `json:"outputs"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return qparams{}, badInputf("%s: %v", p, err)
		}
		ios := s.Outputs
		if in {
			ios = s.Inputs
		}
		for _, x := range ios {
			if (x.Name == io.Name || len(ios) == 1) && slices.Equal(x.Shape, io.Shape) {
				if !(x.Scale > 0) || x.ZP < -128 || x.ZP > 127 {
					return qparams{}, badInputf("%s: %s %q: bad scale %v / zero point %d", p, kind, x.Name, x.Scale, x.ZP)
				}
				return qparams{scale: x.Scale, zp: x.ZP, layout: x.Layout, from: p}, nil
			}
		}
	}
	return qparams{}, badInputf("%s: the %s scale and zero point are unknown (no %s or quant.json next to it): give --%s-scale and --%s-zp, or --contract",
		path, kind, export.ContractFile, kind, kind)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// imageLayout returns the layout and (c, h, w) of a rank-4 batch-1 image tensor shape.
func imageLayout(shape []int, layout string) (string, int, int, int, error) {
	if len(shape) != 4 || shape[0] != 1 {
		return "", 0, 0, 0, fmt.Errorf("shape %v is not a single image (want [1,H,W,C] or [1,C,H,W])", shape)
	}
	if layout == "" {
		switch {
		case shape[3] == 3 || shape[3] == 1:
			layout = "NHWC"
		case shape[1] == 3 || shape[1] == 1:
			layout = "NCHW"
		default:
			return "", 0, 0, 0, fmt.Errorf("shape %v has neither 1 nor 3 channels", shape)
		}
	}
	if layout == "NCHW" {
		return layout, shape[1], shape[2], shape[3], nil
	}
	return "NHWC", shape[3], shape[1], shape[2], nil
}

// imageTensor decodes an image and quantizes it into the model input's int8 tensor.
func imageTensor(name string, raw []byte, maxPixels int, in inspect.IO, q qparams) (*tosa.Tensor, error) {
	if in.Type != tosa.Int8 {
		return nil, badInputf("%s: the model input is %s; images need an int8 input", name, in.Type)
	}
	layout, c, h, w, err := imageLayout(in.Shape, q.layout)
	if err != nil {
		return nil, badInputf("%s: model input %q: %v", name, in.Name, err)
	}
	pix, iw, ih, err := data.DecodeImage(name, raw, maxPixels)
	if err != nil {
		return nil, badInput(err)
	}
	if iw != w || ih != h {
		return nil, badInputf("%s: %dx%d image, the model input %q is %dx%d", name, iw, ih, in.Name, w, h)
	}
	x := make([]float32, c*h*w)
	for ch := 0; ch < c; ch++ {
		for p := 0; p < h*w; p++ {
			src := ch
			if c == 1 { // gray: the mean of R, G, B
				x[p] = (float32(pix[3*p]) + float32(pix[3*p+1]) + float32(pix[3*p+2])) / (3 * 255)
				continue
			}
			x[ch*h*w+p] = float32(pix[3*p+src]) / 255
		}
	}
	t := lower.QuantizeInput(x, c, h, w, lower.IO{Name: in.Name, Shape: in.Shape, Layout: layout, Scale: q.scale, ZP: q.zp})
	return t, nil
}

// writeImage dequantizes an int8 output image and writes it as PNG.
func writeImage(name string, y *tosa.Tensor, out inspect.IO, q qparams) error {
	if y.Type != tosa.Int8 {
		return badInputf("--output %s: the model output is %s; PNG output needs int8", name, y.Type)
	}
	layout, c, h, w, err := imageLayout(y.Shape, q.layout)
	if err != nil {
		return badInputf("--output %s: model output %q: %v", name, out.Name, err)
	}
	v := make([]float32, c*h*w)
	if err := lower.DequantizeOutput(y, lower.IO{Name: out.Name, Shape: y.Shape, Layout: layout, Scale: q.scale, ZP: q.zp}, v); err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for yy := 0; yy < h; yy++ {
		for xx := 0; xx < w; xx++ {
			var rgb [3]uint8
			for k := 0; k < 3; k++ {
				ch := k
				if c == 1 {
					ch = 0
				}
				rgb[k] = report.To8Bit(v[(ch*h+yy)*w+xx])
			}
			img.SetRGBA(xx, yy, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
		}
	}
	if err := atomicfile.Write(name, 0o644, func(wr io.Writer) error { return png.Encode(wr, img) }); err != nil {
		return badInputf("--output: %v", err)
	}
	return nil
}
