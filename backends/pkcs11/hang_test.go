//go:build cgo && !nopkcs11

package pkcs11

// Deadlines and the hung-module state, with a fault a real module gives
// only by chance: a call that does not return until the test releases it
// (p11-kit's client on a dead server never releases it; see
// TestP11KitKillCycles for that).

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// blockAPI makes the next call of one method block inside "the module"
// until release is called, as a module stuck in a call does. While it is
// blocked, it counts any other call on the blocked call's session (a
// quarantined session must never be reused or closed while a call is
// inside it).
type blockAPI struct {
	*spyAPI
	calls *sync.RWMutex // held for reading while blocked, as guardedCtx holds it

	mu      sync.Mutex
	method  string        // armed for this method; "" when not armed
	gate    chan struct{} // closed by release
	entered chan struct{} // closed when the blocked call is inside
	inside  bool
	sh      pkcs11.SessionHandle
	misuse  atomic.Int64 // calls on the blocked session while it was inside
}

func newBlockAPI(p pkcs11API, calls *sync.RWMutex) *blockAPI {
	return &blockAPI{spyAPI: newSpy(p), calls: calls}
}

// arm makes the next call of method block until release.
func (a *blockAPI) arm(method string) (entered <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.method, a.gate, a.entered = method, make(chan struct{}), make(chan struct{})
	return a.entered
}

// release lets the blocked call return.
func (a *blockAPI) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gate != nil {
		close(a.gate)
		a.gate = nil
	}
	a.method = ""
}

// hold blocks the call when it is the armed method; it reports misuse of
// a blocked session.
func (a *blockAPI) hold(method string, sh pkcs11.SessionHandle) {
	a.mu.Lock()
	if a.inside && sh == a.sh {
		a.misuse.Add(1)
	}
	if a.method != method || a.gate == nil || a.inside {
		a.mu.Unlock()
		return
	}
	gate := a.gate
	a.inside, a.sh = true, sh
	close(a.entered)
	a.mu.Unlock()
	if a.calls != nil {
		a.calls.RLock()
		defer a.calls.RUnlock()
	}
	<-gate
	a.mu.Lock()
	a.inside = false
	a.mu.Unlock()
}

func (a *blockAPI) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	a.hold("SignInit", sh)
	return a.spyAPI.SignInit(sh, m, o)
}

func (a *blockAPI) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	a.hold("Sign", sh)
	return a.spyAPI.Sign(sh, msg)
}

func (a *blockAPI) FindObjectsInit(sh pkcs11.SessionHandle, t []*pkcs11.Attribute) error {
	a.hold("FindObjectsInit", sh)
	return a.spyAPI.FindObjectsInit(sh, t)
}

func (a *blockAPI) CloseSession(sh pkcs11.SessionHandle) error {
	a.hold("CloseSession", sh)
	return a.spyAPI.CloseSession(sh)
}

// openBlocking opens the shared token through a blockAPI.
func openBlocking(t *testing.T, extra string) (*Backend, *blockAPI) {
	t.Helper()
	var a *blockAPI
	b, err := openWith(t.Context(), testURI(t, extra), func(p pkcs11API) pkcs11API {
		a = newBlockAPI(p, nil)
		return a
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.release(); b.Close() })
	return b, a
}

// timed runs f and returns how long it took and its error, giving up
// after limit (then the error is errStillBlocked).
func timed(limit time.Duration, f func() error) (time.Duration, error) {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		return time.Since(start), errStillBlocked
	}
}

var errStillBlocked = errors.New("still blocked: the caller was not released at its deadline")

// slack is what a deadline may be overshot by on a loaded machine (and
// under -race).
const slack = 250 * time.Millisecond

func signOnce(s crypto.Signer) error {
	digest := sha256.Sum256([]byte("hang"))
	_, err := s.Sign(nil, digest[:], crypto.SHA256)
	return err
}

// waitReturned waits until no operation is left inside the module.
func waitReturned(t *testing.T, m *module) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); m.abandoned.count.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d abandoned operations still inside the module 5s after their release", m.abandoned.count.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCallTimeout: a signature stuck inside the module returns
// ErrUnavailable to its caller at the call timeout; then the backend is
// hung: every call fails at once with an error that says so and points to
// plugin+pkcs11:, on this backend and on another one on the same module,
// without touching the stuck session; and it recovers by itself once the
// stuck call returns.
func TestCallTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	b, a := openBlocking(t, "call-timeout=300ms")
	other := openTest(t, "")
	third := openTest(t, "")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	os, err := other.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("m"), crypto.SHA256)

	entered := a.arm("SignInit")
	took, err := timed(timeout+5*time.Second, func() error { return signOnce(s) })
	t.Logf("stuck signature: %v after %v", err, took.Round(time.Millisecond))
	select {
	case <-entered:
	default:
		t.Fatal("the armed C_SignInit was never called")
	}
	if err == errStillBlocked || took > timeout+slack || took < timeout-20*time.Millisecond {
		a.release()
		t.Fatalf("stuck signature returned after %v (%v), want at the %v call timeout", took, err, timeout)
	}
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "call-timeout of 300ms") {
		t.Errorf("stuck signature: %v, want ErrUnavailable naming the call-timeout", err)
	}

	// Hung: every call fails at once, on both backends of the module.
	for name, f := range map[string]func() error{
		"Sign":                     func() error { return signOnce(s) },
		"Keys":                     func() error { _, err := b.Keys(t.Context()); return err },
		"Signer":                   func() error { _, err := b.Signer(t.Context(), label); return err },
		"other backend Sign":       func() error { return signOnce(os) },
		"Close of a third backend": third.Close,                                   // sessions left to the module
		"Health":                   func() error { return b.Health(t.Context()) }, // what a plugin host's health check asks
		"Open on the module": func() error {
			b2, err := Open(t.Context(), testURI(t, ""))
			if err == nil {
				b2.Close()
			}
			return err
		},
	} {
		took, err := timed(5*time.Second, f)
		var hung *HungModuleError
		if !errors.As(err, &hung) || !errors.Is(err, backend.ErrUnavailable) || took > 50*time.Millisecond+slack {
			t.Errorf("%s on a hung module: %v after %v, want a HungModuleError at once", name, err, took)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"a module call has not returned for", "plugin+pkcs11:", "docs/backends/pkcs11.md"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not say %q", name, msg, want)
			}
		}
		if hung.Stuck < timeout || hung.Calls != 1 {
			t.Errorf("%s: %+v, want one call stuck for at least %v", name, hung, timeout)
		}
	}
	if n := a.misuse.Load(); n != 0 {
		t.Errorf("%d calls on the stuck call's session while it was inside", n)
	}

	// The stuck call returns: the backend recovers by itself.
	a.release()
	waitReturned(t, b.mod)
	verify(t, s.Public(), []byte("m"), sign(t, s, []byte("m"), crypto.SHA256), crypto.SHA256)
	verify(t, os.Public(), []byte("m"), sign(t, os, []byte("m"), crypto.SHA256), crypto.SHA256)
	if err := b.Health(t.Context()); err != nil {
		t.Errorf("Health after the stuck call returned: %v", err)
	}
}

// TestContextDeadline: a call with a context gives up at the context's
// deadline, well before the call timeout; that alone is no evidence of a
// hung module, so other calls go on (on other sessions, never the stuck
// one) until the stuck call has been inside for the call timeout.
func TestContextDeadline(t *testing.T) {
	b, a := openBlocking(t, "call-timeout=2s")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	b.keys.stale() // the next lookup searches the token
	a.arm("FindObjectsInit")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	took, err := timed(5*time.Second, func() error { _, err := b.Key(ctx, label); return err })
	t.Logf("Key with a 200ms context, its search stuck: %v after %v", err, took.Round(time.Millisecond))
	if err == errStillBlocked || took > 200*time.Millisecond+slack {
		a.release()
		t.Fatalf("Key returned after %v (%v), want at its context's 200ms deadline", took, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Key past its context deadline: %v, want context.DeadlineExceeded and ErrUnavailable", err)
	}
	// Not hung yet: signing goes on, on another session.
	for range 20 {
		if took, err := timed(5*time.Second, func() error { return signOnce(s) }); err != nil || took > slack {
			t.Fatalf("Sign while a call abandoned by its context is inside: %v after %v, want a signature", err, took)
		}
	}
	// Past the call timeout, it is.
	time.Sleep(2*time.Second - took + 50*time.Millisecond)
	var hung *HungModuleError
	if err := signOnce(s); !errors.As(err, &hung) {
		t.Errorf("Sign once the abandoned call has been inside for the call timeout: %v, want a HungModuleError", err)
	}
	if n := a.misuse.Load(); n != 0 {
		t.Errorf("%d calls on the stuck call's session while it was inside", n)
	}
	a.release()
	waitReturned(t, b.mod)
	if err := signOnce(s); err != nil {
		t.Errorf("Sign after the stuck call returned: %v", err)
	}
}

// TestPendingReinitDoesNotBlockCallers: a call stuck inside the module
// holds the module's call lock for reading; a re-initialization that wants
// it for writing gives up after its bounded wait, and while it waits other
// calls still get in (a writer blocked in sync.RWMutex.Lock would hold
// every new reader off, and so wedge every caller behind one stuck call).
func TestPendingReinitDoesNotBlockCallers(t *testing.T) {
	var a *blockAPI
	b, err := openWith(t.Context(), testURI(t, "call-timeout=10s"), func(p pkcs11API) pkcs11API {
		a = newBlockAPI(p, nil)
		return a
	})
	if err != nil {
		t.Fatal(err)
	}
	a.calls = &b.mod.calls // the stuck call holds the lock, as inside guardedCtx
	t.Cleanup(func() { a.release(); b.Close() })
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	entered := a.arm("Sign")
	go signOnce(s) // stuck until release; its caller times out at 10 s
	<-entered
	time.Sleep(reinitInterval) // another test may have re-initialized just now
	reinitDone := make(chan bool)
	start := time.Now()
	go func() { ok, _ := b.mod.reinit(b.p, b.mod.generation()); reinitDone <- ok }()
	var worst time.Duration
	for waiting := true; waiting; {
		select {
		case ok := <-reinitDone:
			waiting = false
			if ok {
				t.Errorf("re-initialization ran while a call was inside the module")
			}
		default:
			took, err := timed(5*time.Second, func() error { return signOnce(s) })
			if err != nil {
				t.Fatalf("Sign while a re-initialization waits: %v after %v", err, took)
			}
			worst = max(worst, took)
		}
	}
	waited := time.Since(start)
	t.Logf("re-initialization gave up after %v; signatures meanwhile took at most %v", waited.Round(time.Millisecond), worst.Round(time.Millisecond))
	if waited > reinitWait+slack {
		t.Errorf("re-initialization waited %v for the stuck call, want at most %v", waited, reinitWait)
	}
	if worst > slack {
		t.Errorf("a signature took %v while the re-initialization waited", worst)
	}
	a.release()
	waitReturned(t, b.mod)
}

// TestContextEndedStartsNothing: an operation whose context has already
// ended is not handed to the module at all (it could not be waited for).
func TestContextEndedStartsNothing(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	b.keys.stale()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	spy.snapshot()
	_, err := b.Key(ctx, label)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Key with a cancelled context: %v, want context.Canceled and ErrUnavailable", err)
	}
	if got := spy.snapshot(); len(got) != 0 {
		t.Errorf("calls made for an operation whose context had ended: %v", got)
	}
}

// TestCallTimeoutOff: call-timeout=off runs operations on the caller's
// goroutine, with no deadline: a stuck call holds its caller until it
// returns (what "off" gives up), and nothing is reported hung.
func TestCallTimeoutOff(t *testing.T) {
	b, a := openBlocking(t, "call-timeout=off")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	before := workersStarted.Load()
	sign(t, s, []byte("m"), crypto.SHA256)
	entered := a.arm("SignInit")
	go func() { <-entered; time.Sleep(300 * time.Millisecond); a.release() }()
	took, err := timed(5*time.Second, func() error { return signOnce(s) })
	if err != nil || took < 300*time.Millisecond {
		t.Errorf("Sign with call-timeout=off and a call stuck for 300ms: %v after %v, want a signature after the call returned", err, took)
	}
	if n := workersStarted.Load() - before; n != 0 {
		t.Errorf("%d worker goroutines started with call-timeout=off", n)
	}
}
