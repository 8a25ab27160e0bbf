// Package atomicfile writes files atomically: readers (and a crash) see
// either the old file or the complete new one, never a partial write.
//
// The content is written to a temporary file named .<base>.tmp-* in the
// destination's directory (so the final rename stays within one file system),
// synced to disk, closed, given the requested permissions and renamed over the
// destination; the directory is then synced on a best-effort basis so the
// rename itself is durable. On any error, or a panic in the caller's write
// function, the temporary file is removed and the destination is left
// untouched.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write atomically replaces (or creates) the file at path with the bytes that
// write produces. write receives a buffered writer; it must not retain it
// after returning. The file's permission bits are set to exactly perm (the
// process umask is not applied, unlike os.WriteFile).
//
// If write returns an error or panics, or any file-system step fails, no file
// is created or modified at path and the temporary file is removed; a panic
// is re-raised after the cleanup. Errors are wrapped with the path.
func Write(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: invalid file path %q", path)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		// Runs on error returns and while a panic unwinds.
		if !committed {
			f.Close() // may already be closed; the error is irrelevant here
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	committed = true
	syncDir(dir)
	return nil
}

// WriteBytes atomically replaces (or creates) the file at path with data and
// permission bits perm, with the same guarantees as Write.
func WriteBytes(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir fsyncs a directory so a completed rename survives a crash. Some
// platforms and file systems do not support this; failures are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync() // best effort
	d.Close()
}
