package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadRun feeds arbitrary quant.json and layers.json next to a real export: LoadRun either
// reads them or returns an error, and what it read renders.
func FuzzLoadRun(f *testing.F) {
	fx, err := makeFixtureOnce()
	if err != nil {
		f.Fatal(err)
	}
	q, _ := os.ReadFile(filepath.Join(fx.ptq, QuantFile))
	l, _ := os.ReadFile(filepath.Join(fx.ptq, LayersFile))
	f.Add(q, l)
	f.Add([]byte(`{"method":"qat","inputs":[{"scale":-1}]}`), []byte(`{"layers":[{"node":"x","clipped_fraction":-3,"int8_sqnr_db":1e308}]}`))
	f.Add([]byte(`{"qat":{}}`), []byte(`{"images":-1,"layers":null}`))
	f.Add([]byte(`[]`), []byte(`nope`))
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, quantJSON, layersJSON []byte) {
		dir, err := os.MkdirTemp(base, "run")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		for _, n := range []string{TOSAFile, VGFFile} {
			b, _ := os.ReadFile(filepath.Join(fx.ptq, n))
			os.WriteFile(filepath.Join(dir, n), b, 0o644)
		}
		os.WriteFile(filepath.Join(dir, QuantFile), quantJSON, 0o644)
		os.WriteFile(filepath.Join(dir, LayersFile), layersJSON, 0o644)
		r, err := LoadRun(dir)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if r.Label == "" || r.Kind != KindInt8 {
			t.Errorf("label %q kind %q", r.Label, r.Kind)
		}
		if !strings.HasSuffix(ladderSVG(r.Label, r.Layers), "</svg>") {
			t.Error("ladder chart not closed")
		}
		if h, w := r.InputSize(); h <= 0 || w <= 0 {
			t.Errorf("input size %dx%d", w, h)
		}
	})
}

func makeFixtureOnce() (*fixture, error) {
	fixOnce.Do(func() { fix, fixErr = makeFixture() })
	return fix, fixErr
}
