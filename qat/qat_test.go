package qat

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
)

func smallData(t *testing.T, train, test int) *data.Dataset {
	t.Helper()
	return data.Builtin(data.BuiltinOptions{TrainSize: train, TestSize: test, Size: 32})
}

// convBNGraph is conv -> BatchNorm -> ReLU -> conv on 8x8 inputs (upscaled by a bilinear resize
// first so the data's 2x targets fit).
func convBNGraph(t *testing.T) *graph.Graph {
	t.Helper()
	b := graph.NewBuilder("convbn", 3)
	x := b.Input("x", 1, 3, 16, 16)
	up := b.Upsample("up", x, 2, "bilinear")
	c1 := b.Conv2d("conv1", up, graph.ConvSpec{In: 3, Out: 8, Kernel: 3, Padding: 1})
	bn := b.BatchNorm2d("bn1", c1, 8)
	r := b.ReLU("relu1", bn)
	c2 := b.Conv2d("conv2", r, graph.ConvSpec{In: 8, Out: 3, Kernel: 3, Padding: 1})
	g, err := b.Build(c2)
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial BN statistics and affine parameters.
	for i := range 8 {
		g.Params["bn1.running_mean"].Data[i] = 0.05 * float32(i-4)
		g.Params["bn1.running_var"].Data[i] = 0.5 + 0.1*float32(i)
		g.Params["bn1.weight"].Data[i] = 0.8 + 0.05*float32(i)
		g.Params["bn1.bias"].Data[i] = 0.01 * float32(i)
	}
	return g
}

func batchOf(t *testing.T, ds *data.Dataset, n int) *data.Batch {
	t.Helper()
	l, err := data.NewLoader(ds.Train, data.LoaderOptions{BatchSize: n})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Next()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The QAT conv-BN pattern computes conv -> BN (training mode) in value: with fake-quant off,
// conv(x, w*sf)/sf + b -> BN equals conv(x, w) + b -> BN up to rounding, and gradients reach
// gamma and beta.
func TestConvBNPattern(t *testing.T) {
	g := convBNGraph(t)
	m, err := Prepare(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.QAT.ConvBN["conv1"] != "bn1" {
		t.Fatalf("conv-BN pairs %v, want conv1->bn1", m.QAT.ConvBN)
	}
	if len(m.QAT.Act) != 3 {
		t.Fatalf("%d activation groups, want 3 (x+up, relu1, conv2): %v", len(m.QAT.Act), m.QAT.Plan.Groups)
	}
	ds := smallData(t, 64, 16)
	b := batchOf(t, ds, 8)
	x := engine.Const(engine.FromData(b.LR, b.N, 3, 16, 16))
	plain := graph.NewExec(g.Clone(), false)
	plain.Train = true
	want, err := plain.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	m.QAT.SetFakeQuant(false)
	got, err := m.Exec().Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range want.Val.Data {
		worst = max(worst, math.Abs(float64(got.Val.Data[i]-want.Val.Data[i])))
	}
	if worst > 1e-5 {
		t.Fatalf("conv-BN pattern differs from conv->BN by %.3g", worst)
	}
	// Train a few steps with fake quant: gamma must move, BN running stats update, and the
	// conversion folds BN with the final running statistics.
	m.QAT.SetFakeQuant(true)
	gamma0 := append([]float32(nil), m.Graph.Params["bn1.weight"].Data...)
	rm0 := append([]float32(nil), m.Graph.Params["bn1.running_mean"].Data...)
	opt := engine.NewAdamW(m.Exec().Params(), 1e-3)
	for range 3 {
		if _, err := m.Step(opt, b); err != nil {
			t.Fatal(err)
		}
	}
	moved := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return true
			}
		}
		return false
	}
	if !moved(gamma0, m.Graph.Params["bn1.weight"].Data) || !moved(rm0, m.Graph.Params["bn1.running_mean"].Data) {
		t.Fatal("BN gamma or running mean did not change during QAT")
	}
	res, table, err := m.Convert()
	if err != nil {
		t.Fatal(err)
	}
	if res.Folded != 1 || res.Graph.Node("bn1") != nil || len(table) != 3 {
		t.Fatalf("convert: folded %d, bn1 still there: %v, %d qparam rows", res.Folded, res.Graph.Node("bn1") != nil, len(table))
	}
	folded, _, _ := graph.FoldBatchNorm(m.Graph)
	if !bytes.Equal(f32bytes(folded.Params["conv1.weight"].Data), f32bytes(res.Graph.Params["conv1.weight"].Data)) {
		t.Fatal("converted conv1 weight is not the BN-folded trained weight")
	}
	// The INT8 graph computes what the converted fake-quant model does.
	dir := t.TempDir()
	sample := engine.FromData(append([]float32(nil), b.LR[:3*16*16]...), 1, 3, 16, 16)
	if _, err := res.Export(dir, sample, false); err != nil {
		t.Fatal(err)
	}
	scores, err := res.Score(ds.Test, ptq.ScoreOptions{Images: 16, ExportDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(scores[1].Eval.PSNR - scores[2].Eval.PSNR); d > 0.5 {
		t.Errorf("fake-quant %.3f dB vs INT8 %.3f dB", scores[1].Eval.PSNR, scores[2].Eval.PSNR)
	}
}

func f32bytes(x []float32) []byte {
	var b bytes.Buffer
	for _, v := range x {
		u := math.Float32bits(v)
		b.Write([]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)})
	}
	return b.Bytes()
}

// cancelAt is a Progress that cancels the run's context after a given step.
type cancelAt struct {
	step   int
	cancel context.CancelFunc
}

func (c *cancelAt) Start(int, int) {}
func (c *cancelAt) Step(s int, _ float64) {
	if s == c.step {
		c.cancel()
	}
}
func (c *cancelAt) Log(string) {}
func (c *cancelAt) Finish()    {}

// An interrupted QAT run resumed from its checkpoint ends bit-identical to an uninterrupted one:
// weights, optimizer and fake-quant state, and the exported artifacts.
func TestResumeBitExact(t *testing.T) {
	t.Run("freeze", func(t *testing.T) { testResume(t, Options{FreezeObserversAfter: 9}) })
	t.Run("lsq", func(t *testing.T) { testResume(t, Options{Quant: quant.QATConfig{LSQ: true}, LSQStaticSteps: 3}) })
}

func testResume(t *testing.T, opts Options) {
	ds := smallData(t, 96, 32)
	g, err := zoo.Upscaler(16, 16, 5)
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.DefaultConfig()
	cfg.LR, cfg.Batch, cfg.Epochs, cfg.EvalBatches, cfg.EvalBatch, cfg.LogEvery, cfg.CheckpointEvery = 1e-4, 16, 2, 1, 16, 0, 0
	run := func(dir string, interrupt int) {
		m, err := Prepare(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		var prog train.Progress = train.LogProgress(&bytes.Buffer{})
		ctx := context.Background()
		if interrupt > 0 {
			c, cancel := context.WithCancel(ctx)
			defer cancel()
			ctx, prog = c, &cancelAt{step: interrupt, cancel: cancel}
		}
		_, err = Train(ctx, m, ds, cfg, dir, nil, prog)
		if interrupt == 0 {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		if err == nil {
			t.Fatal("interrupted run did not stop")
		}
		ck, err := LoadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Train.State.Step != interrupt || ck.Model.Steps != interrupt {
			t.Fatalf("checkpoint at step %d/%d, want %d", ck.Train.State.Step, ck.Model.Steps, interrupt)
		}
		if _, err := Train(context.Background(), ck.Model, ds, ck.Train.State.Config, dir, ck.Train, train.LogProgress(&bytes.Buffer{})); err != nil {
			t.Fatal(err)
		}
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	run(a, 0)
	run(b, 4) // mid-epoch 1 (6 steps per epoch), before the observers freeze at step 9
	for _, f := range []string{graph.WeightsFile, train.OptimizerFile, StateFile, OptionsFile} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", f)
		}
	}
	var arts [2][]byte
	for i, dir := range []string{a, b} {
		ck, err := LoadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Model.Steps != 12 {
			t.Fatalf("%d steps after 2 epochs, want 12", ck.Model.Steps)
		}
		if opts.FreezeObserversAfter > 0 {
			for _, fq := range ck.Model.QAT.Act {
				if fq.ObserverEnabled {
					t.Fatal("observers not frozen after FreezeObserversAfter steps")
				}
			}
		}
		res, table, err := ck.Model.Convert()
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "export")
		sample, _ := ptq.SampleImage(ds.Test)
		art, err := res.Export(out, sample, false)
		if err != nil {
			t.Fatal(err)
		}
		arts[i] = art.VGFBytes
		if opts.Quant.LSQ {
			// learned scales are exported as learned, and they moved away from the static estimate
			moved := false
			for g, r := range table {
				l := ck.Model.QAT.LSQ[g]
				if l.Static || r.Exported != "learned (LSQ)" || r.ExportScale != l.Scale.Val.Data[0] {
					t.Fatalf("group %d: static %v, exported %q scale %v, learned %v", g, l.Static, r.Exported, r.ExportScale, l.Scale.Val.Data[0])
				}
				s, _ := l.Obs.QParams()
				moved = moved || s[0] != r.ExportScale
			}
			if !moved {
				t.Error("no learned scale differs from its static estimate")
			}
		}
	}
	if !bytes.Equal(arts[0], arts[1]) {
		t.Error("model.vgf differs between the uninterrupted and the resumed run")
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCheckpoint(dir); err == nil {
		t.Error("empty directory accepted as a QAT checkpoint")
	}
	g, _ := zoo.Upscaler(16, 16, 1)
	if err := g.Save(filepath.Join(dir, "m")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "m")); err == nil || !strings.Contains(err.Error(), "not a QAT checkpoint") {
		t.Errorf("float model as QAT checkpoint: %v", err)
	}
}

// A NaN activation stops the step with an error naming the node.
func TestNaNActivation(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 1)
	g.Params["conv2.bias"].Data[0] = float32(math.NaN())
	m, err := Prepare(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := smallData(t, 16, 16)
	opt := engine.NewAdamW(m.Exec().Params(), 1e-4)
	_, err = m.Step(opt, batchOf(t, ds, 4))
	if err == nil || !strings.Contains(err.Error(), `"relu2"`) {
		t.Fatalf("NaN activation: %v", err)
	}
}

// Options reach the export: NCHW I/O puts TRANSPOSEs at the boundaries, ExportTrainedQParams
// exports the training-time qparams, a frozen model keeps its qparams.
func TestOptionsReachExport(t *testing.T) {
	g, _ := zoo.Upscaler(16, 16, 2)
	ds := smallData(t, 32, 16)
	m, err := Prepare(g, Options{Layout: lower.NCHW, Quant: quant.QATConfig{ExportTrainedQParams: true}, FreezeObserversAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt := engine.NewAdamW(m.Params(), 1e-4)
	b := batchOf(t, ds, 8)
	if _, err := m.Step(opt, b); err != nil {
		t.Fatal(err)
	}
	before := *m.QAT.Act[2]
	if _, err := m.Step(opt, b); err != nil {
		t.Fatal(err)
	}
	if after := *m.QAT.Act[2]; after.Min != before.Min || after.Max != before.Max || after.Scale != before.Scale {
		t.Errorf("frozen observer moved: %+v -> %+v", before, after)
	}
	res, table, err := m.Convert()
	if err != nil {
		t.Fatal(err)
	}
	transposes := 0
	for _, op := range res.Lowered.Graph.Ops {
		if op.Op.String() == "TRANSPOSE" {
			transposes++
		}
	}
	if transposes != 2 || res.Lowered.Inputs[0].Layout != "NCHW" {
		t.Errorf("NCHW export: %d TRANSPOSE, input layout %s", transposes, res.Lowered.Inputs[0].Layout)
	}
	for i, r := range table {
		if r.Exported != "trained" || res.Model.Act[i].Scale != m.QAT.Act[i].Scale || res.Model.Act[i].ZP != m.QAT.Act[i].ZP {
			t.Errorf("group %d: exported %q %+v, trained (%v, %d)", i, r.Exported, res.Model.Act[i], m.QAT.Act[i].Scale, m.QAT.Act[i].ZP)
		}
	}
}
