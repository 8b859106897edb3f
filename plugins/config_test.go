package plugins_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/plugins"
)

// secretCounter is a secret callback that counts its calls.
type secretCounter struct {
	mu     sync.Mutex
	secret string
	calls  int
}

func (c *secretCounter) get(context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return []byte(c.secret), nil
}

func (c *secretCounter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }

// openConfig opens uri with the secret callbacks set.
func openConfig(t *testing.T, uri string, pin, pass backend.SecretFunc) (backend.Backend, error) {
	t.Helper()
	c, err := plugins.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	c.PIN, c.Passphrase = pin, pass
	b, err := plugins.OpenConfig(t.Context(), c)
	if err == nil {
		t.Cleanup(func() { b.Close() })
	}
	return b, err
}

// checkChildHolds fails t if the child's environment or command line holds
// secret.
func checkChildHolds(t *testing.T, b backend.Backend, secret string) {
	t.Helper()
	p, ok := plugins.AsPlugin(b)
	if !ok {
		t.Fatalf("%T is not a plugin", b)
	}
	for _, f := range []string{"environ", "cmdline"} {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID()) + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the plugin's %s holds the secret", f)
		}
	}
}

// TestPINCallbackThroughPlugin opens plugin+pkcs11: on a fresh SoftHSM2
// token with the PIN from a callback only: the host calls it, the child
// logs in with it (keys are generated and sign), the PIN is in neither the
// child's environment nor its command line, a restarted child gets it
// again from the callback, and a wrong PIN from the callback is
// ErrAuthentication.
func TestPINCallbackThroughPlugin(t *testing.T) {
	tok := testenv.SoftHSMToken(t, "plugin-pin-callback")
	uri := "plugin+pkcs11:token=" + tok.Label + "?module-path=" + tok.Module
	right := &secretCounter{secret: tok.PIN}
	b, err := openConfig(t, uri, right.get, nil)
	if err != nil {
		t.Fatalf("OpenConfig with a PIN callback: %v", err)
	}
	if right.count() != 1 {
		t.Errorf("PIN callback called %d times at open, want 1", right.count())
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatalf("GenerateKey (needs the login): %v", err)
	}
	checkChildHolds(t, b, tok.PIN)
	p, _ := plugins.AsPlugin(b)
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var s crypto.Signer
	for range 100 {
		if s, err = b.Signer(t.Context(), "k"); !errors.Is(err, backend.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		t.Fatalf("Signer after the child was killed: %v", err)
	}
	d := sha256.Sum256([]byte("PIN from a callback, through a plugin"))
	sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("Sign after restart: %v (or the signature does not verify)", err)
	}
	if right.count() != 2 {
		t.Errorf("PIN callback called %d times after one restart, want 2 (once per child)", right.count())
	}

	wrong := &secretCounter{secret: "0000"}
	_, err = openConfig(t, uri, wrong.get, nil)
	if !errors.Is(err, backend.ErrAuthentication) || strings.Contains(err.Error(), "0000") {
		t.Fatalf("OpenConfig with a wrong PIN from the callback = %v, want ErrAuthentication without the PIN", err)
	}
	if wrong.count() != 1 {
		t.Errorf("wrong PIN callback called %d times, want 1", wrong.count())
	}
}

// TestPassphraseCallbackThroughPlugin opens plugin+software:<dir> with the
// passphrase from a callback: the keys the child writes are encrypted
// with it (the same directory opened in process with it works, with
// another does not), and the passphrase never reaches the child's
// environment or command line.
func TestPassphraseCallbackThroughPlugin(t *testing.T) {
	const pass = "plugin-passphrase-from-code-5e1f"
	dir := t.TempDir()
	c := &secretCounter{secret: pass}
	b, err := openConfig(t, "plugin+software:"+dir, nil, c.get)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.Ed25519}); err != nil {
		t.Fatal(err)
	}
	checkChildHolds(t, b, pass)
	b.Close()
	if c.count() != 1 {
		t.Errorf("passphrase callback called %d times, want 1", c.count())
	}
	inProcess := func(p string) error {
		ks, err := backend.Open(t.Context(), "software:"+dir+"?passphrase-source=file:"+writeFile(t, p))
		if err != nil {
			return err
		}
		defer ks.Close()
		_, err = ks.Signer(t.Context(), "k")
		return err
	}
	if err := inProcess(pass); err != nil {
		t.Errorf("the keystore written through the plugin does not open with the callback's passphrase: %v", err)
	}
	if err := inProcess("another"); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("with another passphrase: %v, want ErrAuthentication (the keys must be encrypted)", err)
	}

	// A plugin built on ServeOpen takes no secrets: refused, not ignored.
	_, err = openConfig(t, "plugin:"+exampleExe+"?sha256="+exampleSum, nil, c.get)
	if !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("a passphrase for a ServeOpen plugin: %v, want ErrUnsupported", err)
	}
	// And keyplane-plugin refuses a secret its backend cannot take.
	if _, err := openConfig(t, "plugin+software:memory", c.get, nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("a PIN for software:memory: %v, want ErrInvalidInput", err)
	}
}

// TestConfigFormatHidesSecrets: no fmt verb shows a pin-value of the URI.
func TestConfigFormatHidesSecrets(t *testing.T) {
	c, err := plugins.ParseURI("plugin+pkcs11:token=t?module-path=/m.so&pin-value=60606")
	if err != nil {
		t.Fatal(err)
	}
	c.PIN = backend.NewStaticSecret([]byte("60606")).Secret
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		for _, v := range []any{c, *c} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "60606") || strings.Contains(out, fmt.Sprintf("%x", "60606")) {
				t.Errorf("Sprintf(%s, %T) = %s: shows the PIN", verb, v, out)
			}
		}
	}
}

// writeFile writes content to a 0600 file and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := t.TempDir() + "/secret"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
