//go:build linux

package plugins_test

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
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
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...: utime and stime are fields 14 and 15,
	// 12 and 13 after the comm's closing parenthesis, in clock ticks
	// (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, 0, false
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return self, time.Duration(ut+st) * 10 * time.Millisecond, true
}
