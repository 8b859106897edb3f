//go:build !linux

package plugins

import "os/exec"

// setParentDeath does nothing outside Linux: a plugin outlives a host that
// is killed, until its next read fails.
func setParentDeath(*exec.Cmd) {}
