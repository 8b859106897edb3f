//go:build unix

package main

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// oNoFollow makes open(2) fail on a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// ownedByMe reports whether this process's user owns the file.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// linkUnsupported reports whether link(2) failed because the file system
// has no hard links.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}
