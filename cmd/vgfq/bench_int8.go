package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	modelpkg "github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/quant"
)

// newBenchInferCmd measures inference: the float model, and the INT8 TOSA graph with the fast
// executor and with the reference interpreter, plus the time of the PTQ pipeline itself.
func newBenchInferCmd() *cobra.Command {
	var model string
	var images, calib, size, rounds int
	var jsonOut, withRef bool
	var cpuprofile string
	var shapes []string
	c := &cobra.Command{
		Use:   "infer",
		Short: "Inference throughput (FP32 engine, INT8 fast executor, INT8 reference interpreter) and PTQ time",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if images < 1 || images > 100000 || calib < 1 || calib > 100000 || size < 2 || size > 1024 || rounds < 1 || rounds > 1000 {
				return badInputf("--images, --calib, --input-size or --rounds out of range")
			}
			if fi, err := os.Stat(model); err == nil && !fi.IsDir() && !modelpkg.IsONNX(model) {
				return benchInt8File(model, images, rounds, withRef, jsonOut)
			}
			g, h, w, err := benchModel(model, shapes, size)
			if err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(1, 2))
			img := func() *engine.Tensor {
				x := engine.New(1, 3, h, w)
				for i := range x.Data {
					x.Data[i] = rng.Float32()
				}
				return x
			}
			// PTQ pipeline: annotate, calibrate, convert, lower.
			start := time.Now()
			g2, _, err := graph.FoldBatchNorm(g)
			if err != nil {
				return err
			}
			plan, err := quant.Annotate(g2, quant.Options{})
			if err != nil {
				return err
			}
			cal := quant.NewCalibrator(plan, quant.Config{})
			for i := 0; i < calib; i++ {
				if err := cal.Observe(img()); err != nil {
					return err
				}
			}
			m, err := cal.Convert()
			if err != nil {
				return err
			}
			res, err := lower.Lower(m, lower.Options{})
			if err != nil {
				return err
			}
			ptq := time.Since(start)
			batch := engine.New(images, 3, h, w)
			for i := range batch.Data {
				batch.Data[i] = rng.Float32()
			}
			fp := graph.NewExec(g2, false)
			fast, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
			if err != nil {
				return err
			}
			ref := lower.Int8PredictorRef(res, runtime.GOMAXPROCS(0))
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			fpIPS, fpCPU, err := timeIt(rounds, images, func() error { _, err := fp.Forward(engine.Const(batch)); return err })
			if err != nil {
				return err
			}
			fastIPS, fastCPU, err := timeIt(rounds, images, func() error { _, err := fast(batch); return err })
			if err != nil {
				return err
			}
			refIPS := 0.0
			if withRef {
				if refIPS, _, err = timeIt(1, images, func() error { _, err := ref(batch); return err }); err != nil {
					return err
				}
			}
			if jsonOut {
				r := map[string]any{"bench": "infer", "model": model, "input_size": h, "input_width": w, "threads": runtime.GOMAXPROCS(0),
					"images": images, "calib": calib, "ptq_ms": float64(ptq.Microseconds()) / 1000,
					"fp32_images_per_s": fpIPS, "int8_fast_images_per_s": fastIPS,
					"fp32_cpu_us_per_image": fpCPU, "int8_fast_cpu_us_per_image": fastCPU}
				if withRef {
					r["int8_ref_images_per_s"] = refIPS
				}
				return writeJSON(r)
			}
			out := os.Stdout
			fmt.Fprintf(out, "%s, input %dx%d, %d threads\n", model, h, w, runtime.GOMAXPROCS(0))
			fmt.Fprintf(out, "  PTQ (%d calibration images, convert, lower): %s\n", calib, ptq.Round(time.Millisecond))
			fmt.Fprintf(out, "  FP32 engine, batch %d:            %8.1f images/s\n", images, fpIPS)
			fmt.Fprintf(out, "  INT8 TOSA, fast executor:          %8.1f images/s\n", fastIPS)
			if withRef {
				fmt.Fprintf(out, "  INT8 TOSA, reference interpreter:  %8.1f images/s (fast is %.0fx)\n", refIPS, fastIPS/refIPS)
			}
			return nil
		},
	}
	c.Flags().StringVar(&model, "model", "upscaler", "model: zoo name, model or checkpoint directory, .onnx file, or an INT8 model.vgf / model.tosa (timed on the INT8 executors only)")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, inputShapeUsage)
	c.Flags().IntVar(&images, "images", 128, "images per measurement (one batch)")
	c.Flags().IntVar(&calib, "calib", 500, "calibration images")
	c.Flags().IntVar(&size, "input-size", 16, "low-resolution input size of a zoo model (other models have their own)")
	c.Flags().IntVar(&rounds, "rounds", 1, "timed runs per measurement (the median is reported; the reference interpreter runs once)")
	c.Flags().BoolVar(&withRef, "ref", true, "also time the reference interpreter (slow)")
	c.Flags().BoolVar(&jsonOut, "json", false, "print the results as one JSON object instead of text lines")
	c.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the timed runs to this file")
	return c
}

// timeIt: one warm-up run (first-touch allocations, packing), then the median of rounds timed
// runs of f on images images, in images/s, and the process CPU time per image (µs) over them.
func timeIt(rounds, images int, f func() error) (ips, cpuUS float64, err error) {
	if err := f(); err != nil {
		return 0, 0, err
	}
	var all []float64
	c0 := processCPUTime()
	for range rounds {
		t := time.Now()
		if err := f(); err != nil {
			return 0, 0, err
		}
		all = append(all, float64(images)/time.Since(t).Seconds())
	}
	cpuUS = (processCPUTime() - c0).Seconds() * 1e6 / float64(rounds*images)
	slices.Sort(all)
	return all[len(all)/2], cpuUS, nil
}

// benchInt8File times an INT8 model.vgf / model.tosa (with its io.json or quant.json) on the
// fast executor and, with withRef, the reference interpreter, on random int8-range images.
func benchInt8File(path string, images, rounds int, withRef, jsonOut bool) error {
	res, _, in, err := int8Result(path)
	if err != nil {
		return err
	}
	fast, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
	if err != nil {
		return badInputf("%s: %v", path, err)
	}
	ref := lower.Int8PredictorRef(res, runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(1, 2))
	batch := engine.New(images, 3, in[0], in[1])
	for i := range batch.Data {
		batch.Data[i] = rng.Float32()
	}
	fastIPS, fastCPU, err := timeIt(rounds, images, func() error { _, err := fast(batch); return err })
	if err != nil {
		return badInputf("%s: %v", path, err)
	}
	refIPS := 0.0
	if withRef {
		if refIPS, _, err = timeIt(1, images, func() error { _, err := ref(batch); return err }); err != nil {
			return badInputf("%s: %v", path, err)
		}
	}
	if jsonOut {
		r := map[string]any{"bench": "infer", "model": path, "input_size": in[0], "input_width": in[1], "threads": runtime.GOMAXPROCS(0),
			"images": images, "int8_fast_images_per_s": fastIPS, "int8_fast_cpu_us_per_image": fastCPU}
		if withRef {
			r["int8_ref_images_per_s"] = refIPS
		}
		return writeJSON(r)
	}
	out := os.Stdout
	fmt.Fprintf(out, "%s, input %dx%d, %d threads\n", path, in[0], in[1], runtime.GOMAXPROCS(0))
	fmt.Fprintf(out, "  INT8 TOSA, fast executor, batch %d: %8.1f images/s\n", images, fastIPS)
	if withRef {
		fmt.Fprintf(out, "  INT8 TOSA, reference interpreter:  %8.1f images/s (fast is %.0fx)\n", refIPS, fastIPS/refIPS)
	}
	return nil
}
