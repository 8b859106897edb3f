//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// abandonedCall is an operation whose caller stopped waiting for it (its
// call timeout or its context ended) while it was still inside the module.
type abandonedCall struct {
	m        *module
	start    time.Time
	deadline time.Time // start + the backend's call timeout
}

// abandonedCalls is a module's record of the operations left inside it.
type abandonedCalls struct {
	mu    sync.Mutex
	calls map[*abandonedCall]struct{}
	count atomic.Int32 // len(calls), for the check without mu
}

// abandon records an operation that started at start, on a backend whose
// call timeout is timeout, as left inside the module.
func (m *module) abandon(start time.Time, timeout time.Duration) *abandonedCall {
	c := &abandonedCall{m: m, start: start, deadline: start.Add(timeout)}
	a := &m.abandoned
	a.mu.Lock()
	if a.calls == nil {
		a.calls = map[*abandonedCall]struct{}{}
	}
	a.calls[c] = struct{}{}
	a.count.Store(int32(len(a.calls)))
	a.mu.Unlock()
	return c
}

// returned records that an abandoned operation came back from the module.
func (c *abandonedCall) returned() {
	a := &c.m.abandoned
	a.mu.Lock()
	delete(a.calls, c)
	a.count.Store(int32(len(a.calls)))
	a.mu.Unlock()
}

// wedged returns a *HungModuleError while an operation abandoned inside
// the module has been there longer than its call timeout, nil otherwise.
// One that its caller's context gave up on earlier does not count until
// its call timeout has passed too: a short context is not evidence of a
// hung module. The check costs one atomic load while nothing is abandoned.
func (m *module) wedged() error {
	if m.abandoned.count.Load() == 0 {
		return nil
	}
	a := &m.abandoned
	now := time.Now()
	var oldest *abandonedCall
	a.mu.Lock()
	for c := range a.calls {
		if now.After(c.deadline) && (oldest == nil || c.start.Before(oldest.start)) {
			oldest = c
		}
	}
	n := len(a.calls)
	a.mu.Unlock()
	if oldest == nil {
		return nil
	}
	return &HungModuleError{Module: m.path, Stuck: now.Sub(oldest.start), Calls: n}
}

// Health reports at once, without calling into the module, whether the
// backend can serve: backend.ErrClosed after Close, a *HungModuleError
// while an operation is stuck inside its module, nil otherwise. A plugin
// child answers its host's health check with it (plugins.HealthChecker),
// so a hung plugin+pkcs11: child is replaced at the next check rather than
// after several failed calls.
func (b *Backend) Health(ctx context.Context) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	return b.mod.wedged()
}
