package fast

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
)

// buildUpscaler builds the tutorial's SmallUpscaler as lowered to TOSA (the small_upscaler
// fixture's topology) with F hidden channels and an H×W input: int8 [1,H,W,3] → RESIZE
// BILINEAR 2x → RESCALE 1/16 → CONV2D 3→F 3x3 → RESCALE (zp -128) → CONV2D F→F → RESCALE
// (zp -128) → CONV2D F→3 → RESCALE → int8 [1,2H,2W,3], random weights and multipliers.
func buildUpscaler(t testing.TB, seed uint64, H, W, F int) *tosa.Graph {
	r := rand.New(rand.NewPCG(seed, 1))
	b := tosa.NewBuilder()
	x := b.Input("input", tosa.Int8, 1, H, W, 3)
	sc := b.AddConstShape("scale", 4, 2, 4, 2)
	of := b.AddConstShape("offset", -1, -1)
	bo := b.AddConstShape("border", 1, 1)
	rz := b.AddOp(tosa.OpResize, tosa.Attr{Mode: tosa.ResizeBilinear}, []string{x, sc, of, bo}, "resized", tosa.Int32)
	i8 := func(name string, v int8) string {
		return b.AddConst(name, tosa.Int8, []int{1}, tosa.Int8Data([]int8{v}))
	}
	i32 := func(name string, v int32) string {
		return b.AddConst(name, tosa.Int32, []int{1}, tosa.Int32Data([]int32{v}))
	}
	rescale := func(name, in string, perChannel bool, mul []int32, sh []int8, izp string, ozp int8) string {
		n := len(mul)
		m := b.AddConst(name+"_m", tosa.Int32, []int{n}, tosa.Int32Data(mul))
		s := b.AddConst(name+"_s", tosa.Int8, []int{n}, tosa.Int8Data(sh))
		return b.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, PerChannel: perChannel, RoundingMode: tosa.SingleRound},
			[]string{in, m, s, izp, i8(name+"_ozp", ozp)}, name, tosa.Int8)
	}
	cur := rescale("rs0", rz, false, []int32{1 << 30}, []int8{34}, i32("rs0_izp", 0), -128)
	chans := []int{3, F, F, 3}
	for l := range 3 {
		ic, oc := chans[l], chans[l+1]
		k := 9 * ic
		w := make([]int8, oc*k)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		bias := make([]int32, oc)
		for i := range bias {
			bias[i] = int32(r.IntN(20001) - 10000)
		}
		ws := b.AddConst(names("w", l), tosa.Int8, []int{oc, 3, 3, ic}, tosa.Int8Data(w))
		bs := b.AddConst(names("b", l), tosa.Int32, []int{oc}, tosa.Int32Data(bias))
		acc := b.AddOp(tosa.OpConv2D, tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
			[]string{cur, ws, bs, i8(names("izp", l), -128), i8(names("wzp", l), 0)}, names("acc", l), tosa.Int32)
		// scale ≈ 1/(73·sqrt(K)·2) maps a typical accumulator to about ±64
		n := int8(math.Ceil(math.Log2(73 * math.Sqrt(float64(k)))))
		mul, sh := make([]int32, oc), make([]int8, oc)
		for i := range mul {
			mul[i] = int32(1<<30 + r.IntN(1<<30))
			sh[i] = 30 + n
		}
		ozp := int8(-128)
		if l == 2 {
			ozp = 0
		}
		cur = rescale(names("rs", l+1), acc, true, mul, sh, i32(names("rsizp", l+1), 0), ozp)
	}
	b.Output(cur)
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func names(p string, l int) string { return p + string(rune('0'+l)) }

func upscalerInput(n int, seed uint64) []int8 {
	r := rand.New(rand.NewPCG(seed, 2))
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(r.IntN(256) - 128)
	}
	return v
}

// TestUpscalerBuilt checks the built upscalers against ref, and concurrent Runs.
func TestUpscalerBuilt(t *testing.T) {
	for _, c := range []struct{ H, W, F int }{{16, 16, 32}, {9, 13, 20}} {
		g := buildUpscaler(t, 7, c.H, c.W, c.F)
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.RefOps()) != 0 {
			t.Fatalf("ops through ref: %v", p.RefOps())
		}
		var wg sync.WaitGroup
		for k := range 4 {
			in := i8in("input", []int{1, c.H, c.W, 3}, upscalerInput(c.H*c.W*3, uint64(k)))
			want, err := ref.Run(g, map[string]*tosa.Tensor{"input": in})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for range 3 {
					got, err := p.Run(map[string]*tosa.Tensor{"input": in})
					if err != nil {
						t.Error(err)
						return
					}
					if !sameTensor(got[g.Outputs[0]], want[g.Outputs[0]]) {
						t.Error("concurrent Run differs from ref")
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

func benchGraph(b *testing.B, g *tosa.Graph, useRef bool) {
	in := g.Tensor(g.Inputs[0])
	out := g.Tensor(g.Outputs[0])
	x := upscalerInput(in.NumElements(), 1)
	if useRef {
		inputs := map[string]*tosa.Tensor{in.Name: i8in(in.Name, in.Shape, x)}
		for b.Loop() {
			if _, err := ref.Run(g, inputs); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		p, err := Compile(g)
		if err != nil {
			b.Fatal(err)
		}
		y := make([]int8, out.NumElements())
		for b.Loop() {
			if err := p.RunInt8(x, y); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkUpscaler: the small_upscaler fixture (1x16x16x3 → 1x32x32x3, 3→32→32→3 channels),
// the same topology built with the builder (32 channels), and a 64x64-input 32-channel variant.
func BenchmarkUpscaler(b *testing.B) {
	root := fixturesDir(b)
	fx := loadFixture(b, root, filepath.Join(root, "small_upscaler", "00_izpm128_sr"))
	graphs := []struct {
		name string
		g    *tosa.Graph
	}{
		{"fixture16", fx.g},
		{"built32_16x16", buildUpscaler(b, 3, 16, 16, 32)},
		{"built32_64x64", buildUpscaler(b, 3, 64, 64, 32)},
	}
	for _, c := range graphs {
		b.Run(c.name+"/fast", func(b *testing.B) { benchGraph(b, c.g, false) })
		b.Run(c.name+"/ref", func(b *testing.B) { benchGraph(b, c.g, true) })
	}
}
