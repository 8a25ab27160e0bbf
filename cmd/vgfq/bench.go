package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/qat"
	"github.com/vgfq/vgfq/train"
)

func newBenchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure end-to-end speed: training throughput, inference and PTQ",
	}
	var model string
	var batch, steps, warmup, size int
	var cpuprofile string
	var qatMode bool
	var jsonOut bool
	var shapes []string
	tc := &cobra.Command{
		Use:   "train",
		Short: "Training throughput in images/s (forward + backward + AdamW step, random data)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if batch < 1 || batch > 4096 || steps < 1 || warmup < 0 || size < 2 || size > 1024 {
				return badInputf("--batch, --steps, --warmup or --input-size out of range")
			}
			g, h, w, err := benchModel(model, shapes, size)
			if err != nil {
				return err
			}
			// Training steps take 2x super-resolution pairs (as vgfq train does).
			if out := g.Node(g.Outputs[0]); len(g.Outputs) == 1 && out != nil && len(out.Shape) == 4 &&
				(out.Shape[2] != 2*h || out.Shape[3] != 2*w) {
				return badInputf("--model %s has %dx%d outputs for %dx%d inputs: training (and so bench train) takes 2x upscalers only; time its inference with 'vgfq bench infer'",
					model, out.Shape[2], out.Shape[3], h, w)
			}
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			what := "train"
			if qatMode {
				what = "QAT train"
			}
			ips, cpuPerImage, err := benchTrain(g, batch, h, w, steps, warmup, qatMode)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(map[string]any{"bench": what, "model": model, "batch": batch, "input_size": h, "input_width": w,
					"threads": runtime.GOMAXPROCS(0), "steps": steps, "images_per_s": ips, "ms_per_step": 1000 * float64(batch) / ips,
					"cpu_us_per_image": cpuPerImage})
			}
			fmt.Fprintf(os.Stdout, "%s "+what+": batch %d, input %dx%d, %d threads: %.1f images/s (%.2f ms/step)\n",
				model, batch, h, w, runtime.GOMAXPROCS(0), ips, 1000*float64(batch)/ips)
			return nil
		},
	}
	tc.Flags().StringVar(&model, "model", "upscaler", "model: zoo name, model or checkpoint directory, or .onnx file")
	tc.Flags().StringArrayVar(&shapes, "input-shape", nil, inputShapeUsage)
	tc.Flags().IntVar(&batch, "batch", 64, "batch size")
	tc.Flags().IntVar(&steps, "steps", 30, "timed steps")
	tc.Flags().IntVar(&warmup, "warmup", 3, "untimed warm-up steps")
	tc.Flags().IntVar(&size, "input-size", 16, "low-resolution input size of a zoo model (other models have their own)")
	tc.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	tc.Flags().BoolVar(&qatMode, "qat", false, "time quantization-aware training steps (fake-quant forward and backward) instead of float ones")
	tc.Flags().BoolVar(&jsonOut, "json", false, "print the result as one JSON object instead of the text line")
	c.AddCommand(tc, newBenchInferCmd())
	return c
}

// benchTrain times training steps on random data. It returns the images per second and the process CPU time per image (µs) of the timed steps
// (the warm-up steps excluded, as tools/bench/torch_bench.py does).
func benchTrain(g *graph.Graph, batch, h, w, steps, warmup int, qatMode bool) (ips, cpuPerImage float64, err error) {
	b := train.RandomBatch(batch, h, w, 1)
	ex := graph.NewExec(g, true)
	ex.Train = true
	if qatMode {
		m, err := qat.Prepare(g, qat.Options{})
		if err != nil {
			return 0, 0, err
		}
		ex = m.Exec()
	}
	opt := train.NewOptimizer(train.DefaultConfig(), ex.Params())
	var start time.Time
	var c0 time.Duration
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			start, c0 = time.Now(), processCPUTime()
		}
		if _, err := train.Step(ex, opt, b); err != nil {
			return 0, 0, err
		}
	}
	n := float64(steps * batch)
	return n / time.Since(start).Seconds(), (processCPUTime() - c0).Seconds() * 1e6 / n, nil
}

// benchModel loads a float model for the benchmarks as the other commands do (zoo name at
// size x size, model directory, .onnx file) and returns it with its input height and width.
func benchModel(spec string, shapes []string, size int) (*graph.Graph, int, int, error) {
	is, err := model.ParseInputShapes(shapes)
	if err != nil {
		return nil, 0, 0, badInput(err)
	}
	l, err := model.Load(spec, model.Options{H: size, W: size, Seed: 1, InputShapes: is})
	if err != nil {
		return nil, 0, 0, badInputf("--model: %v", err)
	}
	if l.ONNX != nil && l.ONNX.QDQ != nil {
		return nil, 0, 0, badInputf("--model %s is a QDQ model: benchmark its INT8 graph with 'vgfq export --model %s --out DIR' and 'vgfq bench infer --model DIR/model.vgf'", spec, spec)
	}
	h, w := modelInputSize(l.Graph)
	if h < 1 || w < 1 || h > 4096 || w > 4096 {
		return nil, 0, 0, badInputf("--model %s: the benchmarks need one NCHW image input of a fixed size (give it with --input-shape)", spec)
	}
	return l.Graph, h, w, nil
}

// startCPUProfile writes a CPU profile to path (none if empty) until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, badInput(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeJSON prints v as one line of JSON on stdout.
func writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", b)
	return err
}
