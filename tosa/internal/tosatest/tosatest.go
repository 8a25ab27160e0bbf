// Package tosatest reads the TOSA conformance fixtures (internal/testdata/fixtures/tosa in the
// repository) for the tests of tosa, tosa/ref and tosa/fast.
package tosatest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/vgfq/vgfq/tosa"
)

// Dir returns internal/testdata/fixtures/tosa; the test fails (not skips) when it is missing.
func Dir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..") // the repository root
	dir := filepath.Join(root, "internal", "testdata", "fixtures", "tosa")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("TOSA fixtures missing (%v); they are required", err)
	}
	return filepath.Clean(dir)
}

// Case is a fixture's case.json.
type Case struct {
	Op         string   `json:"op"`
	InputName  string   `json:"input_name"`
	OutputName string   `json:"output_name"`
	Inputs     []string `json:"inputs"`
	Outputs    []string `json:"outputs"`
	GraphOps   []string `json:"graph_ops"`
}

// Cases returns every case directory (holding case.json) under the fixtures, sorted.
func Cases(t testing.TB) []string {
	var r []string
	err := filepath.WalkDir(Dir(t), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "case.json" {
			r = append(r, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r) == 0 {
		t.Fatal("no fixture cases found")
	}
	sort.Strings(r)
	return r
}

// ReadNPY reads an int8, uint8 (as INT8 bits), int16 or int32 .npy file as a tensor.
func ReadNPY(path, name string) (*tosa.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Header.Descr.Fortran {
		return nil, fmt.Errorf("%s: Fortran order not supported", path)
	}
	t := &tosa.Tensor{Name: name, Shape: append([]int{}, r.Header.Descr.Shape...)}
	switch strings.Trim(r.Header.Descr.Type, "'\"") {
	case "|i1", "<i1", "i1":
		var v []int8
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int8, tosa.Int8Data(v)
	case "|u1", "<u1", "u1":
		var v []uint8
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int8, append([]byte{}, v...)
	case "<i2":
		var v []int16
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int16, tosa.Int16Data(v)
	case "<i4":
		var v []int32
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.Type, t.Data = tosa.Int32, tosa.Int32Data(v)
	default:
		return nil, fmt.Errorf("%s: unsupported dtype %q", path, r.Header.Descr.Type)
	}
	return t, nil
}
