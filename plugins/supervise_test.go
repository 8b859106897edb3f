package plugins_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/plugins"
)

// superviseSlack is how much later than its bound a call or a replacement
// may come on a loaded 2-core machine (under -race).
const superviseSlack = 1500 * time.Millisecond

// faultyPlugin opens the test plugin (testplugin_test.go) on a fresh
// keystore with fault files hang, unavailable and slow-health in a
// temporary directory, makes an EC key and returns a signer for it.
func faultyPlugin(t *testing.T, opts plugins.Options) (faults string, p *plugins.Plugin, s crypto.Signer) {
	t.Helper()
	faults = t.TempDir()
	uri := "plugin:" + testExe + "?dir=" + t.TempDir() +
		"&hang=" + filepath.Join(faults, "hang") +
		"&unavailable=" + filepath.Join(faults, "unavailable") +
		"&slow-health=" + filepath.Join(faults, "slow-health")
	b, p := openPlugin(t, uri, opts)
	s = newECSigner(t, b, "k")
	mustSign(t, s)
	return faults, p, s
}

func mustSign(t *testing.T, s crypto.Signer) {
	t.Helper()
	if err := signOnce(s); err != nil {
		t.Fatal(err)
	}
}

// signOnce signs and verifies.
func signOnce(s crypto.Signer) error {
	digest := sha256.Sum256([]byte("supervised"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return err
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
		return errors.New("a signature that does not verify")
	}
	return nil
}

func fault(t *testing.T, faults, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(faults, name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// signUntilReplaced signs until a signature succeeds on a child other than
// first, within limit; every failure on the way must be ErrUnavailable.
// It returns how long that took.
func signUntilReplaced(t *testing.T, p *plugins.Plugin, s crypto.Signer, first int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < limit {
		err := signOnce(s)
		if err == nil && p.PID() != first && p.PID() != 0 {
			took := time.Since(start)
			if procAlive(first) {
				t.Errorf("the replaced child %d is still alive", first)
			}
			waitChildren(t, p.PID())
			return took
		}
		if err != nil && !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("signing while the child is replaced: %v, want ErrUnavailable or a signature", err)
		}
		if err != nil {
			last = err
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no signature from a new child within %v (child %d, now %d; last error: %v)", limit, first, p.PID(), last)
	return 0
}

// TestHungSignReplacesChild: a Sign that never returns in the child (a
// wedged module) ends at the host's deadline with ErrUnavailable for every
// caller in flight; the child is killed and replaced, and the next
// signature, with the same signer, comes from the new child.
func TestHungSignReplacesChild(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts plugins.Options
	}{
		{"direct", plugins.Options{}},
		{"grpc", plugins.Options{NoDirect: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const deadline = time.Second
			tc.opts.CallTimeout = deadline
			faults, p, s := faultyPlugin(t, tc.opts)
			first := p.PID()
			fault(t, faults, "hang")
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					start := time.Now()
					err := signOnce(s)
					took := time.Since(start)
					if !errors.Is(err, backend.ErrUnavailable) {
						t.Errorf("Sign on a hung child: %v, want ErrUnavailable", err)
					}
					if took > deadline+superviseSlack {
						t.Errorf("Sign on a hung child returned after %v; the deadline is %v", took, deadline)
					}
				})
			}
			wg.Wait()
			took := signUntilReplaced(t, p, s, first, 2*deadline+superviseSlack)
			t.Logf("signing again %v after the hung calls returned", took)
		})
	}
}

// TestWedgedChildReplaced: a child whose backend fails every call at once
// with ErrUnavailable and reports itself wedged (what a plugin+pkcs11:
// child does once its module is stuck) is replaced; a host that restarts
// children only on transport errors keeps it for ever.
func TestWedgedChildReplaced(t *testing.T) {
	faults, p, s := faultyPlugin(t, plugins.Options{})
	first := p.PID()
	fault(t, faults, "unavailable")
	took := signUntilReplaced(t, p, s, first, 5*time.Second)
	t.Logf("replaced the wedged child after %v", took)
}

// TestSlowHealthReplaced: a child that stops answering the health check
// in time is replaced, even while its signing still works.
func TestSlowHealthReplaced(t *testing.T) {
	faults, p, s := faultyPlugin(t, plugins.Options{})
	first := p.PID()
	fault(t, faults, "slow-health")
	took := signUntilReplaced(t, p, s, first, 5*time.Second+superviseSlack)
	t.Logf("replaced the child with a hung health check after %v", took)
}

// TestStoppedChildReplaced: a child stopped with SIGSTOP answers nothing;
// it is killed (SIGKILL ends a stopped process) and replaced.
func TestStoppedChildReplaced(t *testing.T) {
	_, p, s := faultyPlugin(t, plugins.Options{CallTimeout: time.Second})
	first := p.PID()
	if err := syscall.Kill(first, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(first, syscall.SIGKILL) })
	took := signUntilReplaced(t, p, s, first, 5*time.Second+superviseSlack)
	t.Logf("replaced the stopped child after %v", took)
}

// TestWrongPINNotRetried: a restart whose backend refuses the PIN (the PIN
// file changed under a running host) is not tried again by later calls:
// each new child would send the wrong PIN again, and a real token locks
// after a few. Every later call returns the ErrAuthentication, and no
// further child is started.
func TestWrongPINNotRetried(t *testing.T) {
	tok := testenv.SoftHSMToken(t, "plugin-wrong-pin")
	pinFile := tok.PINFile(t)
	uri := fmt.Sprintf("plugin+pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, tok.Module, pinFile)
	b, p := openPlugin(t, uri, plugins.Options{})
	if _, err := b.Keys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pinFile, []byte("9999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for {
		_, err = b.Keys(t.Context())
		if !errors.Is(err, backend.ErrUnavailable) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, backend.ErrAuthentication) {
		t.Fatalf("Keys after a restart with a wrong PIN: %v, want ErrAuthentication", err)
	}
	waitChildren(t) // the refused child is gone
	// Even with the right PIN back, the host does not start children
	// again: reopen the backend.
	if err := os.WriteFile(pinFile, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := b.Keys(t.Context()); !errors.Is(err, backend.ErrAuthentication) {
			t.Fatalf("Keys after a refused restart: %v, want the same ErrAuthentication", err)
		}
	}
	if p.PID() != 0 {
		t.Errorf("a child %d was started after the PIN was refused", p.PID())
	}
	waitChildren(t)
}

// TestRestartBackoff: while every new child fails to open its backend
// with ErrUnavailable (a token that is away), a caller signing in a tight
// loop gets ErrUnavailable at once, never later than its deadline, and the
// host starts children at a falling rate (50 ms doubling to 1 s between
// them), not once per call; once the token is back, signing resumes
// within the longest wait plus a start.
func TestRestartBackoff(t *testing.T) {
	faults := t.TempDir()
	down, starts := filepath.Join(faults, "down"), filepath.Join(faults, "starts")
	uri := "plugin:" + testExe + "?dir=" + t.TempDir() + "&down=" + down + "&starts=" + starts
	const deadline = time.Second
	b, p := openPlugin(t, uri, plugins.Options{CallTimeout: deadline})
	s := newECSigner(t, b, "k")
	mustSign(t, s)
	fault(t, faults, "down")
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	const window = 3 * time.Second
	calls := 0
	for start := time.Now(); time.Since(start) < window; calls++ {
		t0 := time.Now()
		err := signOnce(s)
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("Sign while the token is away: %v, want ErrUnavailable", err)
		}
		if took := time.Since(t0); took > deadline+superviseSlack {
			t.Fatalf("Sign while the token is away took %v; the deadline is %v", took, deadline)
		}
	}
	log, _ := os.ReadFile(starts)
	n := bytes.Count(log, []byte("\n")) - 1 // the first, healthy start
	// 50+100+200+400+800+1000 ms fill 2.55 s: about 7 starts in 3 s.
	t.Logf("%d calls in %v while the token was away: %d child starts", calls, window, n)
	if n < 2 || n > 10 {
		t.Errorf("%d child starts in %v while the token was away, want 2..10 (backoff between them)", n, window)
	}
	if err := os.Remove(down); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	took := signUntilReplaced(t, p, s, 0, maxRestart+deadline+superviseSlack)
	t.Logf("signing again %v after the token's return (%v)", took, time.Since(back))
}

// maxRestart is the longest wait between two starts (restartBackoff).
const maxRestart = time.Second
