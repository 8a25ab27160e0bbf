package engine

import (
	"math"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// TestONNXOpsGolden checks the ops added for ONNX import — forward and backward — against
// PyTorch 1.13 (tools/golden/onnxops_gen.py).
func TestONNXOpsGolden(t *testing.T) {
	ops := map[string]func(x *Var) *Var{
		"hardswish":     HardSwish,
		"hardsigmoid":   func(x *Var) *Var { return HardSigmoid(x, 1.0/6, 0.5) },
		"gelu":          GELU,
		"erf":           Erf,
		"pad_reflect":   func(x *Var) *Var { return Pad2d(x, [4]int{1, 2, 3, 1}, PadReflect, 0) },
		"pad_replicate": func(x *Var) *Var { return Pad2d(x, [4]int{2, 3, 4, 0}, PadEdge, 0) },
		"pad_constant":  func(x *Var) *Var { return Pad2d(x, [4]int{0, 1, 1, 2}, PadConstant, 0.5) },
		"slice":         func(x *Var) *Var { return Slice(x, []int{0, 1, 1, 2}, []int{2, 2, 3, 5}) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			r, err := npz.Open(filepath.Join("testdata/onnxops", name+".npz"))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			get := func(k string) *Tensor {
				a, err := readGoldenItem(r, k+".npy")
				if err != nil {
					t.Fatal(err)
				}
				return FromData(a.f32, a.shape...)
			}
			x := Param(get("x"))
			y := op(x)
			want := get("y")
			if !SameShape(y.Shape(), want.Shape) {
				t.Fatalf("shape %v, want %v", y.Shape(), want.Shape)
			}
			y.Backward(get("gy"))
			for _, c := range []struct {
				what      string
				got, want []float32
				tol       float64
			}{{"forward", y.Val.Data, want.Data, 1e-6}, {"gradient", x.Grad.Data, get("gx").Data, 1e-5}} {
				var d, m float64
				for i := range c.got {
					d = math.Max(d, math.Abs(float64(c.got[i])-float64(c.want[i])))
					m = math.Max(m, math.Abs(float64(c.want[i])))
				}
				if d > c.tol*m {
					t.Errorf("%s: max error %.3g (relative %.3g)", c.what, d, d/m)
				}
			}
		})
	}
}

func TestPReLUGolden(t *testing.T) {
	r, err := npz.Open("testdata/onnxops/prelu.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	get := func(k string) *Tensor {
		a, err := readGoldenItem(r, k+".npy")
		if err != nil {
			t.Fatal(err)
		}
		return FromData(a.f32, a.shape...)
	}
	x, w := Param(get("x")), Param(get("w"))
	y := PReLU(x, w)
	y.Backward(get("gy"))
	for _, c := range []struct {
		what      string
		got, want []float32
	}{{"y", y.Val.Data, get("y").Data}, {"gx", x.Grad.Data, get("gx").Data}, {"gw", w.Grad.Data, get("gw").Data}} {
		for i := range c.want {
			if d := math.Abs(float64(c.got[i] - c.want[i])); d > 1e-5*math.Max(1, math.Abs(float64(c.want[i]))) {
				t.Fatalf("%s[%d] = %v, torch %v", c.what, i, c.got[i], c.want[i])
			}
		}
	}
}
