//go:build linux

package plugins_test

import (
	"strconv"
	"syscall"
	"time"

	"github.com/keyplane/keyplane/plugins"
)

// cpuTimes returns the CPU time (user and system, all threads) used so far
// by this process and by process pid (0: none). ok is false when either
// cannot be read.
func cpuTimes(pid int) (self, other time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if pid == 0 {
		return self, 0, true
	}
	_, f, err := plugins.ProcStat(pid)
	if err != nil || len(f) < 13 {
		return 0, 0, false
	}
	// utime and stime, in clock ticks (USER_HZ, 100 on Linux).
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return self, time.Duration(ut+st) * 10 * time.Millisecond, true
}
