package qat

// K AdamW steps of the tutorial's SmallUpscaler prepared for QAT, against torch 1.13 running
// the same prepared model (tools/golden/qat_gen.py writes testdata/qat_train.npz): losses and
// weights within float tolerance, every fake-quant's qparams after every step equal.

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/zoo"
)

type garr struct {
	shape []int
	f32   []float32
	i64   []int64
	u8    []uint8
}

func loadNPZ(t *testing.T, name string) map[string]*garr {
	t.Helper()
	r, err := npz.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden file missing (regenerate with /usr/bin/python3 tools/golden/qat_gen.py): %v", err)
	}
	defer r.Close()
	out := map[string]*garr{}
	for _, key := range r.Keys() {
		rc, err := r.Open(key)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := npy.NewReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		a := &garr{shape: rd.Header.Descr.Shape}
		switch strings.Trim(rd.Header.Descr.Type, "'\"") {
		case "<f4":
			err = rd.Read(&a.f32)
		case "<i8":
			err = rd.Read(&a.i64)
		case "|u1":
			err = rd.Read(&a.u8)
		default:
			err = fmt.Errorf("unsupported dtype %s", rd.Header.Descr.Type)
		}
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out[strings.TrimSuffix(key, ".npy")] = a
	}
	return out
}

func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / max(den, 1e-30))
}

func TestGoldenQATTraining(t *testing.T) {
	g := loadNPZ(t, "qat_train.npz")
	get := func(k string) *garr {
		a, ok := g[k]
		if !ok {
			t.Fatalf("qat_train.npz: no %q", k)
		}
		return a
	}
	fg, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias"}
	for k, n := range names {
		p := fg.Params[n]
		src := get(fmt.Sprintf("p%d_init", k)).f32
		if len(src) != len(p.Data) {
			t.Fatalf("%s: %d values, golden %d", n, len(p.Data), len(src))
		}
		copy(p.Data, src)
	}
	m, err := Prepare(fg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.QAT.Act) != 4 {
		t.Fatalf("%d activation groups, want 4 (G_in, G_a1, G_a2, G_out)", len(m.QAT.Act))
	}
	opt := engine.NewAdamW(m.Exec().Params(), get("lr").f32[0])
	xs, ys := get("xs_u8"), get("ys_u8")
	steps := int(get("steps").i64[0])
	losses := get("losses").f32
	nx, ny := engine.NumElems(xs.shape[1:]), engine.NumElems(ys.shape[1:])
	convs := []string{"conv1", "conv2", "conv3"}
	var worstScale, worstULP float64
	exact, total := 0, 0
	for s := 0; s < steps; s++ {
		b := &data.Batch{N: xs.shape[1], H: ys.shape[3], W: ys.shape[4], LR: make([]float32, nx), HR: make([]float32, ny)}
		for i, v := range xs.u8[s*nx : (s+1)*nx] {
			b.LR[i] = float32(v) / 255
		}
		for i, v := range ys.u8[s*ny : (s+1)*ny] {
			b.HR[i] = float32(v) / 255
		}
		loss, err := m.Step(opt, b)
		if err != nil {
			t.Fatal(err)
		}
		if e := math.Abs(loss-float64(losses[s])) / float64(losses[s]); e > 1e-5 {
			t.Errorf("step %d: loss %.8g, torch %.8g (rel %.3g)", s, loss, losses[s], e)
		}
		for q, a := range m.QAT.Act {
			p := fmt.Sprintf("q%d_s%d_", q, s)
			wantS, wantZ := get(p + "scale").f32[0], get(p + "zp").i64[0]
			tmin, tmax := get(p + "min").f32[0], get(p + "max").f32[0]
			total++
			// Activations after a conv differ from torch's in the last bits (summation order of
			// the convolution), so the EMA range does, and the scale may by an ulp or two; the
			// zero point must be equal, and torch's own range must give torch's qparams exactly.
			ulps := math.Abs(float64(int64(math.Float32bits(a.Scale)) - int64(math.Float32bits(wantS))))
			switch {
			case a.Scale == wantS && int64(a.ZP) == wantZ:
				exact++
			case int64(a.ZP) != wantZ || ulps > 8:
				t.Errorf("step %d group %d: training qparams (%v, %d), torch (%v, %d); EMA range [%v, %v], torch [%v, %v]",
					s, q, a.Scale, a.ZP, wantS, wantZ, a.Min, a.Max, tmin, tmax)
			default:
				worstULP = max(worstULP, ulps)
			}
			if ts, tz, err := quant.ChooseQuantizationParams(tmin, tmax, -128, 127); err != nil || ts != wantS || int64(tz) != wantZ {
				t.Errorf("step %d group %d: ChooseQuantizationParams(torch range) = (%v, %d, %v), torch (%v, %d)", s, q, ts, tz, err, wantS, wantZ)
			}
			if e := relErr([]float32{a.Min, a.Max}, []float32{get(p + "min").f32[0], get(p + "max").f32[0]}); e > 1e-5 {
				t.Errorf("step %d group %d: EMA range rel err %.3g", s, q, e)
			}
		}
		for c, name := range convs {
			want := get(fmt.Sprintf("w%d_s%d_scale", c, s)).f32
			got := m.QAT.Weights[name].Scales
			for i := range want {
				total++
				if got[i] == want[i] {
					exact++
					continue
				}
				e := math.Abs(float64(got[i])/float64(want[i]) - 1)
				worstScale = max(worstScale, e)
				if e > 1e-6 {
					t.Errorf("step %d %s scale[%d] = %v, torch %v (rel %.3g)", s, name, i, got[i], want[i], e)
				}
			}
		}
	}
	for k, n := range names {
		e := relErr(m.Graph.Params[n].Data, get(fmt.Sprintf("p%d_final", k)).f32)
		if e > 1e-5 {
			t.Errorf("%s after %d steps: rel err %.3g", n, steps, e)
		} else {
			t.Logf("%s after %d steps: rel err %.3g", n, steps, e)
		}
	}
	t.Logf("qparams bit-equal to torch: %d of %d (others: activation scales within %.0f ulp, zero points equal; weight scales within rel %.3g)", exact, total, worstULP, worstScale)
}

// TestGoldenQATConvBN trains up -> conv1 (no bias) -> BatchNorm -> ReLU -> conv2 with the QAT conv-BN
// pattern for 4 AdamW steps against torch 1.13 running TorchAO's pattern in eager mode, then
// checks the convert-time fold.
func TestGoldenQATConvBN(t *testing.T) {
	g := loadNPZ(t, "qat_convbn.npz")
	get := func(k string) *garr {
		a, ok := g[k]
		if !ok {
			t.Fatalf("qat_convbn.npz: no %q", k)
		}
		return a
	}
	b := graph.NewBuilder("convbn", 3)
	x := b.Input("x", 1, 3, 16, 16)
	up := b.Upsample("up", x, 2, "bilinear")
	c1 := b.Conv2d("conv1", up, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1, NoBias: true})
	r := b.ReLU("relu1", b.BatchNorm2d("bn1", c1, 8))
	fg, err := b.Build(b.Conv2d("conv2", r, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1}))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "bn1.running_mean", "bn1.running_var"}
	for _, n := range names {
		copy(fg.Params[n].Data, get("init/"+n).f32)
	}
	m, err := Prepare(fg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	opt := engine.NewAdamW(m.Exec().Params(), 1e-3)
	xs, ys := get("xs_u8"), get("ys_u8")
	nx, ny := engine.NumElems(xs.shape[1:]), engine.NumElems(ys.shape[1:])
	for s, want := range get("losses").f32 {
		bt := &data.Batch{N: xs.shape[1], H: 32, W: 32, LR: make([]float32, nx), HR: make([]float32, ny)}
		for i, v := range xs.u8[s*nx : (s+1)*nx] {
			bt.LR[i] = float32(v) / 255
		}
		for i, v := range ys.u8[s*ny : (s+1)*ny] {
			bt.HR[i] = float32(v) / 255
		}
		loss, err := m.Step(opt, bt)
		if err != nil {
			t.Fatal(err)
		}
		if e := math.Abs(loss/float64(want) - 1); e > 1e-5 {
			t.Errorf("step %d: loss %.8g, torch %.8g", s, loss, want)
		}
	}
	for _, n := range names {
		if e := relErr(m.Graph.Params[n].Data, get("final/"+n).f32); e > 1e-5 {
			t.Errorf("%s: rel err %.3g after training", n, e)
		} else {
			t.Logf("%s: rel err %.3g", n, e)
		}
	}
	if e := relErr(m.QAT.Weights["conv1"].Scales, get("wscale0").f32); e > 1e-6 {
		t.Errorf("conv1 weight scales (observed on w*gamma/sigma): rel err %.3g", e)
	}
	res, _, err := m.Convert()
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(res.Graph.Params["conv1.weight"].Data, get("folded_w").f32); e > 1e-5 {
		t.Errorf("folded weight rel err %.3g", e)
	}
	if e := relErr(res.Graph.Params["conv1.bias"].Data, get("folded_b").f32); e > 1e-5 {
		t.Errorf("folded bias rel err %.3g", e)
	}
}
