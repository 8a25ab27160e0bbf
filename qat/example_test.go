package qat_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/qat"
	"github.com/vgfq/vgfq/zoo"
)

// Fine-tune a float model with fake quantization in your own loop, then export the INT8
// artifacts. A real program would load its trained model (graph.Load, or build it with
// graph.NewBuilder / import it) and iterate over its own data; this one uses the zoo's untrained
// upscaler and random images. train.Step(m.Exec(), opt, b) works too; m.Step adds the freeze
// schedules and names the node of a NaN activation.
func Example() {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		panic(err)
	}
	m, err := qat.Prepare(g, qat.Options{})
	if err != nil {
		panic(err)
	}
	opt := engine.NewAdamW(m.Params(), 1e-4)
	rng := rand.New(rand.NewPCG(1, 2))
	batch := func(n int) *data.Batch {
		b := &data.Batch{N: n, H: 32, W: 32, LR: make([]float32, n*3*16*16), HR: make([]float32, n*3*32*32)}
		for i := range b.LR {
			b.LR[i] = rng.Float32()
		}
		for i := range b.HR {
			b.HR[i] = rng.Float32()
		}
		return b
	}
	for step := 0; step < 3; step++ {
		if _, err := m.Step(opt, batch(8)); err != nil {
			panic(err)
		}
	}
	res, table, err := m.Convert()
	if err != nil {
		panic(err)
	}
	for _, r := range table { // training-time vs exported qparams per activation group
		fmt.Printf("%s: exported with the %s formula\n", strings.Join(r.Values, "+"), r.Exported)
	}
	var ops []string
	for _, op := range res.Lowered.Graph.Ops {
		if s := op.Op.String(); s != "CONST" && s != "CONST_SHAPE" {
			ops = append(ops, s)
		}
	}
	fmt.Println(strings.Join(ops, " "))
	dir, _ := os.MkdirTemp("", "vgfq-qat-example")
	defer os.RemoveAll(dir)
	sample := engine.FromData(batch(1).LR, 1, 3, 16, 16)
	if _, err := res.Export(dir, sample, false); err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	fmt.Println(strings.Join(files, " "))
	// Output:
	// x+upsample: exported with the observer formula
	// relu1: exported with the observer formula
	// relu2: exported with the observer formula
	// conv3: exported with the observer formula
	// RESIZE RESCALE CONV2D RESCALE CONV2D RESCALE CONV2D RESCALE
	// expected_output.npy input.npy io.json model.tosa model.vgf quant.json scenario.json
}
