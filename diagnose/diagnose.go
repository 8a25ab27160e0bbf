// Package diagnose traces quantization error layer by layer, from the float model through the
// fake-quantized model to the integer TOSA graph: for every quantized tensor it measures the
// signal-to-quantization-noise ratio (SQNR) of the fake-quant value and of the INT8 value (taken
// from the TOSA graph's own intermediate tensors, dequantized with their qparams) against the
// float value. It answers "which layer loses the quality?" without guessing at the delegate
// boundary.
package diagnose

import (
	"fmt"
	"math"
	"slices"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/fast"
)

// Layer is the error of one quantized tensor, accumulated over the images traced.
type Layer struct {
	Node   string  `json:"node"`   // float graph node (value)
	Op     string  `json:"op"`     // its op
	Tensor string  `json:"tensor"` // TOSA tensor holding it
	Scale  float32 `json:"scale"`
	ZP     int32   `json:"zero_point"`
	// SQNR in dB of the fake-quantized and of the INT8 (TOSA) value against the float value.
	FakeQuantSQNR float64 `json:"fake_quant_sqnr_db"`
	Int8SQNR      float64 `json:"int8_sqnr_db"`
	// Int8VsFakeQuantMax is the largest difference between the INT8 and the fake-quant value,
	// in quantization steps (0: the integer graph computes exactly what fake-quant simulates).
	Int8VsFakeQuantMax float64 `json:"int8_vs_fake_quant_max_steps"`
	Clipped            float64 `json:"clipped_fraction"` // float values outside the int8 range
	// Int16 marks an a16w8 tensor (the INT8 columns then describe its int16 values).
	Int16 bool `json:"int16,omitempty"`
}

type acc struct {
	sig, fqErr, i8Err float64
	maxSteps          float64
	clipped, n        int
}

// PerLayer traces images (each N x C x H x W float, any N) through the three models.
func PerLayer(m *quant.Model, r *lower.Result, images []*engine.Tensor) ([]Layer, error) {
	if len(r.Inputs) != 1 || len(images) == 0 {
		return nil, fmt.Errorf("diagnose: need a single-input graph and at least one image")
	}
	// The TOSA graph with every recorded tensor as an output.
	g := *r.Graph
	g.Outputs = nil
	seen := map[string]bool{}
	for _, t := range r.Tensors {
		if !seen[t.Name] {
			seen[t.Name] = true
			g.Outputs = append(g.Outputs, t.Name)
		}
	}
	prog, err := fast.Compile(&g)
	if err != nil {
		return nil, err
	}
	floatEx := graph.NewExec(m.Graph, false)
	fqEx := graph.NewExec(m.FakeQuantGraph(), false)
	accs := make([]acc, len(r.Tensors))
	index := map[string][]int{} // node -> entries of r.Tensors
	for i, t := range r.Tensors {
		index[t.Source] = append(index[t.Source], i)
	}
	inName := m.Graph.Inputs()[0].Name
	in := r.Inputs[0]
	for _, batch := range images {
		n, c, h, w := batch.Shape[0], batch.Shape[1], batch.Shape[2], batch.Shape[3]
		for b := 0; b < n; b++ {
			x := engine.FromData(batch.Data[b*c*h*w:(b+1)*c*h*w], 1, c, h, w)
			floats := map[string]*engine.Tensor{}
			if _, err := floatEx.Run(map[string]*engine.Var{inName: engine.Const(x)}, func(nd *graph.Node, out *engine.Var) *engine.Var {
				if _, ok := index[nd.Name]; ok {
					floats[nd.Name] = out.Val
				}
				return out
			}); err != nil {
				return nil, err
			}
			fqs := map[string]*engine.Tensor{}
			if _, err := fqEx.Run(map[string]*engine.Var{inName: engine.Const(x)}, func(nd *graph.Node, out *engine.Var) *engine.Var {
				q, ok := m.QParamOf(nd.Name)
				if !ok {
					return out
				}
				y := engine.Const(engine.FromData(quant.FakeQuantTensor(nil, out.Val.Data, q.Scale, q.ZP, q.QMin(), q.QMax(), nil), out.Val.Shape...))
				fqs[nd.Name] = y.Val
				return y
			}); err != nil {
				return nil, err
			}
			outs, err := prog.Run(map[string]*tosa.Tensor{in.Name: lower.QuantizeInput(x.Data, c, h, w, in)})
			if err != nil {
				return nil, err
			}
			for i, info := range r.Tensors {
				f, fq := floats[info.Source], fqs[info.Source]
				t := outs[info.Name]
				if f == nil || fq == nil || t == nil {
					continue
				}
				q8, err := intValues(t)
				if err != nil {
					return nil, err
				}
				nchw := info.Name == in.Name && in.Layout == "NCHW"
				if err := accumulate(&accs[i], f, fq, q8, t.Shape, nchw, info); err != nil {
					return nil, fmt.Errorf("tensor %q (node %q): %v", info.Name, info.Source, err)
				}
			}
		}
	}
	var layers []Layer
	for i, info := range r.Tensors {
		a := accs[i]
		if a.n == 0 {
			continue
		}
		op := ""
		if nd := m.Graph.Node(info.Source); nd != nil {
			op = string(nd.Op)
		}
		layers = append(layers, Layer{Node: info.Source, Op: op, Tensor: info.Name, Scale: info.Scale, ZP: info.ZP,
			FakeQuantSQNR: sqnr(a.sig, a.fqErr), Int8SQNR: sqnr(a.sig, a.i8Err), Int8VsFakeQuantMax: a.maxSteps,
			Clipped: float64(a.clipped) / float64(a.n), Int16: info.Int16})
	}
	return layers, nil
}

func sqnr(sig, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

// accumulate adds one image's float / fake-quant / int8 values of a tensor. The int8 tensor is
// NHWC unless nchw.
func accumulate(a *acc, f, fq *engine.Tensor, q8 []int32, shape []int, nchw bool, info lower.TensorInfo) error {
	fs := f.Shape
	if len(fs) != 4 || len(shape) != 4 {
		return fmt.Errorf("shapes %v / %v are not 4-D", fs, shape)
	}
	c, h, w := fs[1], fs[2], fs[3]
	want := []int{1, h, w, c}
	if nchw {
		want = []int{1, c, h, w}
	}
	if !slices.Equal(shape, want) {
		return fmt.Errorf("TOSA shape %v, float shape %v", shape, fs)
	}
	q := quant.QParam{Scale: info.Scale, ZP: info.ZP, Int16: info.Int16}
	lo, hi := q.Range()
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := (ch*h+y)*w + x
				j := (y*w+x)*c + ch
				if nchw {
					j = i
				}
				fv, fqv := float64(f.Data[i]), float64(fq.Data[i])
				iv := float64(q.DequantizeInt(q8[j]))
				a.sig += fv * fv
				a.fqErr += (fv - fqv) * (fv - fqv)
				a.i8Err += (fv - iv) * (fv - iv)
				a.maxSteps = math.Max(a.maxSteps, math.Abs(iv-fqv)/float64(q.Scale))
				if f.Data[i] < lo || f.Data[i] > hi {
					a.clipped++
				}
				a.n++
			}
		}
	}
	return nil
}

// intValues reads an int8 or (a16w8) int16 activation tensor.
func intValues(t *tosa.Tensor) ([]int32, error) {
	if t.Type == tosa.Int16 {
		v, err := t.Int16s()
		if err != nil {
			return nil, err
		}
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, nil
	}
	v, err := t.Int8s()
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out, nil
}
