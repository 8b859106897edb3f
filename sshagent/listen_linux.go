package sshagent

import (
	"net"
	"os"
	"syscall"
)

// listenUnix binds and listens on a Unix socket at path, created with mode
// 0600 (less the umask) from the start. Linux gives the socket file the
// mode of the socket's own inode less the umask (unix_bind in
// net/unix/af_unix.c), and fchmod on the socket sets that mode; so a
// fchmod before bind leaves no moment in which the file exists with a
// wider mode for a client to connect through.
func listenUnix(path string) (*net.UnixListener, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	fail := func(call string, err error) (*net.UnixListener, error) {
		return nil, &net.OpError{Op: "listen", Net: "unix", Addr: addr, Err: os.NewSyscallError(call, err)}
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket", err)
	}
	if err := syscall.Fchmod(fd, 0o600); err != nil {
		syscall.Close(fd)
		return fail("fchmod", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return fail("bind", err)
	}
	if err := syscall.Listen(fd, syscall.SOMAXCONN); err != nil {
		syscall.Close(fd)
		os.Remove(path)
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f) // a duplicate of fd, in the runtime's poller
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return l.(*net.UnixListener), nil
}
