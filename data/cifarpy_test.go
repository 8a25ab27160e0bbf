package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pickles under testdata/cifar-10-batches-py are written by
// tools/golden/cifar_pickle_gen.py in the layout of the published
// cifar-10-python.tar.gz (Python 2 cPickle, protocol 2, numpy uint8 arrays)
// and checked there with pickle.load as torchvision calls it; the same images
// in the binary layout are in testdata/cifar-10-expected-bin.

const pyDir = "testdata/cifar-10-batches-py"

func TestParseCIFAR10PickleMatchesBinary(t *testing.T) {
	for _, name := range append(append([]string{}, cifarPyTrainFiles...), cifarPyTestFile) {
		b, err := os.ReadFile(filepath.Join(pyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		labels, pix, err := ParseCIFAR10Pickle(name, b)
		if err != nil {
			t.Fatal(err)
		}
		bin, err := os.ReadFile(filepath.Join("testdata/cifar-10-expected-bin", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseCIFAR10(name+".bin", bin, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(labels, want.labels) || !bytes.Equal(pix, want.pix) {
			t.Errorf("%s: pickle and binary versions differ (labels %v vs %v)", name, labels, want.labels)
		}
	}
}

func TestParseCIFAR10PicklePython3(t *testing.T) {
	bin, _ := os.ReadFile("testdata/cifar-10-expected-bin/data_batch_1.bin")
	want, err := ParseCIFAR10("x", bin, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"proto2", "proto4"} {
		b, err := os.ReadFile("testdata/cifar-10-py3/data_batch_1." + p)
		if err != nil {
			t.Fatal(err)
		}
		labels, pix, err := ParseCIFAR10Pickle(p, b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(labels, want.labels) || !bytes.Equal(pix, want.pix) {
			t.Errorf("%s: differs from the binary version", p)
		}
	}
}

func TestLoadCIFAR10Pickled(t *testing.T) {
	ds, err := LoadCIFAR10Pickled(pyDir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 15 || ds.Test.Len() != 3 {
		t.Fatalf("train %d test %d", ds.Train.Len(), ds.Test.Len())
	}
	bin, _ := os.ReadFile("testdata/cifar-10-expected-bin/data_batch_2.bin")
	want, _ := ParseCIFAR10("x", bin, 0)
	got := make([]float32, cifarImageBytes)
	exp := make([]float32, cifarImageBytes)
	if err := ds.Train.Read(4, nil, got); err != nil { // image 1 of batch 2
		t.Fatal(err)
	}
	want.Read(1, nil, exp)
	for k := range got {
		if got[k] != exp[k] {
			t.Fatalf("pixel %d: %v, want %v", k, got[k], exp[k])
		}
	}
	// Found under a torchvision root, in the directory itself, and via the cache.
	root := t.TempDir()
	copyDir(t, pyDir, filepath.Join(root, cifarPyDirName))
	for _, d := range []string{root, filepath.Join(root, cifarPyDirName)} {
		if p, k := FindCIFAR10(d); k != "py" || p != filepath.Join(root, cifarPyDirName) {
			t.Errorf("FindCIFAR10(%s) = %q, %q", d, p, k)
		}
	}
	ds, err = CIFAR10(root, DownloadOptions{URL: "http://127.0.0.1:1/none"})
	if err != nil || ds.Train.Len() != 15 {
		t.Fatalf("CIFAR10 with the python version in the cache: %v", err)
	}
	if p, k := FindCIFAR10(t.TempDir()); p != "" || k != "" {
		t.Errorf("empty dir: %q %q", p, k)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseCIFAR10PickleErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(pyDir, "data_batch_1"))
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := os.ReadFile(filepath.Join(pyDir, "batches.meta"))
	// A BINSTRING declaring 2 GB in a small file must be caught before allocation.
	huge := append([]byte("\x80\x02T"), 0xff, 0xff, 0xff, 0x7f, 'x', '.')
	bytes8 := append([]byte("\x80\x04\x8e"), 0, 0, 0, 0, 0, 0, 0, 0x40, '.')
	badLabel := bytes.Clone(good)
	i := bytes.Index(badLabel, []byte("labels"))
	i += bytes.Index(badLabel[i:], []byte("(K"))
	badLabel[i+2] = 12
	evil := []byte("\x80\x02cos\nsystem\nq\x00U\x02lsq\x01\x85R.")
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "past the end"},
		{"empty", nil, "no STOP"},
		{"huge string", huge, "past the end"},
		{"huge bytes8", bytes8, "past the end"},
		{"os.system", evil, "unsupported global os.system"},
		{"meta", meta, "no 'data' entry"},
		{"label", badLabel, "label 0 is 12"},
		{"not a pickle", []byte("\x00hello"), "unsupported pickle opcode"},
		{"long number", []byte("\x80\x02L" + strings.Repeat("9", 100) + "L\n."), "102-character number"},
	}
	for _, c := range cases {
		_, _, err := ParseCIFAR10Pickle("data_batch_1", c.b)
		if err == nil || !strings.Contains(err.Error(), "data_batch_1") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
