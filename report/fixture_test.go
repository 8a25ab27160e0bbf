package report

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/diagnose"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/qat"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
)

// fixture is a tiny demo-like run: the tutorial upscaler trained for a few steps on the built-in
// images (fp32/), quantized with 16 calibration images (ptq/, with layers.json as ptq writes it)
// and fine-tuned with fake quantization for a few steps (qat/, the same artifact set).
type fixture struct {
	root, fp32, ptq, qat string
	ds                   *data.Dataset
	res                  *ptq.Result
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func demoRuns(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = makeFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func makeFixture() (*fixture, error) {
	root, err := os.MkdirTemp("", "vgfq-report-test")
	if err != nil {
		return nil, err
	}
	f := &fixture{root: root, fp32: filepath.Join(root, "fp32"), ptq: filepath.Join(root, "ptq"), qat: filepath.Join(root, "qat")}
	f.ds = data.Builtin(data.BuiltinOptions{TrainSize: 256, TestSize: 64, Size: 32})
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		return nil, err
	}
	cfg := train.DefaultConfig()
	cfg.Batch, cfg.MaxSteps, cfg.EvalBatches, cfg.LogEvery, cfg.LR = 16, 12, 1, 0, 3e-3
	if _, err := train.Run(context.Background(), g, f.ds, cfg, f.fp32, nil, train.LogProgress(nopWriter{})); err != nil {
		return nil, err
	}
	ck, err := train.LoadCheckpoint(f.fp32)
	if err != nil {
		return nil, err
	}
	loader, err := data.NewLoader(f.ds.Train, data.LoaderOptions{BatchSize: 1})
	if err != nil {
		return nil, err
	}
	images := func(yield func(*engine.Tensor, error) bool) {
		for i := 0; i < 16; i++ {
			b, err := loader.Next()
			if !yield(engine.FromData(b.LR, 1, 3, 16, 16), err) || err != nil {
				return
			}
		}
	}
	res, err := ptq.Quantize(ck.Graph, images, ptq.Options{}, nil)
	if err != nil {
		return nil, err
	}
	f.res = res
	bs, err := CropBatches(f.ds.Test, 8)
	if err != nil {
		return nil, err
	}
	sample := engine.FromData(bs[0].LR[:3*16*16], 1, 3, 16, 16)
	if _, err := res.Export(f.ptq, sample, false); err != nil {
		return nil, err
	}
	if err := writeLayers(res, f.ptq, bs[0]); err != nil {
		return nil, err
	}
	// QAT: a few fine-tuning steps with fake quantization, then the same export.
	qm, err := qat.Prepare(ck.Graph, qat.Options{})
	if err != nil {
		return nil, err
	}
	opt := engine.NewAdamW(qm.Exec().Params(), 1e-4)
	tl, err := data.NewLoader(f.ds.Train, data.LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 2})
	if err != nil {
		return nil, err
	}
	for i := 0; i < 4; i++ {
		b, err := tl.Next()
		if err != nil {
			return nil, err
		}
		if _, err := qm.Step(opt, b); err != nil {
			return nil, err
		}
	}
	qres, _, err := qm.Convert()
	if err != nil {
		return nil, err
	}
	if _, err := qres.Export(f.qat, sample, false); err != nil {
		return nil, err
	}
	if err := writeLayers(qres, f.qat, bs[0]); err != nil {
		return nil, err
	}
	return f, nil
}

// writeLayers writes layers.json as ptq and qat do.
func writeLayers(res *ptq.Result, dir string, b *Batch) error {
	layers, err := diagnose.PerLayer(res.Model, res.Lowered, []*engine.Tensor{engine.FromData(b.LR, b.N, 3, b.H/2, b.W/2)})
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{"format": "vgfq-layers/1", "images": b.N, "layers": layers}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, LayersFile), js, 0o644)
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
