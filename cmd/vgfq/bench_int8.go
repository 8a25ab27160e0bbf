package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/zoo"
)

// newBenchInferCmd measures inference: the float model, and the INT8 TOSA graph with the fast
// executor and with the reference interpreter, plus the time of the PTQ pipeline itself.
func newBenchInferCmd() *cobra.Command {
	var model string
	var images, calib, size, rounds int
	var jsonOut, withRef bool
	var cpuprofile string
	c := &cobra.Command{
		Use:   "infer",
		Short: "Inference throughput (FP32 engine, INT8 fast executor, INT8 reference interpreter) and PTQ time",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if images < 1 || images > 100000 || calib < 1 || calib > 100000 || size < 2 || size > 1024 || rounds < 1 || rounds > 1000 {
				return badInputf("--images, --calib, --input-size or --rounds out of range")
			}
			g, err := zoo.Build(model, size, size, 1)
			if err != nil {
				return badInput(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			img := func() *engine.Tensor {
				x := engine.New(1, 3, size, size)
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
			batch := engine.New(images, 3, size, size)
			for i := range batch.Data {
				batch.Data[i] = rng.Float32()
			}
			fp := graph.NewExec(g2, false)
			fast, err := lower.Int8Predictor(res, runtime.GOMAXPROCS(0))
			if err != nil {
				return err
			}
			ref := lower.Int8PredictorRef(res, runtime.GOMAXPROCS(0))
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return badInput(err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			// timeIt: one warm-up run (first-touch allocations, packing), then the median of
			// --rounds timed runs; lastCPU is the process CPU time per image over those runs
			var lastCPU float64
			timeIt := func(f func() error) (float64, error) {
				if err := f(); err != nil {
					return 0, err
				}
				var ips []float64
				c0 := processCPUTime()
				for range rounds {
					t := time.Now()
					if err := f(); err != nil {
						return 0, err
					}
					ips = append(ips, float64(images)/time.Since(t).Seconds())
				}
				lastCPU = (processCPUTime() - c0).Seconds() * 1e6 / float64(rounds*images)
				slices.Sort(ips)
				return ips[len(ips)/2], nil
			}
			fpIPS, err := timeIt(func() error { _, err := fp.Forward(engine.Const(batch)); return err })
			if err != nil {
				return err
			}
			fpCPU := lastCPU
			fastIPS, err := timeIt(func() error { _, err := fast(batch); return err })
			if err != nil {
				return err
			}
			fastCPU := lastCPU
			refIPS := 0.0
			if withRef {
				rounds = 1
				if refIPS, err = timeIt(func() error { _, err := ref(batch); return err }); err != nil {
					return err
				}
			}
			if jsonOut {
				r := map[string]any{"bench": "infer", "model": model, "input_size": size, "threads": runtime.GOMAXPROCS(0),
					"images": images, "calib": calib, "ptq_ms": float64(ptq.Microseconds()) / 1000,
					"fp32_images_per_s": fpIPS, "int8_fast_images_per_s": fastIPS,
					"fp32_cpu_us_per_image": fpCPU, "int8_fast_cpu_us_per_image": fastCPU}
				if withRef {
					r["int8_ref_images_per_s"] = refIPS
				}
				return writeJSON(r)
			}
			w := os.Stdout
			fmt.Fprintf(w, "%s, input %dx%d, %d threads\n", model, size, size, runtime.GOMAXPROCS(0))
			fmt.Fprintf(w, "  PTQ (%d calibration images, convert, lower): %s\n", calib, ptq.Round(time.Millisecond))
			fmt.Fprintf(w, "  FP32 engine, batch %d:            %8.1f images/s\n", images, fpIPS)
			fmt.Fprintf(w, "  INT8 TOSA, fast executor:          %8.1f images/s\n", fastIPS)
			if withRef {
				fmt.Fprintf(w, "  INT8 TOSA, reference interpreter:  %8.1f images/s (fast is %.0fx)\n", refIPS, fastIPS/refIPS)
			}
			return nil
		},
	}
	c.Flags().StringVar(&model, "model", "upscaler", "model")
	c.Flags().IntVar(&images, "images", 128, "images per measurement (one batch)")
	c.Flags().IntVar(&calib, "calib", 500, "calibration images")
	c.Flags().IntVar(&size, "input-size", 16, "low-resolution input size")
	c.Flags().IntVar(&rounds, "rounds", 1, "timed runs per measurement (the median is reported; the reference interpreter runs once)")
	c.Flags().BoolVar(&withRef, "ref", true, "also time the reference interpreter (slow)")
	c.Flags().BoolVar(&jsonOut, "json", false, "print the results as one JSON object instead of text lines")
	c.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the timed runs to this file")
	return c
}
