//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package plugins

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// blockingPair returns both ends of a real Unix socket connection, as
// blockingConns.
func blockingPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	dialed, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := blocking(dialed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocking(<-accepted)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*blockingConn); !ok {
		t.Fatalf("blocking(*net.UnixConn) = %T, want *blockingConn", a)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestBlockingConn(t *testing.T) {
	a, b := blockingPair(t)

	// Data both ways.
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}

	// A read deadline ends a read with nothing to read, as a timeout.
	start := time.Now()
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := b.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Errorf("read with a 50 ms deadline returned after %v", d)
	}
	// A deadline already past is a timeout at once, not "no timeout".
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := b.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read with a past deadline: %v, want a timeout", err)
	}
	// The zero time clears it: the read waits for data.
	b.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.Write([]byte("pong"))
	}()
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("read without deadline: %q, %v", buf, err)
	}

	// The peer closing ends a blocked read with EOF.
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.Close()
	}()
	if _, err := b.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}
}

// TestBlockingConnCloseWakesReader: closing a blockingConn wakes a thread
// blocked reading it (close(2) alone would not).
func TestBlockingConnCloseWakesReader(t *testing.T) {
	_, b := blockingPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it block in read(2)
	b.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read on a closed connection returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the blocked read")
	}
}

// TestDirectChannelIsBlocking: both ends of a real plugin's direct channel
// use blockingConn (the host's connection is checked here; the plugin's is
// the same code path, blocking() in acceptDirect).
func TestDirectChannelIsBlocking(t *testing.T) {
	p, _ := openDirectSigner(t, Options{})
	pool := p.h.cur.Load().direct
	dc := <-pool.idle
	defer pool.put(dc)
	tc, ok := dc.c.(*tls.Conn)
	if !ok {
		t.Fatalf("direct connection is a %T, want *tls.Conn", dc.c)
	}
	if _, ok := tc.NetConn().(*blockingConn); !ok {
		t.Errorf("direct connection runs over a %T, want *blockingConn (blocking system calls, not the netpoller)", tc.NetConn())
	}
}

// TestBlockingConnClosedTwice: a second Close, or a deadline after Close,
// touches no descriptor — not even one that a later connection has been
// given the same number.
func TestBlockingConnClosedTwice(t *testing.T) {
	_, b := blockingPair(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// New connections take the lowest free descriptor numbers, b's among them.
	x, y := blockingPair(t)
	if err := b.Close(); err == nil {
		t.Error("second Close returned no error")
	}
	if err := b.SetDeadline(time.Now().Add(time.Second)); err == nil {
		t.Error("SetDeadline after Close returned no error")
	}
	if _, err := x.Write([]byte("ok")); err != nil {
		t.Fatalf("a later connection broken by the closed one: %v", err)
	}
	buf := make([]byte, 2)
	y.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(y, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("a later connection broken by the closed one: %q, %v", buf, err)
	}
}
