package quant

// Golden tests of the QAT fake-quant modules against torch 1.13 (tools/golden/qat_gen.py):
// FusedMovingAvgObsFakeQuantize (ATen fused_moving_avg_obs_fake_quant) and FakeQuantize with a
// PerChannelMinMaxObserver, forward and backward over several steps, bit for bit.

import (
	"fmt"
	"math"
	"testing"

	"github.com/vgfq/vgfq/engine"
)

func checkBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, torch %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !sameBits(got[i], want[i]) {
			if bad < 3 {
				t.Errorf("%s[%d] = %v (%#08x), torch %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// steGrad is the backward of fake quant: dx = g where mask, else 0.
func steGrad(g []float32, mask []bool) []float32 {
	dx := make([]float32, len(g))
	for i := range g {
		if mask[i] {
			dx[i] = g[i]
		}
	}
	return dx
}

func TestGoldenFusedFakeQuant(t *testing.T) {
	g := loadG(t, "qat_fq.npz")
	edges := 0
	for i := 0; g.has(fmt.Sprintf("a%d_n", i)); i++ {
		n := int(g.i64(t, fmt.Sprintf("a%d_n", i))[0])
		fq := NewFusedFakeQuant(Eps16)
		for j := 0; j < n; j++ {
			p := fmt.Sprintf("a%d_s%d_", i, j)
			fq.ObserverEnabled = g.i64(t, p+"obs")[0] != 0
			fq.FakeQuantEnabled = g.i64(t, p+"fq")[0] != 0
			x := g.f32(t, p+"x")
			y := make([]float32, len(x))
			mask := make([]bool, len(x))
			if err := fq.Forward(x, y, mask); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			checkBits(t, p+"min", []float32{fq.Min}, g.f32(t, p+"min"))
			checkBits(t, p+"max", []float32{fq.Max}, g.f32(t, p+"max"))
			checkBits(t, p+"scale", []float32{fq.Scale}, g.f32(t, p+"scale"))
			if want := g.i64(t, p+"zp")[0]; int64(fq.ZP) != want {
				t.Errorf("%szp = %d, torch %d", p, fq.ZP, want)
			}
			es, ez := fq.ExportQParams()
			checkBits(t, p+"export scale", []float32{es}, g.f32(t, p+"escale"))
			if want := g.i64(t, p+"ezp")[0]; int64(ez) != want {
				t.Errorf("%sexport zp = %d, torch %d", p, ez, want)
			}
			checkBits(t, p+"y", y, g.f32(t, p+"y"))
			checkBits(t, p+"dx", steGrad(g.f32(t, p+"g"), mask), g.f32(t, p+"dx"))
			if !fq.ObserverEnabled {
				for _, m := range mask {
					if !m {
						edges++
					}
				}
			}
		}
	}
	if edges == 0 {
		t.Error("the clamp-edge step masked nothing: the STE edge is not exercised")
	}
	g.checkAllUsed(t)
}

func TestGoldenWeightFakeQuant(t *testing.T) {
	g := loadG(t, "qat_wfq.npz")
	for i := 0; g.has(fmt.Sprintf("w%d_n", i)); i++ {
		n := int(g.i64(t, fmt.Sprintf("w%d_n", i))[0])
		fq := NewWeightFakeQuant(Eps16, 0)
		for j := 0; j < n; j++ {
			p := fmt.Sprintf("w%d_s%d_", i, j)
			a := g.get(t, p+"x")
			y := make([]float32, len(a.f32))
			mask := make([]bool, len(a.f32))
			if err := fq.Forward(a.f32, a.shape, y, mask); err != nil {
				t.Fatal(err)
			}
			checkBits(t, p+"min", fq.Obs.Min, g.f32(t, p+"min"))
			checkBits(t, p+"max", fq.Obs.Max, g.f32(t, p+"max"))
			checkBits(t, p+"scale", fq.Scales, g.f32(t, p+"scale"))
			checkBits(t, p+"y", y, g.f32(t, p+"y"))
			checkBits(t, p+"dx", steGrad(g.f32(t, p+"g"), mask), g.f32(t, p+"dx"))
		}
	}
	a := g.get(t, "fqc_x")
	scales := g.f32(t, "fqc_scale")
	y := make([]float32, len(a.f32))
	mask := make([]bool, len(a.f32))
	if _, err := FakeQuantPerChannel(y, a.f32, a.shape, 0, scales, make([]int32, len(scales)), -127, 127, mask); err != nil {
		t.Fatal(err)
	}
	checkBits(t, "fqc y", y, g.f32(t, "fqc_y"))
	dx := steGrad(g.f32(t, "fqc_g"), mask)
	checkBits(t, "fqc dx", dx, g.f32(t, "fqc_dx"))
	masked := 0
	for _, m := range mask {
		if !m {
			masked++
		}
	}
	if masked == 0 || masked == len(mask) {
		t.Errorf("fqc: %d of %d masked; the case must straddle the clamp edges", masked, len(mask))
	}
	g.checkAllUsed(t)
}

func TestChooseQuantizationParamsEdges(t *testing.T) {
	for _, c := range []struct {
		min, max float32
		scale    float32
		zp       int32
		err      bool
	}{
		{0, 0, 0.1, 127, false},        // empty range: scale 0.1, zero point from the max end (as torch, see qat_fq.npz stream 2)
		{0, 1e-3, 6.1e-5, -128, false}, // small scale raised to 6.1e-5
		{-1, 1, float32(2.0 / 255), 0, false},
		{1, -1, 0, 0, true},
		{float32(math.NaN()), 1, 0, 0, true},
	} {
		s, z, err := ChooseQuantizationParams(c.min, c.max, -128, 127)
		if (err != nil) != c.err {
			t.Errorf("(%v, %v): err %v", c.min, c.max, err)
			continue
		}
		if !c.err && (s != c.scale || z != c.zp) {
			t.Errorf("(%v, %v) = (%v, %d), want (%v, %d)", c.min, c.max, s, z, c.scale, c.zp)
		}
	}
}

// TestGoldenLSQ checks the learnable fake-quant (the --lsq option) against torch 1.13's
// _LearnableFakeQuantize: static estimates, then learning steps; output, input gradient and
// the scale / zero-point gradients (summed in torch.sum's order) bit for bit.
func TestGoldenLSQ(t *testing.T) {
	g := loadG(t, "qat_lsq.npz")
	n := int(g.i64(t, "l_n")[0])
	l := NewLearnableFakeQuant(Eps16)
	for j := 0; j < n; j++ {
		p := fmt.Sprintf("l_s%d_", j)
		l.Static = g.i64(t, p+"static")[0] != 0
		learn := g.has(p + "dscale")
		if learn {
			// the generator set the parameters before the call; the values after it are the same
			// except for the eps clamp of the scale, which Apply redoes.
			l.Scale.Val.Data[0] = g.f32(t, p+"scale")[0]
			l.ZP.Val.Data[0] = g.f32(t, p+"zp")[0]
			if l.Scale.Val.Data[0] == lsqMinScale {
				l.Scale.Val.Data[0] = 0
			}
		}
		a := g.get(t, p+"x")
		x := engine.Param(engine.FromData(a.f32, a.shape...))
		l.Scale.Grad, l.ZP.Grad = nil, nil
		y, err := l.Apply(x)
		if err != nil {
			t.Fatal(err)
		}
		y.Backward(engine.FromData(g.f32(t, p+"g"), a.shape...))
		checkBits(t, p+"y", y.Val.Data, g.f32(t, p+"y"))
		checkBits(t, p+"dx", x.Grad.Data, g.f32(t, p+"dx"))
		checkBits(t, p+"scale", l.Scale.Val.Data, g.f32(t, p+"scale"))
		checkBits(t, p+"zp", l.ZP.Val.Data, g.f32(t, p+"zp"))
		if learn {
			checkBits(t, p+"dscale", l.Scale.Grad.Data, g.f32(t, p+"dscale"))
			checkBits(t, p+"dzp", l.ZP.Grad.Data, g.f32(t, p+"dzp"))
		} else if l.Scale.Grad != nil {
			t.Errorf("%s: static estimate produced a scale gradient", p)
		}
		s, z := l.QParams()
		checkBits(t, p+"export scale", []float32{s}, g.f32(t, p+"escale"))
		if int64(z) != g.i64(t, p+"ezp")[0] {
			t.Errorf("%s export zp %d, torch %d", p, z, g.i64(t, p+"ezp")[0])
		}
	}
	g.checkAllUsed(t)
}
