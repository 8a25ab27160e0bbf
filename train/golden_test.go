package train

import (
	"fmt"
	"math"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

// TestGoldenAdamWThroughTheProduct repeats the engine's PyTorch golden run (20 AdamW steps on
// the SmallUpscaler, tools/golden/gen.py) through the path users run: the zoo graph, graph.Exec,
// the configured optimizer and train.Step. The loss curve must match PyTorch's within 1e-4.
func TestGoldenAdamWThroughTheProduct(t *testing.T) {
	f, err := npz.Open("../engine/testdata/golden/train_adamw.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readF := func(key string) []float32 {
		var v []float32
		if err := f.Read(key+".npy", &v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return v
	}
	readU8 := func(key string) ([]uint8, []int) {
		var v []uint8
		if err := f.Read(key+".npy", &v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		hdr := f.Header(key + ".npy")
		return v, hdr.Descr.Shape
	}
	g, _ := zoo.Upscaler(16, 16, 1)
	names := []string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias"}
	for i, n := range names {
		init := readF(fmt.Sprintf("p%d_init", i))
		if len(init) != len(g.Params[n].Data) {
			t.Fatalf("%s: %d values, golden has %d", n, len(g.Params[n].Data), len(init))
		}
		copy(g.Params[n].Data, init)
	}
	ex := graph.NewExec(g, true)
	ex.Train = true
	c := DefaultConfig() // AdamW lr 1e-3, weight decay 0.01: the tutorial's = torch's defaults
	opt := NewOptimizer(c, ex.Params())
	xs, xshape := readU8("xs_u8")
	ys, yshape := readU8("ys_u8")
	want := readF("losses")
	per := func(s []int) int { return s[1] * s[2] * s[3] * s[4] }
	worst := 0.0
	for step := range want {
		b := &data.Batch{N: xshape[1], H: yshape[3], W: yshape[4],
			LR: make([]float32, per(xshape)), HR: make([]float32, per(yshape))}
		for i := range b.LR {
			b.LR[i] = float32(xs[step*per(xshape)+i]) / 255
		}
		for i := range b.HR {
			b.HR[i] = float32(ys[step*per(yshape)+i]) / 255
		}
		loss, err := Step(ex, opt, b)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Abs(loss-float64(want[step])) / float64(want[step])
		worst = max(worst, e)
		if e > 1e-4 {
			t.Errorf("step %d: loss %.8g, PyTorch %.8g (rel err %.3g)", step, loss, want[step], e)
		}
	}
	t.Logf("worst per-step loss rel err vs PyTorch: %.3g over %d steps", worst, len(want))
}
