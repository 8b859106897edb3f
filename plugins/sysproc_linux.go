//go:build linux

package plugins

import (
	"os/exec"
	"syscall"
)

// setParentDeath asks Linux to kill the plugin when the host dies, so a
// crashed host leaves no orphan plugin holding a token session.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
