package lower

import (
	"fmt"
	"sync"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/fast"
	"github.com/vgfq/vgfq/tosa/ref"
)

// QuantizeInput converts a float NCHW batch (one image, N=1) into the graph input's int8
// tensor: layout per io, q = clamp(zp + round_half_even(fl32(1/scale) * x)).
func QuantizeInput(x []float32, c, h, w int, io IO) *tosa.Tensor {
	q := make([]int8, len(x))
	quantizeInto(q, x, c, h, w, io)
	return &tosa.Tensor{Name: io.Name, Shape: append([]int(nil), io.Shape...), Type: tosa.Int8, Data: tosa.Int8Data(q)}
}

func quantizeInto(q []int8, x []float32, c, h, w int, io IO) {
	qp := qparam(io)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				v := qp.Quantize(x[(ch*h+y)*w+xx])
				if io.Layout == "NCHW" {
					q[(ch*h+y)*w+xx] = v
				} else {
					q[(y*w+xx)*c+ch] = v
				}
			}
		}
	}
}

// DequantizeOutput converts an int8 output tensor (one image) back to float NCHW.
func DequantizeOutput(t *tosa.Tensor, io IO, dst []float32) error {
	v, err := t.Int8s()
	if err != nil {
		return err
	}
	return dequantizeFrom(v, io, dst)
}

func dequantizeFrom(v []int8, io IO, dst []float32) error {
	qp := qparam(io)
	s := io.Shape
	var c, h, w int
	if io.Layout == "NCHW" {
		c, h, w = s[1], s[2], s[3]
	} else {
		h, w, c = s[1], s[2], s[3]
	}
	if len(dst) < c*h*w || len(v) < c*h*w {
		return fmt.Errorf("output %q: %d values, want %d", io.Name, len(v), c*h*w)
	}
	// every int8 value's dequantized float, so that the loop is a table lookup
	var lut [256]float32
	for i := range lut {
		lut[i] = qp.Dequantize(int8(i - 128))
	}
	if io.Layout == "NCHW" {
		for i, q := range v[:c*h*w] {
			dst[i] = lut[int(q)+128]
		}
		return nil
	}
	for ch := 0; ch < c; ch++ {
		d := dst[ch*h*w : (ch+1)*h*w]
		for p := range d {
			d[p] = lut[int(v[p*c+ch])+128]
		}
	}
	return nil
}

// Int8Predictor runs the lowered TOSA graph on float NCHW batches: each image is quantized with
// the input's qparams, executed bit-exactly by the fast integer executor (tosa/fast, tested
// bit-identical with the reference interpreter tosa/ref), and the int8 output dequantized.
// Images of a batch run in parallel. The graph must have batch 1.
func Int8Predictor(r *Result, workers int) (func(x *engine.Tensor) (*engine.Tensor, error), error) {
	prog, err := fast.Compile(r.Graph)
	if err != nil {
		return nil, err
	}
	g := r.Graph
	if len(g.Inputs) == 1 && len(g.Outputs) == 1 && g.Tensor(g.Inputs[0]).Type == tosa.Int8 && g.Tensor(g.Outputs[0]).Type == tosa.Int8 {
		return int8PredictorFast(r, workers, prog), nil
	}
	return int8Predictor(r, workers, func(t *tosa.Tensor) (map[string]*tosa.Tensor, error) {
		return prog.Run(map[string]*tosa.Tensor{r.Inputs[0].Name: t})
	}), nil
}

// int8PredictorFast is int8Predictor with Program.RunInt8: a fixed pool of workers, each with
// its own int8 input and output buffers, so that nothing is allocated per image.
func int8PredictorFast(r *Result, workers int, prog *fast.Program) func(x *engine.Tensor) (*engine.Tensor, error) {
	in, out := r.Inputs[0], r.Outputs[0]
	nIn, nOut := 1, 1
	for _, d := range in.Shape {
		nIn *= d
	}
	for _, d := range out.Shape {
		nOut *= d
	}
	type bufs struct {
		q, y []int8
	}
	pool := sync.Pool{New: func() any { return &bufs{q: make([]int8, nIn), y: make([]int8, nOut)} }}
	return func(x *engine.Tensor) (*engine.Tensor, error) {
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if c*h*w != nIn {
			return nil, fmt.Errorf("lower: input %v, graph input %q has %d elements", x.Shape, in.Name, nIn)
		}
		os := out.Shape
		oc, oh, ow := os[3], os[1], os[2]
		if out.Layout == "NCHW" {
			oc, oh, ow = os[1], os[2], os[3]
		}
		y := engine.New(n, oc, oh, ow)
		errs := make([]error, n)
		var next sync.Mutex
		i := 0
		var wg sync.WaitGroup
		nw := min(max(workers, 1), n)
		intra := max(workers/max(nw, 1), 1) // goroutines per image left to the kernels
		for range nw {
			wg.Go(func() {
				b := pool.Get().(*bufs)
				defer pool.Put(b)
				for {
					next.Lock()
					k := i
					i++
					next.Unlock()
					if k >= n {
						return
					}
					quantizeInto(b.q, x.Data[k*nIn:(k+1)*nIn], c, h, w, in)
					if errs[k] = prog.RunInt8Workers(b.q, b.y, intra); errs[k] == nil {
						errs[k] = dequantizeFrom(b.y, out, y.Data[k*nOut:(k+1)*nOut])
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return y, nil
	}
}

// Int8PredictorRef is Int8Predictor with the reference interpreter (slow; the oracle).
func Int8PredictorRef(r *Result, workers int) func(x *engine.Tensor) (*engine.Tensor, error) {
	return int8Predictor(r, workers, func(t *tosa.Tensor) (map[string]*tosa.Tensor, error) {
		return ref.Run(r.Graph, map[string]*tosa.Tensor{r.Inputs[0].Name: t})
	})
}

func int8Predictor(r *Result, workers int, run func(*tosa.Tensor) (map[string]*tosa.Tensor, error)) func(x *engine.Tensor) (*engine.Tensor, error) {
	in, out := r.Inputs[0], r.Outputs[0]
	return func(x *engine.Tensor) (*engine.Tensor, error) {
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		os := out.Shape
		oc, oh, ow := os[3], os[1], os[2]
		if out.Layout == "NCHW" {
			oc, oh, ow = os[1], os[2], os[3]
		}
		y := engine.New(n, oc, oh, ow)
		errs := make([]error, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, max(workers, 1))
		for i := 0; i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				qt := QuantizeInput(x.Data[i*c*h*w:(i+1)*c*h*w], c, h, w, in)
				res, err := run(qt)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = DequantizeOutput(res[out.Name], out, y.Data[i*oc*oh*ow:(i+1)*oc*oh*ow])
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return y, nil
	}
}
