//go:build cgo && !nopkcs11

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; a CKA_ALWAYS_AUTHENTICATE key must log in for it too

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// pinCounter is a PIN callback that counts its calls and remembers the
// slices it handed out, to check that the backend zeroes them.
type pinCounter struct {
	mu     sync.Mutex
	pin    string
	calls  int
	handed [][]byte
}

func (p *pinCounter) get(context.Context) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	b := []byte(p.pin)
	p.handed = append(p.handed, b)
	return b, nil
}

func (p *pinCounter) count() int { p.mu.Lock(); defer p.mu.Unlock(); return p.calls }

// allZeroed reports whether every slice handed out is zeroed now.
func (p *pinCounter) allZeroed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.handed {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
	}
	return true
}

// openWithPINFunc opens the shared token with the PIN from f only (no
// pin-value, no pin-source).
func openWithPINFunc(t *testing.T, f backend.SecretFunc) (*Backend, error) {
	t.Helper()
	tok := token(t)
	c, err := ParseURI("pkcs11:token=" + tok.Label + "?module-path=" + tok.Module)
	if err != nil {
		t.Fatal(err)
	}
	c.PIN = f
	b, err := OpenConfig(t.Context(), c)
	if err == nil {
		t.Cleanup(func() { b.Close() })
	}
	return b, err
}

// TestAlwaysAuthenticate signs and decrypts with keys that pkcs11-tool
// made with --always-auth (CKA_ALWAYS_AUTHENTICATE true): each operation
// calls the PIN callback once and logs in with CKU_CONTEXT_SPECIFIC
// between C_SignInit/C_DecryptInit and C_Sign/C_Decrypt. A wrong PIN from
// the callback is ErrAuthentication, and the session it failed on is
// usable afterwards.
func TestAlwaysAuthenticate(t *testing.T) {
	tok := token(t)
	tool := testenv.Command(t, "pkcs11-tool", "opensc")
	gen := func(label, id, keyType, usage string) {
		testenv.Run(t, tool, "--module", tok.Module, "--token-label", tok.Label, "--login", "--pin", tok.PIN,
			"--keypairgen", "--key-type", keyType, "--label", label, "--id", id, "--always-auth", usage)
	}
	gen("always-ec", "a1a1", "EC:prime256v1", "--usage-sign")
	gen("always-rsa", "a2a2", "rsa:2048", "--usage-decrypt")

	right := &pinCounter{pin: tok.PIN}
	b, err := openWithPINFunc(t, right.get)
	if err != nil {
		t.Fatalf("OpenConfig with a PIN callback: %v", err)
	}
	s, err := b.Signer(t.Context(), "always-ec")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("each signature asks for the PIN"))
	for i := range 3 {
		before := right.count()
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("Sign %d with a CKA_ALWAYS_AUTHENTICATE key: %v", i, err)
		}
		if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
			t.Fatalf("Sign %d: signature does not verify", i)
		}
		if n := right.count() - before; n != 1 {
			t.Errorf("Sign %d called the PIN callback %d times, want 1 (one CKU_CONTEXT_SPECIFIC login per signature)", i, n)
		}
	}

	// Concurrently, on several sessions: each signature logs in on its
	// own session for its own operation.
	before := right.count()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil {
					t.Error(err)
					return
				}
				if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
					t.Error("concurrent signature does not verify")
				}
			}
		})
	}
	wg.Wait()
	if n := right.count() - before; n != 20 {
		t.Errorf("20 concurrent signatures called the PIN callback %d times, want 20", n)
	}

	d, err := b.Decrypter(t.Context(), "always-rsa")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("decrypted after a context-specific login")
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, d.Public().(*rsa.PublicKey), msg)
	if err != nil {
		t.Fatal(err)
	}
	before = right.count()
	pt, err := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{})
	if err != nil || string(pt) != string(msg) {
		t.Fatalf("Decrypt with a CKA_ALWAYS_AUTHENTICATE key = %q, %v", pt, err)
	}
	if n := right.count() - before; n != 1 {
		t.Errorf("Decrypt called the PIN callback %d times, want 1", n)
	}
	if !right.allZeroed() {
		t.Error("a PIN slice handed to the backend was not zeroed after C_Login")
	}

	// The token is logged in (b): a second backend on it needs no
	// CKU_USER login, so its first PIN call is the context-specific one.
	wrong := &pinCounter{pin: "0000"}
	bw, err := openWithPINFunc(t, wrong.get)
	if err != nil {
		t.Fatalf("second OpenConfig: %v", err)
	}
	sw, err := bw.Signer(t.Context(), "always-ec")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // twice: the failed login left no operation active on the session
		_, err = sw.Sign(rand.Reader, digest[:], crypto.SHA256)
		if !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
			t.Fatalf("Sign %d with a wrong PIN from the callback = %v, want ErrAuthentication (CKR_PIN_INCORRECT)", i, err)
		}
		if strings.Contains(err.Error(), "0000") {
			t.Fatalf("error shows the PIN: %v", err)
		}
	}
	if n := wrong.count(); n != 2 {
		t.Errorf("wrong PIN callback called %d times, want 2 (never retried within one Sign)", n)
	}
	if st := bw.Stats(); st.Open > 1 {
		t.Errorf("after two failed context logins the pool has %d sessions, want the one session reused", st.Open)
	}
	// And the right PIN still works on the same key afterwards.
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatalf("Sign after the failed ones: %v", err)
	}
}

// TestPINCallbackLogin opens the "pinless" token (nobody in this process
// logs in to it) with PINs from callbacks only: a wrong PIN is
// ErrAuthentication at OpenConfig after exactly one callback and one
// C_Login, the PIN slice is zeroed, and a callback that fails (a secret
// manager that is down) fails the open with its error, without sending
// anything to the token and without the backend remembering it as a
// wrong PIN.
func TestPINCallbackLogin(t *testing.T) {
	tok := token(t)
	c, err := ParseURI("pkcs11:token=" + otherToken + "?module-path=" + tok.Module)
	if err != nil {
		t.Fatal(err)
	}
	wrong := &pinCounter{pin: "1357"}
	c.PIN = wrong.get
	var spy *spyAPI
	_, err = openParsed(t.Context(), c, func(p pkcs11API) pkcs11API { spy = newSpy(p); return spy })
	if !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") || strings.Contains(err.Error(), "1357") {
		t.Fatalf("OpenConfig with a wrong PIN from the callback = %v, want ErrAuthentication (CKR_PIN_INCORRECT), without the PIN", err)
	}
	if n := wrong.count(); n != 1 {
		t.Errorf("PIN callback called %d times, want 1", n)
	}
	if n := spy.snapshot()["Login"]; n != 1 {
		t.Errorf("C_Login called %d times, want 1", n)
	}
	if !wrong.allZeroed() {
		t.Error("the PIN slice was not zeroed after C_Login")
	}

	down := errors.New("secret manager unreachable")
	c.PIN = func(context.Context) ([]byte, error) { return nil, down }
	_, err = openParsed(t.Context(), c, func(p pkcs11API) pkcs11API { spy = newSpy(p); return spy })
	if !errors.Is(err, down) {
		t.Fatalf("OpenConfig with a failing callback = %v, want its error", err)
	}
	if n := spy.snapshot()["Login"]; n != 0 {
		t.Errorf("C_Login called %d times with no PIN to send, want 0", n)
	}
}
