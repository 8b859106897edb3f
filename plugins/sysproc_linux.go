//go:build linux

package plugins

import (
	"os/exec"
	"syscall"
)

// setChildProc asks Linux to kill the plugin when the host dies, so a
// crashed host leaves no orphan plugin holding a token session, and puts
// the plugin in its own process group, so that killing it takes with it
// any process it started.
func setChildProc(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killGroup sends SIGKILL to the process group of a plugin started with
// setChildProc. SIGKILL ends a process whatever it is doing: threads stuck
// in a futex wait inside a PKCS#11 module, a stopped process.
func killGroup(pid int) {
	if pid > 0 {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}
