package atomicfile

import "golang.org/x/sys/unix"

// exchange atomically swaps the directories a and b (renameat2 RENAME_EXCHANGE, Linux 3.15+;
// not every file system supports it, and then it fails with EINVAL).
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
