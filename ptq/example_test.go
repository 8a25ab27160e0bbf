package ptq_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// Quantize a float model with representative images and write the INT8 artifacts. A real
// program would load its trained model (graph.Load, or build it with graph.NewBuilder / import
// it) and feed real images; this one uses the zoo's untrained upscaler and random images.
func Example() {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	image := func() *engine.Tensor {
		x := engine.New(1, 3, 16, 16)
		for i := range x.Data {
			x.Data[i] = rng.Float32()
		}
		return x
	}
	images := func(yield func(*engine.Tensor, error) bool) {
		for i := 0; i < 8; i++ {
			if !yield(image(), nil) {
				return
			}
		}
	}
	res, err := ptq.Quantize(g, images, ptq.Options{}, nil)
	if err != nil {
		panic(err)
	}
	var ops []string
	for _, op := range res.Lowered.Graph.Ops {
		if op.Op != tosa.OpConst && op.Op != tosa.OpConstShape {
			ops = append(ops, op.Op.String())
		}
	}
	fmt.Println(strings.Join(ops, " "))
	in := res.Lowered.Inputs[0]
	fmt.Printf("input %s %v %s, zero point %d\n", in.Name, in.Shape, in.Layout, in.ZP)

	dir, _ := os.MkdirTemp("", "vgfq-example")
	defer os.RemoveAll(dir)
	if _, err := res.Export(dir, image(), false); err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	fmt.Println(strings.Join(files, " "))
	// Output:
	// RESIZE RESCALE CONV2D RESCALE CONV2D RESCALE CONV2D RESCALE
	// input x [1 16 16 3] NHWC, zero point -128
	// expected_output.npy input.npy io.json model.tosa model.vgf quant.json scenario.json
}
