package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

func tinyConfig() Config {
	c := DefaultConfig()
	c.Batch = 8
	c.Epochs = 2
	c.EvalBatches = 1
	c.EvalBatch = 8
	c.LogEvery = 0
	c.CheckpointEvery = 0
	return c
}

func tinyData() *data.Dataset {
	return data.Builtin(data.BuiltinOptions{TrainSize: 40, TestSize: 16})
}

// cancelAt cancels the context when the given global step has been taken.
type cancelAt struct {
	n, at  int
	cancel func()
}

func (c *cancelAt) Start(int, int) {}
func (c *cancelAt) Step(int, float64) {
	c.n++
	if c.n == c.at {
		c.cancel()
	}
}
func (c *cancelAt) Log(string) {}
func (c *cancelAt) Finish()    {}

func sameParams(t *testing.T, a, b *graph.Graph) {
	t.Helper()
	for k, v := range a.Params {
		w := b.Params[k]
		for i := range v.Data {
			if v.Data[i] != w.Data[i] {
				t.Fatalf("param %s[%d]: %v vs %v", k, i, v.Data[i], w.Data[i])
			}
		}
	}
}

func TestResumeIsExact(t *testing.T) {
	ds := tinyData()
	c := tinyConfig()
	// Straight run: 2 epochs of 5 steps.
	g1, _ := zoo.Upscaler(16, 16, 1)
	st, err := Run(context.Background(), g1, ds, c, "", nil, LogProgress(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.History) != 2 || st.Global != 10 {
		t.Fatalf("history %+v global %d", st.History, st.Global)
	}
	// Interrupted at global step 7 (epoch 2 step 2), then resumed from the checkpoint.
	dir := filepath.Join(t.TempDir(), "ck")
	g2, _ := zoo.Upscaler(16, 16, 1)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, g2, ds, c, dir, nil, &cancelAt{at: 7, cancel: cancel})
	if err != context.Canceled {
		t.Fatalf("interrupted run: %v", err)
	}
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.State.Epoch != 1 || ck.State.Step != 2 || ck.Optimizer == nil {
		t.Fatalf("checkpoint at epoch %d step %d", ck.State.Epoch, ck.State.Step)
	}
	if _, err := Run(context.Background(), ck.Graph, ds, ck.State.Config, dir, ck, LogProgress(os.Stderr)); err != nil {
		t.Fatal(err)
	}
	sameParams(t, g1, ck.Graph)
	final, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, g1, final.Graph)
	if !final.State.Done || len(final.State.History) != 2 {
		t.Fatalf("final state %+v", final.State)
	}
}

func TestTrainingImprovesOverInit(t *testing.T) {
	ds := data.Builtin(data.BuiltinOptions{TrainSize: 640, TestSize: 64})
	c := tinyConfig()
	c.Epochs = 1
	c.Batch = 16
	g, _ := zoo.ESPCN(16, 16, 1)
	before, err := Evaluate(g, ds.Test, 32, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), g, ds, c, "", nil, LogProgress(os.Stderr)); err != nil {
		t.Fatal(err)
	}
	after, err := Evaluate(g, ds.Test, 32, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PSNR %.2f -> %.2f dB (bilinear %.2f), SSIM %.4f (bilinear %.4f)", before.PSNR, after.PSNR, after.BaselinePSNR, after.SSIM, after.BaselineSSIM)
	if !(after.PSNR > before.PSNR+1) {
		t.Errorf("40 steps did not improve PSNR: %.2f -> %.2f", before.PSNR, after.PSNR)
	}
	if after.Images != 64 || after.Batches != 2 {
		t.Errorf("evaluated %d images in %d batches", after.Images, after.Batches)
	}
}

func TestBilinearBaselineMatchesEngine(t *testing.T) {
	x := engine.New(1, 3, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	y := Bilinear2x(x)
	if !engine.SameShape(y.Shape, []int{1, 3, 8, 8}) {
		t.Fatal(y.Shape)
	}
	// Corner pixel of align_corners=False bilinear 2x equals the input corner.
	if y.Data[0] != x.Data[0] {
		t.Errorf("corner %v vs %v", y.Data[0], x.Data[0])
	}
}

func TestConfigValidate(t *testing.T) {
	for _, mut := range []func(*Config){
		func(c *Config) { c.Epochs = 0 },
		func(c *Config) { c.Batch = -1 },
		func(c *Config) { c.LR = 0 },
		func(c *Config) { c.Optimizer = "adam" },
		func(c *Config) { c.WeightDecay = -1 },
	} {
		c := DefaultConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCheckpoint(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such model directory") {
		t.Errorf("missing: %v", err)
	}
	g, _ := zoo.Upscaler(16, 16, 1)
	ck := filepath.Join(dir, "ck")
	ex := graph.NewExec(g, true)
	opt := NewOptimizer(DefaultConfig(), ex.Params())
	if err := SaveCheckpoint(ck, g, opt, &State{Config: DefaultConfig(), Optimizer: "adamw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ck, StateFile), []byte(`{"vgfq_train_state_format":1,"epoch":-1}`), 0o644)
	if _, err := LoadCheckpoint(ck); err == nil || !strings.Contains(err.Error(), StateFile) {
		t.Errorf("negative epoch: %v", err)
	}
	w := filepath.Join(ck, graph.WeightsFile)
	b, _ := os.ReadFile(w)
	os.WriteFile(w, b[:len(b)-5], 0o644)
	if _, err := LoadCheckpoint(ck); err == nil || !strings.Contains(err.Error(), graph.WeightsFile) {
		t.Errorf("truncated weights: %v", err)
	}
}

func FuzzDecodeState(f *testing.F) {
	g, _ := zoo.Upscaler(16, 16, 1)
	dir := filepath.Join(f.TempDir(), "ck")
	ex := graph.NewExec(g, true)
	opt := NewOptimizer(DefaultConfig(), ex.Params())
	if err := SaveCheckpoint(dir, g, opt, &State{Config: DefaultConfig(), Optimizer: "adamw"}); err != nil {
		f.Fatal(err)
	}
	sj, _ := os.ReadFile(filepath.Join(dir, StateFile))
	oj, _ := os.ReadFile(filepath.Join(dir, OptimizerFile))
	f.Add(sj, oj)
	f.Add(sj[:20], oj[:30])
	f.Add([]byte(`{"vgfq_train_state_format":1}`), []byte{})
	f.Fuzz(func(t *testing.T, s, o []byte) {
		st, opt, err := DecodeState(s, o, "s", "o")
		if err == nil && (st == nil || (len(o) > 0 && opt == nil)) {
			t.Fatal("nil result without error")
		}
	})
}
