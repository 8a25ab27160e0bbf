package engine

// Golden tests: the engine against forward outputs, gradients and training runs produced by
// PyTorch 1.13 (tools/golden/gen.py; engine/testdata/golden/README.md says how). Every file the
// generator writes must be claimed by a test here, and every file a test names must exist.

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
)

const (
	goldenDir      = "testdata/golden"
	goldenTolFwd   = 1e-5 // max|go-ref| / max|ref| for forward outputs
	goldenTolGrad  = 1e-4 // same, for gradients
	goldenTolTrain = 1e-4 // per-step losses and final parameters of the training runs
)

// goldenArr is one array of a golden file; exactly one of the slices is set.
type goldenArr struct {
	shape []int
	f32   []float32
	f64   []float64
	i64   []int64
	u8    []uint8
}

type goldenFile struct {
	name string
	arr  map[string]*goldenArr
}

func loadGolden(t *testing.T, name string) *goldenFile {
	t.Helper()
	path := filepath.Join(goldenDir, name+".npz")
	r, err := npz.Open(path)
	if err != nil {
		t.Fatalf("golden file missing or unreadable (regenerate with tools/golden/gen.py): %v", err)
	}
	defer r.Close()
	g := &goldenFile{name: name, arr: map[string]*goldenArr{}}
	for _, key := range r.Keys() {
		a, err := readGoldenItem(r, key)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		g.arr[strings.TrimSuffix(key, ".npy")] = a
	}
	return g
}

func readGoldenItem(r *npz.Reader, key string) (*goldenArr, error) {
	rc, err := r.Open(key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rd, err := npy.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if rd.Header.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran order not supported", key)
	}
	a := &goldenArr{shape: append([]int{}, rd.Header.Descr.Shape...)}
	switch strings.Trim(rd.Header.Descr.Type, "'\"") {
	case "<f4":
		err = rd.Read(&a.f32)
	case "<f8":
		err = rd.Read(&a.f64)
	case "<i8":
		err = rd.Read(&a.i64)
	case "|u1":
		err = rd.Read(&a.u8)
	default:
		return nil, fmt.Errorf("%s: unsupported dtype %q", key, rd.Header.Descr.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return a, nil
}

func (g *goldenFile) get(t *testing.T, key string) *goldenArr {
	t.Helper()
	a, ok := g.arr[key]
	if !ok {
		t.Fatalf("%s: no array %q", g.name, key)
	}
	return a
}

func (g *goldenFile) has(key string) bool { _, ok := g.arr[key]; return ok }

// tensor returns a fresh copy of a float32 array as a Tensor (0-d arrays get shape [1]).
func (g *goldenFile) tensor(t *testing.T, key string) *Tensor {
	t.Helper()
	a := g.get(t, key)
	if a.f32 == nil {
		t.Fatalf("%s: %q is not float32", g.name, key)
	}
	shape := a.shape
	if len(shape) == 0 {
		shape = []int{1}
	}
	return FromData(append([]float32(nil), a.f32...), shape...)
}

func (g *goldenFile) ints(t *testing.T, key string) []int {
	t.Helper()
	a := g.get(t, key)
	if a.i64 == nil {
		t.Fatalf("%s: %q is not int64", g.name, key)
	}
	out := make([]int, len(a.i64))
	for i, v := range a.i64 {
		out[i] = int(v)
	}
	return out
}

func (g *goldenFile) int(t *testing.T, key string) int { t.Helper(); return g.ints(t, key)[0] }

func (g *goldenFile) pair(t *testing.T, key string) [2]int {
	t.Helper()
	v := g.ints(t, key)
	if len(v) != 2 {
		t.Fatalf("%s: %q has %d values, want 2", g.name, key, len(v))
	}
	return [2]int{v[0], v[1]}
}

func (g *goldenFile) float(t *testing.T, key string) float64 {
	t.Helper()
	a := g.get(t, key)
	if a.f64 == nil {
		t.Fatalf("%s: %q is not float64", g.name, key)
	}
	return a.f64[0]
}

// goldenRelErr returns max|got-want| / max|want| (the plain max abs difference when want is all 0).
func goldenRelErr(got, want []float32) float64 {
	var maxDiff, maxRef float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		maxDiff = max(maxDiff, d)
		maxRef = max(maxRef, math.Abs(float64(want[i])))
	}
	if maxRef == 0 {
		return maxDiff
	}
	return maxDiff / maxRef
}

// Measured errors per goldenFamily, printed by TestGoldenSummary (go test -run Golden -v).
var (
	goldenMu    sync.Mutex
	goldenStats = map[string]float64{}
)

func goldenRecord(goldenFamily, kind string, e float64) {
	goldenMu.Lock()
	defer goldenMu.Unlock()
	k := goldenFamily + " " + kind
	goldenStats[k] = max(goldenStats[k], e)
}

// goldenFamilies are the case-name prefixes errors are summarised by, longest match first.
var goldenFamilies = []string{"conv2d", "convt", "relu6", "relu", "leaky_relu", "clamp", "sigmoid", "tanh",
	"add", "sub", "mul", "cat", "bilinear_align", "bilinear", "nearest_exact", "nearest",
	"pixel_shuffle", "pixel_unshuffle", "avgpool", "maxpool", "batch_norm", "reshape", "permute",
	"transpose", "mse_loss", "l1_loss"}

func goldenFamily(name string) string {
	best := ""
	for _, f := range goldenFamilies {
		if strings.HasPrefix(name, f) && len(f) > len(best) {
			best = f
		}
	}
	if best == "" {
		return name
	}
	return best
}

// check compares got against the golden array key and reports a failure above tol.
func (g *goldenFile) check(t *testing.T, what string, got *Tensor, key string, tol float64) {
	t.Helper()
	want := g.get(t, key)
	if got == nil {
		t.Errorf("%s: %s is nil", g.name, what)
		return
	}
	wshape := want.shape
	if len(wshape) == 0 {
		wshape = []int{1}
	}
	if !SameShape(got.Shape, wshape) {
		t.Errorf("%s: %s shape %v, PyTorch %v", g.name, what, got.Shape, wshape)
		return
	}
	e := goldenRelErr(got.Data, want.f32)
	kind := "fwd"
	if tol != goldenTolFwd {
		kind = "grad"
	}
	goldenRecord(goldenFamily(g.name), kind, e)
	if e > tol {
		i, d := goldenWorst(got.Data, want.f32)
		t.Errorf("%s: %s rel err %.3g > %g (worst at flat index %d: go %v, torch %v, |diff| %.3g)",
			g.name, what, e, tol, i, got.Data[i], want.f32[i], d)
	} else {
		t.Logf("%s: %s rel err %.3g", g.name, what, e)
	}
}

func goldenWorst(got, want []float32) (int, float64) {
	wi, wd := 0, -1.0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return i, d
		}
		if d > wd {
			wi, wd = i, d
		}
	}
	return wi, wd
}

// goldenCase is one operator golden file: inputs lists the differentiable inputs (each becomes a
// Param from the array of that name and is checked against grad_<name>), build runs the op.
type goldenCase struct {
	name   string
	inputs []string
	build  func(t *testing.T, g *goldenFile, in []*Var) *Var
	after  func(t *testing.T, g *goldenFile) // extra checks after forward and backward (may be nil)
}

func runGoldenCase(t *testing.T, c goldenCase) {
	g := loadGolden(t, c.name)
	in := make([]*Var, len(c.inputs))
	for i, k := range c.inputs {
		in[i] = Param(g.tensor(t, k))
	}
	out := c.build(t, g, in)
	if out == nil {
		t.Fatalf("%s: op returned nil", c.name)
	}
	g.check(t, "forward", out.Val, "out", goldenTolFwd)
	if !out.RequiresGrad {
		t.Fatalf("%s: output does not require grad", c.name)
	}
	gout := g.tensor(t, "gout")
	if !SameShape(gout.Shape, out.Val.Shape) {
		t.Fatalf("%s: output shape %v, PyTorch gout %v", c.name, out.Val.Shape, gout.Shape)
	}
	out.Backward(gout)
	for i, k := range c.inputs {
		got := in[i].Grad
		if got == nil {
			t.Errorf("%s: no gradient for %s", c.name, k)
			continue
		}
		g.check(t, "grad "+k, got, "grad_"+k, goldenTolGrad)
	}
	if c.after != nil {
		c.after(t, g)
	}
}

// ---------------------------------------------------------------------------------------------
// case tables

func goldenConvCases() []goldenCase {
	names := []string{
		"conv2d_k3_s1_p1_bias", "conv2d_k3_s2_p0_nobias", "conv2d_k3_s1_p2_d2_bias",
		"conv2d_k3_s2_p1_d2_nobias", "conv2d_groups2_p1_bias", "conv2d_groups2_s2_nobias",
		"conv2d_depthwise_s2_p1_bias", "conv2d_depthwise_mult2_p1_nobias", "conv2d_k1x3_p01_bias",
		"conv2d_k3x2_s21_p10_nobias", "conv2d_k5_p2_bias", "conv2d_k1_bias",
		"convt_k4_s2_p1_bias", "convt_k3_s2_p1_op1_bias", "convt_k3_s2_p0_groups2_nobias",
		"convt_k3_s2_p1_op1_groups2_bias", "convt_k3_s1_p1_d2_nobias", "convt_k2x3_s21_p01_op10_bias",
		"convt_depthwise_k4_s2_p1_bias",
	}
	var cs []goldenCase
	for _, n := range names {
		transposed := strings.HasPrefix(n, "convt_")
		bias := strings.HasSuffix(n, "_bias")
		inputs := []string{"x", "w"}
		if bias {
			inputs = append(inputs, "b")
		}
		cs = append(cs, goldenCase{name: n, inputs: inputs, build: func(t *testing.T, g *goldenFile, in []*Var) *Var {
			o := ConvOpts{Stride: g.pair(t, "stride"), Padding: g.pair(t, "padding"),
				Dilation: g.pair(t, "dilation"), Groups: g.int(t, "groups")}
			if g.int(t, "has_bias") != goldenBool(bias) {
				t.Fatalf("%s: has_bias attribute disagrees with the case name", n)
			}
			var b *Var
			if bias {
				b = in[2]
			}
			if transposed {
				o.OutputPadding = g.pair(t, "output_padding")
				return ConvTranspose2d(in[0], in[1], b, o)
			}
			return Conv2d(in[0], in[1], b, o)
		}})
	}
	return cs
}

func goldenBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

func goldenUnary(name string, f func(t *testing.T, g *goldenFile, x *Var) *Var) goldenCase {
	return goldenCase{name: name, inputs: []string{"x"}, build: func(t *testing.T, g *goldenFile, in []*Var) *Var {
		return f(t, g, in[0])
	}}
}

func goldenElementwiseCases() []goldenCase {
	clamp := func(t *testing.T, g *goldenFile, x *Var) *Var {
		return Clamp(x, float32(g.float(t, "lo")), float32(g.float(t, "hi")))
	}
	cs := []goldenCase{
		goldenUnary("relu", func(t *testing.T, g *goldenFile, x *Var) *Var { return ReLU(x) }),
		goldenUnary("leaky_relu_0.2", func(t *testing.T, g *goldenFile, x *Var) *Var {
			return LeakyReLU(x, float32(g.float(t, "slope")))
		}),
		goldenUnary("clamp_0_6", clamp),
		goldenUnary("clamp_m1_1", clamp),
		goldenUnary("sigmoid", func(t *testing.T, g *goldenFile, x *Var) *Var { return Sigmoid(x) }),
		goldenUnary("tanh", func(t *testing.T, g *goldenFile, x *Var) *Var { return Tanh(x) }),
	}
	// relu6: F.relu6 is hardtanh(0, 6): same forward as clamp but gradient 0 AT x == 0 and 6
	// (the golden input holds such values; clamp_0_6 is the same input through torch.clamp).
	relu6 := goldenUnary("relu6", func(t *testing.T, g *goldenFile, x *Var) *Var {
		return Hardtanh(x, float32(g.float(t, "lo")), float32(g.float(t, "hi")))
	})
	return append(cs, relu6)
}

func goldenBinaryCases() []goldenCase {
	ops := map[string]func(a, b *Var) *Var{"add": Add, "sub": Sub, "mul": Mul}
	var cs []goldenCase
	for _, op := range []string{"add", "sub", "mul"} {
		for _, sh := range []string{"same", "bcast", "bcast_left", "scalar"} {
			f := ops[op]
			cs = append(cs, goldenCase{name: op + "_" + sh, inputs: []string{"a", "b"},
				build: func(t *testing.T, g *goldenFile, in []*Var) *Var { return f(in[0], in[1]) }})
		}
	}
	cs = append(cs, goldenCase{name: "cat_dim1", inputs: []string{"x0", "x1", "x2"},
		build: func(t *testing.T, g *goldenFile, in []*Var) *Var { return Concat(g.int(t, "axis"), in...) }})
	return cs
}

func goldenResizeCases() []goldenCase {
	names := []string{
		"bilinear_sf2", "bilinear_sf0.5", "bilinear_sf0.5_even", "bilinear_sf1.5",
		"bilinear_size_5to7", "bilinear_size_9to4", "bilinear_size_5x9to7x4", "bilinear_align_sf2",
		"bilinear_align_size_5to7", "bilinear_align_size_9to4",
		"nearest_sf2", "nearest_sf1.5", "nearest_sf0.5", "nearest_size_5to7", "nearest_size_7to5",
		"nearest_exact_sf2", "nearest_exact_sf1.5", "nearest_exact_size_5to7", "nearest_exact_size_7to5",
	}
	modes := map[int]ResizeMode{0: ResizeBilinear, 1: ResizeNearest, 2: ResizeNearestExact}
	var cs []goldenCase
	for _, n := range names {
		cs = append(cs, goldenUnary(n, func(t *testing.T, g *goldenFile, x *Var) *Var {
			m, ok := modes[g.int(t, "mode")]
			if !ok {
				t.Fatalf("%s: unknown mode code %d", n, g.int(t, "mode"))
			}
			return Resize(x, ResizeOpts{Mode: m, OutH: g.int(t, "out_h"), OutW: g.int(t, "out_w"),
				ScaleH: g.float(t, "scale_h"), ScaleW: g.float(t, "scale_w"),
				AlignCorners: g.int(t, "align_corners") != 0})
		}))
	}
	cs = append(cs,
		goldenUnary("pixel_shuffle_2", func(t *testing.T, g *goldenFile, x *Var) *Var { return PixelShuffle(x, g.int(t, "r")) }),
		goldenUnary("pixel_unshuffle_2", func(t *testing.T, g *goldenFile, x *Var) *Var { return PixelUnshuffle(x, g.int(t, "r")) }),
	)
	return cs
}

func goldenPoolCases() []goldenCase {
	names := []string{
		"avgpool_k2_s2", "avgpool_k3_s1_p1_incpad", "avgpool_k3_s1_p1_excpad", "avgpool_k2_s2_ceil",
		"avgpool_k3_s2_p1_ceil_incpad", "avgpool_k3_s2_p1_ceil_excpad", "avgpool_k3x2_s21",
		"maxpool_k2_s2", "maxpool_k3_s2_p1", "maxpool_k3_s1_d2", "maxpool_k2_s2_ceil",
		"maxpool_k3_s2_p1_ceil", "maxpool_k2_s2_ties", "maxpool_k3_s1_p1_ties",
	}
	var cs []goldenCase
	for _, n := range names {
		maxPool := strings.HasPrefix(n, "maxpool")
		cs = append(cs, goldenUnary(n, func(t *testing.T, g *goldenFile, x *Var) *Var {
			o := PoolOpts{Kernel: g.pair(t, "kernel"), Stride: g.pair(t, "stride"), Padding: g.pair(t, "padding"),
				Dilation: g.pair(t, "dilation"), CeilMode: g.int(t, "ceil_mode") != 0,
				ExcludePad: g.int(t, "count_include_pad") == 0}
			if maxPool {
				return MaxPool2d(x, o)
			}
			return AvgPool2d(x, o)
		}))
	}
	return cs
}

func goldenBatchNormCases() []goldenCase {
	var cs []goldenCase
	for _, n := range []string{"batch_norm_train", "batch_norm_train_m0.3_eps1e-3", "batch_norm_eval"} {
		var rm, rv *Tensor
		cs = append(cs, goldenCase{name: n, inputs: []string{"x", "gamma", "beta"},
			build: func(t *testing.T, g *goldenFile, in []*Var) *Var {
				rm, rv = g.tensor(t, "rm_before"), g.tensor(t, "rv_before")
				return BatchNorm2d(in[0], in[1], in[2], rm, rv, g.int(t, "train") != 0,
					float32(g.float(t, "momentum")), float32(g.float(t, "eps")))
			},
			after: func(t *testing.T, g *goldenFile) {
				g.check(t, "running_mean", rm, "rm_after", goldenTolFwd)
				g.check(t, "running_var", rv, "rv_after", goldenTolFwd)
			}})
	}
	return cs
}

func goldenShapeCases() []goldenCase {
	return []goldenCase{
		goldenUnary("reshape_2x60", func(t *testing.T, g *goldenFile, x *Var) *Var { return Reshape(x, g.ints(t, "shape")...) }),
		goldenUnary("reshape_6x4x5", func(t *testing.T, g *goldenFile, x *Var) *Var { return Reshape(x, g.ints(t, "shape")...) }),
		goldenUnary("permute_0231", func(t *testing.T, g *goldenFile, x *Var) *Var { return Permute(x, g.ints(t, "perm")...) }),
		goldenUnary("permute_3120", func(t *testing.T, g *goldenFile, x *Var) *Var { return Permute(x, g.ints(t, "perm")...) }),
		goldenUnary("transpose_1_3", func(t *testing.T, g *goldenFile, x *Var) *Var {
			d := g.ints(t, "dims")
			return Transpose(x, d[0], d[1])
		}),
		goldenUnary("transpose_0_2", func(t *testing.T, g *goldenFile, x *Var) *Var {
			d := g.ints(t, "dims")
			return Transpose(x, d[0], d[1])
		}),
	}
}

func goldenLossCases() []goldenCase {
	return []goldenCase{
		{name: "mse_loss", inputs: []string{"pred", "target"},
			build: func(t *testing.T, g *goldenFile, in []*Var) *Var { return MSELoss(in[0], in[1]) }},
		{name: "l1_loss", inputs: []string{"pred", "target"},
			build: func(t *testing.T, g *goldenFile, in []*Var) *Var { return L1Loss(in[0], in[1]) }},
	}
}

var goldenGroups = []struct {
	test  string
	cases func() []goldenCase
}{
	{"Conv", goldenConvCases},
	{"Elementwise", goldenElementwiseCases},
	{"Binary", goldenBinaryCases},
	{"Resize", goldenResizeCases},
	{"Pool", goldenPoolCases},
	{"BatchNorm", goldenBatchNormCases},
	{"Shape", goldenShapeCases},
	{"Loss", goldenLossCases},
}

var goldenTrainCases = []string{"train_adamw", "train_sgd"}

func runGoldenGroup(t *testing.T, group string) {
	for _, gg := range goldenGroups {
		if gg.test != group {
			continue
		}
		for _, c := range gg.cases() {
			t.Run(c.name, func(t *testing.T) { runGoldenCase(t, c) })
		}
		return
	}
	t.Fatalf("no golden group %q", group)
}

func TestGoldenConv(t *testing.T)        { runGoldenGroup(t, "Conv") }
func TestGoldenElementwise(t *testing.T) { runGoldenGroup(t, "Elementwise") }
func TestGoldenBinary(t *testing.T)      { runGoldenGroup(t, "Binary") }
func TestGoldenResize(t *testing.T)      { runGoldenGroup(t, "Resize") }
func TestGoldenPool(t *testing.T)        { runGoldenGroup(t, "Pool") }
func TestGoldenBatchNorm(t *testing.T)   { runGoldenGroup(t, "BatchNorm") }
func TestGoldenShape(t *testing.T)       { runGoldenGroup(t, "Shape") }
func TestGoldenLoss(t *testing.T)        { runGoldenGroup(t, "Loss") }

// TestGoldenFilesClaimed fails when the generator wrote a case no test runs.
func TestGoldenFilesClaimed(t *testing.T) {
	claimed := map[string]bool{}
	for _, gg := range goldenGroups {
		for _, c := range gg.cases() {
			claimed[c.name] = true
		}
	}
	for _, n := range goldenTrainCases {
		claimed[n] = true
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.npz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s (%v)", goldenDir, err)
	}
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".npz")
		if !claimed[n] {
			t.Errorf("golden file %s is not checked by any test", f)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// training runs

// goldenUpscaler is the model of tools/golden/gen.py: bilinear x2, conv 3->32, ReLU,
// conv 32->32, ReLU, conv 32->3 (3x3, padding 1). p = w0, b0, w1, b1, w2, b2.
func goldenUpscaler(x *Var, p []*Var) *Var {
	pad := ConvOpts{Padding: [2]int{1, 1}}
	h := Resize(x, ResizeOpts{Mode: ResizeBilinear, OutH: 2 * x.Shape()[2], OutW: 2 * x.Shape()[3], ScaleH: 2, ScaleW: 2})
	h = ReLU(Conv2d(h, p[0], p[1], pad))
	h = ReLU(Conv2d(h, p[2], p[3], pad))
	return Conv2d(h, p[4], p[5], pad)
}

// goldenU8Batch returns batch step of a [steps, N, C, H, W] uint8 array as float32 u8/255.
func goldenU8Batch(t *testing.T, g *goldenFile, key string, step int) *Tensor {
	t.Helper()
	a := g.get(t, key)
	if a.u8 == nil || len(a.shape) != 5 {
		t.Fatalf("%s: %q is not a 5-D uint8 array", g.name, key)
	}
	n := NumElems(a.shape[1:])
	out := New(a.shape[1:]...)
	for i, v := range a.u8[step*n : (step+1)*n] {
		out.Data[i] = float32(v) / 255
	}
	return out
}

type goldenOptimizer interface {
	Step()
	ZeroGrad()
}

func runGoldenTraining(t *testing.T, name string, makeOpt func(t *testing.T, g *goldenFile, params []*Var) goldenOptimizer) {
	g := loadGolden(t, name)
	nparams, steps := g.int(t, "nparams"), g.int(t, "steps")
	if nparams != 6 {
		t.Fatalf("%s: %d parameters, the SmallUpscaler has 6", name, nparams)
	}
	params := make([]*Var, nparams)
	for i := range params {
		params[i] = Param(g.tensor(t, fmt.Sprintf("p%d_init", i)))
	}
	opt := makeOpt(t, g, params)
	want := g.get(t, "losses").f32
	if len(want) != steps {
		t.Fatalf("%s: %d losses for %d steps", name, len(want), steps)
	}
	worstLoss := 0.0
	for s := 0; s < steps; s++ {
		x, y := goldenU8Batch(t, g, "xs_u8", s), goldenU8Batch(t, g, "ys_u8", s)
		opt.ZeroGrad()
		loss := MSELoss(goldenUpscaler(Const(x), params), Const(y))
		loss.Backward()
		opt.Step()
		got := float64(loss.Val.Data[0])
		e := math.Abs(got-float64(want[s])) / math.Abs(float64(want[s]))
		worstLoss = max(worstLoss, e)
		if e > goldenTolTrain {
			t.Errorf("%s: step %d loss %.8g, PyTorch %.8g (rel err %.3g > %g)", name, s, got, want[s], e, goldenTolTrain)
		}
	}
	goldenRecord(name, "loss", worstLoss)
	t.Logf("%s: worst per-step loss rel err %.3g", name, worstLoss)
	for i, p := range params {
		key := fmt.Sprintf("p%d_final", i)
		want := g.get(t, key)
		e := goldenRelErr(p.Val.Data, want.f32)
		goldenRecord(name, "params", e)
		if e > goldenTolTrain {
			j, d := goldenWorst(p.Val.Data, want.f32)
			t.Errorf("%s: final param %d rel err %.3g > %g (worst at %d: go %v, torch %v, |diff| %.3g)",
				name, i, e, goldenTolTrain, j, p.Val.Data[j], want.f32[j], d)
		} else {
			t.Logf("%s: final param %d rel err %.3g", name, i, e)
		}
	}
}

func TestGoldenTrainAdamW(t *testing.T) {
	runGoldenTraining(t, "train_adamw", func(t *testing.T, g *goldenFile, params []*Var) goldenOptimizer {
		o := NewAdamW(params, float32(g.float(t, "lr")))
		// The run used torch.optim.AdamW(lr=1e-3) with its defaults: NewAdamW must default alike.
		for _, c := range []struct {
			name string
			got  float32
		}{{"beta1", o.Beta1}, {"beta2", o.Beta2}, {"eps", o.Eps}, {"weight_decay", o.WeightDecay}} {
			if want := float32(g.float(t, c.name)); c.got != want {
				t.Errorf("NewAdamW default %s = %v, torch.optim.AdamW's is %v", c.name, c.got, want)
			}
		}
		return o
	})
}

func TestGoldenTrainSGD(t *testing.T) {
	runGoldenTraining(t, "train_sgd", func(t *testing.T, g *goldenFile, params []*Var) goldenOptimizer {
		o := NewSGD(params, float32(g.float(t, "lr")))
		o.Momentum = float32(g.float(t, "momentum"))
		o.Dampening = float32(g.float(t, "dampening"))
		o.WeightDecay = float32(g.float(t, "weight_decay"))
		o.Nesterov = g.int(t, "nesterov") != 0
		return o
	})
}

// TestGoldenSummary logs the worst measured relative error per case family (of the golden
// tests that ran before it in this process); run with -v to see it.
func TestGoldenSummary(t *testing.T) {
	goldenMu.Lock()
	defer goldenMu.Unlock()
	keys := make([]string, 0, len(goldenStats))
	for k := range goldenStats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-28s max rel err %.3g", k, goldenStats[k])
	}
}
