package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fillWith(content string) func(string) error {
	return func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644)
	}
}

func readF(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteDirReplaces(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		if fallback {
			old := swapDirs
			swapDirs = func(a, b string) error { return errors.ErrUnsupported }
			defer func() { swapDirs = old }()
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "ck")
		for _, c := range []string{"one", "two", "three"} {
			if err := WriteDir(dir, fillWith(c)); err != nil {
				t.Fatal(err)
			}
			if got := readF(t, dir); got != c {
				t.Fatalf("fallback %v: %q, want %q", fallback, got, c)
			}
			if got := entries(t, parent); len(got) != 1 {
				t.Fatalf("fallback %v: parent holds %v", fallback, got)
			}
		}
		if err := WriteDir(dir, func(string) error { return errors.New("boom") }); err == nil || readF(t, dir) != "three" {
			t.Fatalf("failed fill: %v", err)
		}
	}
}

// TestWriteDirCrashLeftovers: the states a killed WriteDir can leave behind are repaired by the
// next WriteDir or by RecoverDir: the previous version renamed aside with the new one not yet in
// place, and stale temporary directories.
func TestWriteDirCrashLeftovers(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ck")
	// Killed between the two renames of the fallback: ck is missing, the old one is aside.
	aside := filepath.Join(parent, ".ck.tmp-123")
	os.MkdirAll(aside, 0o755)
	os.WriteFile(filepath.Join(aside, "f"), []byte("new, complete"), 0o644)
	os.MkdirAll(aside+".old", 0o755)
	os.WriteFile(filepath.Join(aside+".old", "f"), []byte("previous"), 0o644)
	if err := RecoverDir(dir); err != nil {
		t.Fatal(err)
	}
	if got := readF(t, dir); got != "previous" {
		t.Fatalf("recovered %q", got)
	}
	// The next write removes the stale temp dir.
	if err := WriteDir(dir, fillWith("next")); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, parent); len(got) != 1 || got[0] != "ck" || readF(t, dir) != "next" {
		t.Fatalf("after the next write: %v", got)
	}
	// RecoverDir leaves an existing dir alone.
	os.MkdirAll(filepath.Join(parent, ".ck.tmp-9.old"), 0o755)
	if err := RecoverDir(dir); err != nil || readF(t, dir) != "next" {
		t.Fatal(err)
	}
	// Names with glob metacharacters.
	odd := filepath.Join(parent, "run[1]*")
	if err := WriteDir(odd, fillWith("a")); err != nil || !strings.Contains(readF(t, odd), "a") {
		t.Fatal(err)
	}
}
