//go:build !linux

package sshagent

import "net"

// listenUnix binds and listens on a Unix socket at path. Outside Linux the
// file is created with the process's umask; Listen chmods it after.
func listenUnix(path string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}
