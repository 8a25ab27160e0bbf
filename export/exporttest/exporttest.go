// Package exporttest builds small lowered INT8 graphs (zoo model → PTQ on random inputs →
// lower.Lower) for the tests of export, inspect and the CLI. No training is involved.
package exporttest

import (
	"math/rand/v2"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/zoo"
)

// Lowered returns zoo model name (h x w input) quantized on a few seeded random images and
// lowered with the given I/O layout.
func Lowered(tb testing.TB, name string, h, w int, layout lower.Layout, seed uint64) *lower.Result {
	tb.Helper()
	g, err := zoo.Build(name, h, w, seed)
	if err != nil {
		tb.Fatal(err)
	}
	plan, err := quant.Annotate(g, quant.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	cal := quant.NewCalibrator(plan, quant.Config{})
	r := rand.New(rand.NewPCG(seed, 7))
	for range 3 {
		x := engine.New(1, 3, h, w)
		for j := range x.Data {
			x.Data[j] = r.Float32()
		}
		if err := cal.Observe(x); err != nil {
			tb.Fatal(err)
		}
	}
	m, err := cal.Convert()
	if err != nil {
		tb.Fatal(err)
	}
	res, err := lower.Lower(m, lower.Options{Layout: layout})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// RandomInputs returns seeded random int8 tensors for the graph inputs of res.
func RandomInputs(res *lower.Result, seed uint64) []*tosa.Tensor {
	r := rand.New(rand.NewPCG(seed, 11))
	var ts []*tosa.Tensor
	for _, name := range res.Graph.Inputs {
		gt := res.Graph.Tensor(name)
		d := make([]byte, tosa.NumElements(gt.Shape))
		for i := range d {
			d[i] = byte(r.Uint32())
		}
		ts = append(ts, &tosa.Tensor{Name: name, Shape: append([]int{}, gt.Shape...), Type: tosa.Int8, Data: d})
	}
	return ts
}
