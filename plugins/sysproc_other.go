//go:build !linux

package plugins

import (
	"os"
	"os/exec"
)

// setChildProc does nothing outside Linux: a plugin outlives a host that
// is killed, until its next read fails.
func setChildProc(*exec.Cmd) {}

// killGroup kills the plugin process itself (no process group of its own
// outside Linux).
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil && pid > 0 {
		p.Kill()
	}
}
