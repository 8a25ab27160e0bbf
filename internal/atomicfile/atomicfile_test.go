package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := WriteBytes(path, []byte("first"), 0o640); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "first", 0o640)
	err := Write(path, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, "second, longer content")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "second, longer content", 0o600)
	if got := entries(t, dir); len(got) != 1 || got[0] != "out.txt" {
		t.Errorf("directory contains %v, want only out.txt", got)
	}
}

func TestWriteLargeContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.bin")
	data := []byte(strings.Repeat("0123456789abcdef", 1<<15)) // 512 KiB, > buffer
	if err := WriteBytes(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, string(data), 0o644)
}

func TestWriteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteBytes("rel.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, "rel.txt"), "x", 0o644)
}

func TestFailingWriterLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping %v", err, boom)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("directory contains %v after failed write, want nothing", got)
	}
}

func TestFailingWriterKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := WriteBytes(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, 0o600, func(w io.Writer) error {
		w.Write([]byte(strings.Repeat("new", 1<<16))) // forces a flush to the temp file
		return errors.New("fail")
	})
	if err == nil {
		t.Fatal("expected error")
	}
	checkFile(t, path, "old", 0o644)
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory contains %v, want only out.txt", got)
	}
}

func TestPanickingWriterCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	func() {
		defer func() {
			if r := recover(); r != "writer panic" {
				t.Errorf("recovered %v, want the writer's panic", r)
			}
		}()
		Write(path, 0o644, func(w io.Writer) error {
			io.WriteString(w, "partial")
			panic("writer panic")
		})
	}()
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("directory contains %v after panic, want nothing", got)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	// Missing directory.
	if err := WriteBytes(filepath.Join(dir, "nope", "f"), nil, 0o644); err == nil {
		t.Error("expected error for missing directory")
	}
	// Destination is a directory: rename fails, temp must be removed.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(sub, []byte("x"), 0o644); err == nil {
		t.Error("expected error when destination is a non-empty directory")
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "sub" {
		t.Errorf("directory contains %v, want only sub", got)
	}
	// Empty base name.
	if err := WriteBytes(dir+string(filepath.Separator), nil, 0o644); err == nil {
		t.Error("expected error for path ending in a separator")
	}
}

func checkFile(t *testing.T, path, want string, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s: content %.40q (len %d), want %.40q (len %d)", path, got, len(got), want, len(want))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}
