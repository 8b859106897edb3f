package plugins_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/plugins"
)

// newECSigner makes an ec-p256 key labelled label in b and returns its
// signer.
func newECSigner(t *testing.T, b backend.Backend, label string) crypto.Signer {
	t.Helper()
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPlugin(t *testing.T, uri string, opts plugins.Options) (backend.Backend, *plugins.Plugin) {
	t.Helper()
	b, err := plugins.Open(t.Context(), uri, opts)
	if err != nil {
		t.Fatalf("plugins.Open(%q): %v", backend.Redact(uri), err)
	}
	t.Cleanup(func() { b.Close() })
	p, ok := plugins.AsPlugin(b)
	if !ok {
		t.Fatalf("plugins.Open returned %T, not a plugin", b)
	}
	return b, p
}

// TestKillDuringSigning kills the plugin with SIGKILL under a concurrent
// signing load on a persistent keystore: every call returns a signature
// that verifies or ErrUnavailable, promptly; signing works again after it
// on a fresh child; no process is left behind.
func TestKillDuringSigning(t *testing.T) {
	killDuringSigning(t, "plugin+software:"+t.TempDir())
}

// TestKillDuringSigningPKCS11 is the same with the PKCS#11 backend on a
// SoftHSM2 token: the case plugins exist for.
func TestKillDuringSigningPKCS11(t *testing.T) {
	tok := testenv.SoftHSMToken(t, "plugin-crash")
	killDuringSigning(t, "plugin+"+tok.URI(t))
}

func killDuringSigning(t *testing.T, uri string) {
	b, p := openPlugin(t, uri, plugins.Options{})
	signer := newECSigner(t, b, "crash")
	pub := signer.Public().(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("signed while the plugin dies"))
	first := p.PID()
	if first == 0 || !procAlive(first) {
		t.Fatalf("plugin PID %d is not a live process", first)
	}

	const workers = 8
	var (
		killedAt      atomic.Int64 // unix nanos
		ok, unavail   atomic.Int64
		okAfterKill   atomic.Int64
		slowestFailNs atomic.Int64
		wg            sync.WaitGroup
		errMu         sync.Mutex
		unexpected    []error
	)
	stop := time.Now().Add(2 * time.Second)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				start := time.Now()
				sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
				switch {
				case err == nil:
					if !ecdsa.VerifyASN1(pub, digest[:], sig) {
						errMu.Lock()
						unexpected = append(unexpected, errors.New("a returned signature does not verify"))
						errMu.Unlock()
						return
					}
					ok.Add(1)
					if k := killedAt.Load(); k != 0 && start.UnixNano() > k {
						okAfterKill.Add(1)
					}
				case errors.Is(err, backend.ErrUnavailable):
					unavail.Add(1)
					d := int64(time.Since(start))
					for {
						cur := slowestFailNs.Load()
						if d <= cur || slowestFailNs.CompareAndSwap(cur, d) {
							break
						}
					}
				default:
					errMu.Lock()
					unexpected = append(unexpected, err)
					errMu.Unlock()
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	killedAt.Store(time.Now().UnixNano())
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range unexpected {
		t.Errorf("signing under a crash: %v (want a verifying signature or ErrUnavailable)", err)
	}
	t.Logf("signatures: %d (%d after the kill), ErrUnavailable: %d, slowest failure %v",
		ok.Load(), okAfterKill.Load(), unavail.Load(), time.Duration(slowestFailNs.Load()))
	if okAfterKill.Load() == 0 {
		t.Errorf("no signature succeeded after the kill")
	}
	if d := time.Duration(slowestFailNs.Load()); d > 2*time.Second {
		t.Errorf("a failed call took %v; calls in flight must fail promptly", d)
	}

	// After it: signing works, on a new process.
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatalf("signing after the restart: err=%v", err)
	}
	second := p.PID()
	if second == 0 || second == first {
		t.Fatalf("plugin PID after the kill = %d, first was %d: want a new process", second, first)
	}
	// The killed child is reaped (no zombie); only the new one is left.
	waitChildren(t, second)

	// Close stops it; later calls are ErrClosed; Close again is fine.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitChildren(t)
	if _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Sign after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Keys(context.Background()); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Keys after Close: %v, want ErrClosed", err)
	}
}

// TestRestartMemoryLosesKeys documents that a memory backend in a plugin
// starts empty after a crash: the restart works, the keys are gone.
func TestRestartMemoryLosesKeys(t *testing.T) {
	ctx := t.Context()
	b, p := openPlugin(t, "plugin+software:memory", plugins.Options{})
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "lost", Algorithm: backend.Ed25519}); err != nil {
		t.Fatal(err)
	}
	pid := p.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The first call after the death may race with its discovery; it either
	// fails with ErrUnavailable or already runs on the new child.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := b.Key(ctx, "lost")
		if errors.Is(err, backend.ErrNotFound) {
			break
		}
		if !errors.Is(err, backend.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Key after a crash of a memory plugin: %v, want ErrNotFound (after at most ErrUnavailable)", err)
		}
	}
	if p.PID() == pid || p.PID() == 0 {
		t.Fatalf("no new plugin process after the crash")
	}
	waitChildren(t, p.PID())
}
