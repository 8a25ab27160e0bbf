package ptq_test

import (
	"bytes"
	"iter"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/fast"
	"github.com/vgfq/vgfq/tosa/ref"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
)

// The library entry points a service calls from many goroutines at once — ptq.Quantize, the
// INT8 executors (tosa/ref, a shared tosa/fast Program) and train.Evaluate — on shared,
// read-only models. Every concurrent call must give exactly the serial result; run with -race
// (.ci/run does) to catch data races the results would not show.

const goroutines = 4

func calibration(n int, seed uint64) iter.Seq2[*engine.Tensor, error] {
	return func(yield func(*engine.Tensor, error) bool) {
		rng := rand.New(rand.NewPCG(seed, 9))
		for i := 0; i < n; i++ {
			x := engine.New(1, 3, 8, 8)
			for k := range x.Data {
				x.Data[k] = rng.Float32()
			}
			if !yield(x, nil) {
				return
			}
		}
	}
}

func parallel(t *testing.T, f func(k int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for k := 0; k < goroutines; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			errs[k] = f(k)
		}(k)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentQuantizeRunEvaluate(t *testing.T) {
	g, err := zoo.Upscaler(8, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := ptq.Quantize(g, calibration(4, 1), ptq.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := serial.Summary()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Quantize", func(t *testing.T) {
		parallel(t, func(int) error {
			r, err := ptq.Quantize(g, calibration(4, 1), ptq.Options{}, nil)
			if err != nil {
				return err
			}
			got, err := r.Summary()
			if err == nil && !bytes.Equal(got, want) {
				t.Error("concurrent Quantize differs from the serial one")
			}
			return err
		})
	})

	lg := serial.Lowered.Graph
	in := serial.Lowered.Inputs[0]
	inputs := make([]map[string]*tosa.Tensor, goroutines)
	wantOut := make([]map[string]*tosa.Tensor, goroutines)
	raw := make([][]int8, goroutines)
	for k := range inputs {
		rng := rand.New(rand.NewPCG(uint64(k), 3))
		n := 1
		for _, d := range in.Shape {
			n *= d
		}
		raw[k] = make([]int8, n)
		for i := range raw[k] {
			raw[k][i] = int8(rng.IntN(256) - 128)
		}
		inputs[k] = map[string]*tosa.Tensor{in.Name: {Name: in.Name, Shape: in.Shape, Type: tosa.Int8, Data: tosa.Int8Data(raw[k])}}
		if wantOut[k], err = ref.Run(lg, inputs[k]); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("ref.Run", func(t *testing.T) {
		parallel(t, func(k int) error {
			for rep := 0; rep < 2; rep++ {
				out, err := ref.Run(lg, inputs[k])
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(out, wantOut[k]) {
					t.Errorf("goroutine %d: ref.Run differs", k)
				}
			}
			return nil
		})
	})
	t.Run("fast.Program", func(t *testing.T) {
		p, err := fast.Compile(lg)
		if err != nil {
			t.Fatal(err)
		}
		outName := serial.Lowered.Outputs[0].Name
		parallel(t, func(k int) error {
			for rep := 0; rep < 3; rep++ {
				out, err := p.Run(inputs[k])
				if err != nil {
					return err
				}
				if !bytes.Equal(out[outName].Data, wantOut[k][outName].Data) {
					t.Errorf("goroutine %d: fast Run differs from ref", k)
				}
				o := make([]int8, len(wantOut[k][outName].Data))
				if err := p.RunInt8(raw[k], o); err != nil {
					return err
				}
				if !bytes.Equal(tosa.Int8Data(o), wantOut[k][outName].Data) {
					t.Errorf("goroutine %d: fast RunInt8 differs from ref", k)
				}
			}
			return nil
		})
	})
	t.Run("Evaluate", func(t *testing.T) {
		ds := data.Builtin(data.BuiltinOptions{TrainSize: 8, TestSize: 8, Size: 16})
		serialEv, err := train.Evaluate(g, ds.Test, 4, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		parallel(t, func(int) error {
			ev, err := train.Evaluate(g, ds.Test, 4, 0, true)
			if err == nil && *ev != *serialEv {
				t.Errorf("concurrent Evaluate %+v, serial %+v", ev, serialEv)
			}
			return err
		})
	})
}
