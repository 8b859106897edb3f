package testenv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// SignLoad is the signing load of the fault tests (a token server killed
// under load, sessions killed, logouts forced): goroutines that sign with
// an ECDSA crypto.Signer until Halt and check every outcome. A signature
// must verify; an error must wrap backend.ErrUnavailable; anything else is
// recorded in Bad.
type SignLoad struct {
	OK          atomic.Int64 // good signatures
	Unavailable atomic.Int64 // ErrUnavailable errors
	LastOK      atomic.Int64 // UnixNano of the latest good signature
	MaxBlock    atomic.Int64 // the longest Sign call, in ns

	opts SignLoadOptions
	mu   sync.Mutex
	bad  []string
	wg   sync.WaitGroup
	stop chan struct{}
}

// SignLoadOptions tune a SignLoad.
type SignLoadOptions struct {
	// Backoff is how long a worker sleeps after an ErrUnavailable, as a
	// caller backing off would (default 1 ms).
	Backoff time.Duration
	// OnUnavailable, if set, sees each ErrUnavailable error first.
	OnUnavailable func(error)
}

// StartSignLoad starts n goroutines signing with s, whose public key must
// be an *ecdsa.PublicKey.
func StartSignLoad(s crypto.Signer, n int, opts SignLoadOptions) *SignLoad {
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	l := &SignLoad{opts: opts, stop: make(chan struct{})}
	pub := s.Public().(*ecdsa.PublicKey)
	for w := range n {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				digest := sha256.Sum256(fmt.Appendf(nil, "worker %d message %d", w, i))
				start := time.Now()
				sig, err := s.Sign(nil, digest[:], crypto.SHA256)
				l.block(time.Since(start))
				switch {
				case err == nil && ecdsa.VerifyASN1(pub, digest[:], sig):
					l.OK.Add(1)
					l.LastOK.Store(time.Now().UnixNano())
				case err == nil:
					l.fail("a signature that does not verify")
				case errors.Is(err, backend.ErrUnavailable):
					l.Unavailable.Add(1)
					if l.opts.OnUnavailable != nil {
						l.opts.OnUnavailable(err)
					}
					time.Sleep(l.opts.Backoff)
				default:
					l.fail(err.Error())
				}
			}
		})
	}
	return l
}

func (l *SignLoad) block(took time.Duration) {
	for {
		m := l.MaxBlock.Load()
		if int64(took) <= m || l.MaxBlock.CompareAndSwap(m, int64(took)) {
			return
		}
	}
}

func (l *SignLoad) fail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) < 20 {
		l.bad = append(l.bad, s)
	}
}

// Bad returns the outcomes that were neither a good signature nor
// ErrUnavailable (the first 20).
func (l *SignLoad) Bad() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

// Halt stops the workers and waits for them at most limit; a worker still
// inside Sign then (stuck in a module call that never returns) is
// recorded in Bad and left, and Halt reports false. Halt may be called
// more than once.
func (l *SignLoad) Halt(limit time.Duration) bool {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		l.fail(fmt.Sprintf("a signing goroutine did not return within %v: stuck in a module call", limit))
		return false
	}
}

// Stopped is closed by Halt.
func (l *SignLoad) Stopped() <-chan struct{} { return l.stop }

// WaitOK waits until a signature succeeds after t0, at most until
// t0+limit, and returns when it did.
func (l *SignLoad) WaitOK(t0 time.Time, limit time.Duration) (time.Time, bool) {
	deadline := t0.Add(limit)
	for time.Now().Before(deadline) {
		if last := l.LastOK.Load(); last > t0.UnixNano() {
			return time.Unix(0, last), true
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, false
}
