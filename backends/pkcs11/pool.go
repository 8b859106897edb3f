//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// SessionPool holds the open PKCS#11 sessions of one Backend; only the
// Backend uses it (its Stats method reports it as PoolStats). A session is
// used by one goroutine at a time (miekg/pkcs11 sessions are not safe for
// concurrent use): get hands it out, put returns it, drop closes one that
// went bad. At most Max sessions are open at once; get waits for a free one
// when all are busy.
//
// reset closes every idle session and makes the busy ones close when they
// come back (after a device error or a re-initialization); the next get
// opens fresh ones.
type SessionPool struct {
	openFn  func() (pkcs11.SessionHandle, error)
	closeFn func(pkcs11.SessionHandle)

	sem chan struct{} // one token per session in use or being opened

	mu    sync.Mutex
	idle  []*session
	open  int    // sessions open now (idle and busy)
	gen   uint64 // sessions from an older generation are closed on Put
	total uint64 // sessions ever opened

	waiting atomic.Int64 // callers in Get waiting for a free session
}

// session is one pooled session handle.
type session struct {
	h   pkcs11.SessionHandle
	gen uint64
}

func newSessionPool(max int, open func() (pkcs11.SessionHandle, error), close func(pkcs11.SessionHandle)) *SessionPool {
	return &SessionPool{openFn: open, closeFn: close, sem: make(chan struct{}, max)}
}

// get returns a session for the caller's exclusive use, opening one when
// none is idle and fewer than Max are open.
func (p *SessionPool) get(ctx context.Context) (*session, error) {
	select {
	case p.sem <- struct{}{}:
	default:
		p.waiting.Add(1)
		var err error
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			err = fmt.Errorf("pkcs11: waiting for a session (all %d busy): %w: %w", cap(p.sem), ctx.Err(), backend.ErrUnavailable)
		}
		p.waiting.Add(-1)
		if err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	gen := p.gen
	p.mu.Unlock()
	h, err := p.openFn()
	if err != nil {
		<-p.sem
		return nil, err
	}
	p.mu.Lock()
	p.open++
	p.total++
	p.mu.Unlock()
	return &session{h: h, gen: gen}, nil
}

// put returns a healthy session to the pool.
func (p *SessionPool) put(s *session) {
	p.mu.Lock()
	if s.gen != p.gen {
		p.open--
		p.mu.Unlock()
		p.closeFn(s.h)
	} else {
		p.idle = append(p.idle, s)
		p.mu.Unlock()
	}
	<-p.sem
}

// drop closes a session that must not be used again.
func (p *SessionPool) drop(s *session) {
	p.mu.Lock()
	p.open--
	p.mu.Unlock()
	p.closeFn(s.h)
	<-p.sem
}

// reset closes the idle sessions and marks the busy ones to be closed when
// they are put back.
func (p *SessionPool) reset() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.gen++
	p.mu.Unlock()
	for _, s := range idle {
		p.closeFn(s.h)
	}
}

// Stats returns the pool's counters.
func (p *SessionPool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Max: cap(p.sem), Open: p.open, Idle: len(p.idle), Opened: p.total, Waiting: int(p.waiting.Load())}
}
