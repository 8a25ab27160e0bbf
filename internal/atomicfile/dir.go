package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteDir replaces directory dir with the files fill writes into a fresh temporary directory
// next to it. Readers, and a process killed at any moment, see either the old directory or the
// complete new one, never a mix or nothing: fill runs on the temp dir, which is then swapped with
// dir in one atomic step (renameat2 RENAME_EXCHANGE on Linux) and the old content removed. Where
// the swap is unavailable the old dir is renamed aside (to <temp>.old) and the temp dir renamed
// into place; a crash between the two renames is undone by RecoverDir, which WriteDir and
// readers of such directories call first. On any error (or panic in fill) the temp dir is
// removed and dir is left as it was.
//
// Temporary directories left by a killed writer (.<name>.tmp-*) are removed by the next
// WriteDir of the same dir, so there must be one writer per directory at a time.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if err := RecoverDir(dir); err != nil {
		return err
	}
	removeStale(dir)
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	syncDir(tmp)
	if _, err := os.Stat(dir); err == nil {
		if swapDirs(tmp, dir) == nil {
			done = true
			syncDir(parent)
			os.RemoveAll(tmp) // now the old content
			return nil
		}
	}
	var old string
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return err
	}
	done = true
	syncDir(parent)
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// RecoverDir undoes an interrupted WriteDir of dir on systems without an atomic directory
// swap: if dir is missing but the previous version was renamed aside (.<name>.tmp-*.old), it is
// put back. It does nothing when dir exists.
func RecoverDir(dir string) error {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil || !os.IsNotExist(err) {
		return nil
	}
	olds, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+globEscape(filepath.Base(dir))+".tmp-*.old"))
	if len(olds) != 1 {
		return nil
	}
	if err := os.Rename(olds[0], dir); err != nil {
		return fmt.Errorf("%s: restoring the previous version from %s: %w", dir, olds[0], err)
	}
	return nil
}

// removeStale deletes the temporary directories of killed WriteDir calls for dir.
func removeStale(dir string) {
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+globEscape(filepath.Base(dir))+".tmp-*"))
	for _, p := range stale {
		os.RemoveAll(p)
	}
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)
	return r.Replace(s)
}

// swapDirs is exchange; tests replace it to exercise the fallback.
var swapDirs = exchange
