//go:build unix

package software

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("software: syncing %s: %v: %w", dir, err, backend.ErrUnavailable)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("software: syncing %s: %v: %w", dir, err, backend.ErrUnavailable)
	}
	return nil
}

// lockFile takes an exclusive flock(2) on path (created 0600 if needed),
// waiting until ctx is done. flock locks belong to the open file, so they
// exclude other processes and other open files of this one, and the
// kernel drops them when a holder dies.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("software: opening lock file %s: %v: %w", path, err, backend.ErrUnavailable)
	}
	fd := int(f.Fd())
	delay := time.Millisecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("software: locking %s: %v: %w", path, err, backend.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("software: waiting for the keystore lock %s: %w: %w", path, ctx.Err(), backend.ErrUnavailable)
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
	return func() {
		syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}
