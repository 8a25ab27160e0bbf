package vgf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureDir is the shared fixtures folder (../shared/fixtures/vgf from the
// repository root). CI has it; a missing folder is a test failure.
const fixtureDir = "../../shared/fixtures/vgf"

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.vgf", "corpus/*.vgf"} {
		m, err := filepath.Glob(filepath.Join(fixtureDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no VGF fixtures found in %s (the shared fixtures are required)", fixtureDir)
	}
	return files
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func is043(data []byte) bool { return data[8] == 0 && data[9] == 4 && data[10] == 3 }

// updatedCounterpart names the 0.4.3 file vgf_updater makes from a 0.3 fixture.
var updatedCounterpart = map[string]string{
	"single_maxpool_graph_pre_v0_4_0.vgf":      "single_maxpool_graph_v0_4_3.vgf",
	"simple_conv2d_rescale_graph_outdated.vgf": "simple_conv2d_rescale_graph_v0_4_3.vgf",
}

func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("first difference at byte %d (0x%x): got %02x want %02x; lengths %d/%d", i, i, a[i], b[i], len(a), len(b))
		}
	}
	return fmt.Sprintf("lengths differ: got %d want %d", len(a), len(b))
}

func TestFixturesDecodeAndReencode(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, path)
			f, err := Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			enc, err := Encode(f)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			g, err := Decode(enc)
			if err != nil {
				t.Fatalf("decode re-encoded: %v", err)
			}
			g.Version = f.Version
			if !reflect.DeepEqual(f, g) {
				t.Errorf("re-encoded content differs:\n got %+v\nwant %+v", g, f)
			}
			want := data
			if !is043(data) {
				c, ok := updatedCounterpart[name]
				if !ok {
					return
				}
				want = readFixture(t, filepath.Join(filepath.Dir(path), c))
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("re-encoding is not byte-identical: %s", firstDiff(enc, want))
			}
			enc2, _ := Encode(f)
			if !bytes.Equal(enc, enc2) {
				t.Error("encoding is not deterministic")
			}
		})
	}
}

var _ = strings.TrimSuffix
