//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// A backend operation (a signature: C_SignInit and C_Sign; a lookup; a
// recovery) runs on a callWorker goroutine while its caller waits for it,
// its call timeout, or its context — whichever comes first. A C call
// cannot be interrupted, and a module can block in one for good (p11-kit's
// client on a dead server, a network HSM's library on a partition), so the
// caller must not be the goroutine inside the module. At its deadline the
// caller returns backend.ErrUnavailable and the operation is abandoned to
// its worker: the worker, the session it holds and the module's call lock
// stay with it until the module returns (see module.abandon).
//
// Handing the operation over costs a wake-up of the worker and one of the
// caller, and the operation's closure escapes to the heap: about 0.8 µs
// and 2 allocations per operation in BenchmarkSignOverhead. The larger
// cost is the runtime's: each wake-up with a processor idle makes it wake
// an OS thread to look for work (runtime.wakep), which on a small virtual
// machine shows as more CPU time per signature (docs/performance.md).
type callWorker struct {
	start chan struct{} // a job is in fn
	done  chan struct{} // cap 1: the job returned in time; err is set
	timer *time.Timer   // the caller's deadline, reused

	state atomic.Int32 // jobRunning, jobFinished or jobAbandoned
	// The job: fn, or sessionOp(ctx, op) on b (no closure to allocate on
	// the hot path).
	fn   func() error
	b    *Backend
	ctx  context.Context
	op   func(*session) error
	err  error
	call *abandonedCall // set by the caller before it abandons the job
}

const (
	jobRunning int32 = iota + 1
	jobFinished
	jobAbandoned
)

// idleWorkers holds the workers waiting for a job, process-wide, most
// recently used last (a caller in a loop gets the same worker again). A
// worker whose job was abandoned comes back here when the module returns.
var idleWorkers struct {
	mu sync.Mutex
	ws []*callWorker
}

// maxIdleWorkers bounds the idle workers kept; more end.
const maxIdleWorkers = 256

// workersStarted counts the worker goroutines ever started (tests).
var workersStarted atomic.Int64

func getWorker() *callWorker {
	idleWorkers.mu.Lock()
	if n := len(idleWorkers.ws); n > 0 {
		w := idleWorkers.ws[n-1]
		idleWorkers.ws[n-1] = nil
		idleWorkers.ws = idleWorkers.ws[:n-1]
		idleWorkers.mu.Unlock()
		return w
	}
	idleWorkers.mu.Unlock()
	w := &callWorker{start: make(chan struct{}), done: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	workersStarted.Add(1)
	go w.loop()
	return w
}

func putWorker(w *callWorker) {
	w.fn, w.b, w.ctx, w.op, w.err, w.call = nil, nil, nil, nil, nil, nil
	idleWorkers.mu.Lock()
	if len(idleWorkers.ws) < maxIdleWorkers {
		idleWorkers.ws = append(idleWorkers.ws, w)
		idleWorkers.mu.Unlock()
		return
	}
	idleWorkers.mu.Unlock()
	close(w.start) // enough idle workers: this one ends
}

func (w *callWorker) loop() {
	for range w.start {
		var err error
		if w.fn != nil {
			err = w.fn()
		} else {
			err = w.b.sessionOp(w.ctx, w.op)
		}
		w.err = err
		if w.state.CompareAndSwap(jobRunning, jobFinished) {
			w.done <- struct{}{}
			continue
		}
		// The caller gave up on this job: tell the module it returned,
		// then serve again.
		w.call.returned()
		putWorker(w)
	}
}

// run runs fn (a sequence of module calls) on a worker and waits for it
// until the backend's call timeout or ctx ends. A module that has a call
// abandoned past its call timeout still inside fails at once instead (see
// module.wedged).
//
// fn must not be read from after run returns an error: an abandoned fn
// may still be running, so closures that fn writes to are the caller's
// only once run returned nil.
func (b *Backend) run(ctx context.Context, fn func() error) error {
	if b.callTimeout == CallTimeoutOff {
		return fn()
	}
	if err := b.mod.wedged(); err != nil {
		return err
	}
	w := getWorker()
	w.fn = fn
	return b.wait(ctx, w)
}

// runSession is run of sessionOp(ctx, op), the hot path.
func (b *Backend) runSession(ctx context.Context, op func(*session) error) error {
	if b.callTimeout == CallTimeoutOff {
		return b.sessionOp(ctx, op)
	}
	if err := b.mod.wedged(); err != nil {
		return err
	}
	w := getWorker()
	w.b, w.ctx, w.op = b, ctx, op
	return b.wait(ctx, w)
}

// wait starts w's job and waits for it until the call timeout or ctx ends.
// A context that has ended already starts nothing.
func (b *Backend) wait(ctx context.Context, w *callWorker) error {
	m := b.mod
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			putWorker(w)
			return fmt.Errorf("pkcs11: %w: %w", err, backend.ErrUnavailable)
		}
	}
	w.state.Store(jobRunning)
	start := time.Now()
	w.timer.Reset(b.callTimeout)
	w.start <- struct{}{}
	var timedOut bool
	if done := ctx.Done(); done == nil {
		select {
		case <-w.done:
			w.timer.Stop()
			err := w.err
			putWorker(w)
			return err
		case <-w.timer.C:
			timedOut = true
		}
	} else {
		select {
		case <-w.done:
			w.timer.Stop()
			err := w.err
			putWorker(w)
			return err
		case <-w.timer.C:
			timedOut = true
		case <-done:
			w.timer.Stop()
		}
	}
	// Abandon the job, unless it returned just now.
	c := m.abandon(start, b.callTimeout)
	w.call = c
	if !w.state.CompareAndSwap(jobRunning, jobAbandoned) {
		c.returned()
		<-w.done
		err := w.err
		putWorker(w)
		return err
	}
	if timedOut {
		return fmt.Errorf("pkcs11: module %s: the operation did not return within the call-timeout of %v; it is left to the module, and until it returns every call fails at once (run the backend as plugin+pkcs11: to contain a module that hangs, see docs/backends/pkcs11.md#a-module-that-hangs): %w",
			m.path, b.callTimeout, backend.ErrUnavailable)
	}
	return fmt.Errorf("pkcs11: %w: %w", ctx.Err(), backend.ErrUnavailable)
}
