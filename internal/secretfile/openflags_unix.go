//go:build unix

package secretfile

import "syscall"

// openFlags: should the path become a FIFO between Stat and Open, opening
// it does not wait for a writer (and the Stat of the open file refuses it).
const openFlags = syscall.O_NONBLOCK
