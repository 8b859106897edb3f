//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts a probe child in a process group of its own and
// makes cancellation kill the whole group (a module may start helper
// processes).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
