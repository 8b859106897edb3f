//go:build !unix

package main

import "os/exec"

// setProcessGroup: without process groups, cancellation kills the child.
func setProcessGroup(cmd *exec.Cmd) {}
