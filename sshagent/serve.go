package sshagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"golang.org/x/crypto/ssh/agent"
)

// Listen creates a Unix socket at path for the agent, with mode 0600. path
// must not exist. On Linux the socket file has that mode from the moment
// it exists (the socket is chmodded before bind); elsewhere it is chmodded
// just after, so put it in a directory only its owner can enter (the CLI
// makes a fresh 0700 one) to leave nobody a moment to connect. Closing the
// listener removes the socket.
func Listen(path string) (*net.UnixListener, error) {
	if path == "" {
		return nil, fmt.Errorf("sshagent: empty socket path: %w", backend.ErrInvalidInput)
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("sshagent: %s already exists: %w", path, backend.ErrAlreadyExists)
	}
	l, err := listenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("sshagent: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("sshagent: %w", err)
	}
	l.SetUnlinkOnClose(true)
	return l, nil
}

// Serve answers agent requests from a on every connection l accepts, each
// connection in its own goroutine, until ctx ends; then it closes l and
// every open connection, waits for their goroutines and returns nil. An
// error accepting a connection ends Serve with that error.
func Serve(ctx context.Context, l net.Listener, a agent.Agent) error {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
		done  bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		done = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		l.Close()
	})
	defer func() {
		stop()
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("sshagent: accepting a connection: %w", err)
		}
		mu.Lock()
		if done {
			mu.Unlock()
			c.Close()
			return nil
		}
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			agent.ServeAgent(a, c) // returns at the client's EOF or an error
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}
