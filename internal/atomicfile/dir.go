package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteDir replaces directory dir with the files fill writes into a fresh temporary directory
// next to it. Readers see either the old directory or the complete new one, never a mix: fill
// runs on the temp dir, then the old dir (if any) is renamed aside, the temp dir renamed into
// place and the old one removed. On any error (or panic in fill) the temp dir is removed and
// dir is left as it was.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
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
