//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package plugins

import "net"

// blocking returns c as it is: blocking socket I/O (blocking_unix.go) is
// only used where Unix sockets take SO_RCVTIMEO.
func blocking(c net.Conn) (net.Conn, error) { return c, nil }
