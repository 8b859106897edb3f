//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package plugins

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// blockingConn is a connected Unix socket read and written with blocking
// system calls on the calling goroutine's own thread, not through the
// runtime's netpoller.
//
// A netpoller read parks the goroutine, and when the answer arrives one
// thread is woken by epoll and hands the goroutine to a processor, often
// another thread, which must be woken too. A blocking read() is woken by
// the kernel directly, on the thread that will use the data. For the
// direct channel, where every call is one short request and one short
// answer between two processes, that halves the wake-ups per call: on a
// 2-core machine, RSA-2048 signing through a plugin at 2 workers went from
// 0.77× to 0.91× of in-process (docs/decisions.md). The price is one
// thread per call in flight, which the host bounds (directPool.slots).
type blockingConn struct {
	f             *os.File        // a blocking descriptor, never registered with the netpoller
	rc            syscall.RawConn // f's, made once: setsockopt runs on every call
	local, remote net.Addr
}

// blocking turns a *net.UnixConn into a blockingConn and closes it (the
// blockingConn holds a duplicate of its descriptor); other connections
// (net.Pipe in tests) are returned as they are. On error c is closed too.
//
// The descriptor is a close-on-exec duplicate, put in blocking mode before
// os.NewFile sees it, so that the runtime never registers it with the
// netpoller: a read past SO_RCVTIMEO then returns EAGAIN instead of
// waiting on the poller, and no epoll wake-up follows each message.
func blocking(c net.Conn) (net.Conn, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return c, nil
	}
	defer uc.Close()
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) {
		// ForkLock: no process may be started between the dup and
		// CloseOnExec, or it would inherit the descriptor.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, derr = syscall.Dup(int(s)); derr == nil {
			syscall.CloseOnExec(fd)
		}
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("dup", derr)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "direct channel")
	frc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &blockingConn{f: f, rc: frc, local: uc.LocalAddr(), remote: uc.RemoteAddr()}, nil
}

// blockingTimeout is the error of a read or write that ran out of time.
type blockingTimeout struct{}

func (blockingTimeout) Error() string   { return "i/o timeout" }
func (blockingTimeout) Timeout() bool   { return true }
func (blockingTimeout) Temporary() bool { return true }

func (c *blockingConn) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	return n, c.mapErr(err)
}

func (c *blockingConn) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	return n, c.mapErr(err)
}

// mapErr reports a read or write that SO_RCVTIMEO or SO_SNDTIMEO ended
// (EAGAIN on a blocking socket) as a timeout.
func (c *blockingConn) mapErr(err error) error {
	if errors.Is(err, syscall.EAGAIN) {
		return blockingTimeout{}
	}
	return err
}

// Close shuts the socket down first: closing a descriptor does not wake
// a thread blocked reading it, shutting it down does.
func (c *blockingConn) Close() error {
	c.control(func(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_RDWR) })
	return c.f.Close()
}

// control runs fn on the descriptor while the file holds it open: never on
// a closed (and perhaps reused) descriptor number.
func (c *blockingConn) control(fn func(fd int) error) error {
	var ferr error
	if err := c.rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (c *blockingConn) LocalAddr() net.Addr  { return c.local }
func (c *blockingConn) RemoteAddr() net.Addr { return c.remote }

func (c *blockingConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline bounds each later read by the time left until t
// (SO_RCVTIMEO is a per-call timeout, set again for every call).
func (c *blockingConn) SetReadDeadline(t time.Time) error {
	return c.setTimeout(syscall.SO_RCVTIMEO, t)
}

func (c *blockingConn) SetWriteDeadline(t time.Time) error {
	return c.setTimeout(syscall.SO_SNDTIMEO, t)
}

func (c *blockingConn) setTimeout(opt int, t time.Time) error {
	var tv syscall.Timeval // zero: no timeout
	if !t.IsZero() {
		// A zero timeval would mean "none": a deadline already past
		// becomes the smallest timeout instead.
		tv = syscall.NsecToTimeval(max(time.Until(t), time.Microsecond).Nanoseconds())
	}
	return c.control(func(fd int) error {
		return os.NewSyscallError("setsockopt", syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv))
	})
}
