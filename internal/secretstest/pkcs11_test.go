package secretstest

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/internal/testenv"
)

// runs numbers the runs of the test in this process (-count), so that key
// labels on the shared SoftHSM2 tokens are fresh in each.
var runs atomic.Int64

// pkcs11Token returns the SoftHSM2 set-up; it skips (fails under
// KEYPLANE_REQUIRE_TOOLS) when SoftHSM2 is missing or in a build without
// cgo, whose pkcs11 backend is a stub.
func pkcs11Token(t *testing.T) *hsm {
	t.Helper()
	if !haveCgo {
		testenv.Missing(t, "PKCS#11 support (a cgo build)", "build with CGO_ENABLED=1 and a C compiler")
	}
	return softHSM(t)
}

// openPKCS11 opens uri and checks the backend's printed forms, its
// capabilities and its URI.
func openPKCS11(t *testing.T, chk *checker, where, uri string) backend.Backend {
	t.Helper()
	b, err := backend.Open(t.Context(), uri)
	chk.ok(t, where+": Open", err)
	t.Cleanup(func() { b.Close() })
	chk.value(t, where+" backend", b)
	chk.caps(t, where, b)
	if pb, ok := b.(interface{ URI() *pkcs11.URI }); ok {
		chk.text(t, kindString, where+" Backend.URI().String", pb.URI().String())
		chk.value(t, where+" Backend.URI()", pb.URI())
	} else {
		t.Errorf("%s: %T has no URI method to check", where, b)
	}
	return b
}

// testPKCS11 runs the pkcs11 backend on a SoftHSM2 token whose user PIN is
// pin, given by pin-value= and by pin-source=file:.
func testPKCS11(t *testing.T, chk *checker) {
	h := pkcs11Token(t)
	label := "sig-" + strconv.FormatInt(runs.Add(1), 10)
	valueURI := h.uri(secretsToken, "pin-value="+pin)

	t.Run("URI String", func(t *testing.T) {
		for _, s := range []string{
			valueURI,
			h.uri(secretsToken, "pin-value="+percentAll([]byte(pin))),
			"pkcs11:token=" + secretsToken + ";object=k;type=private?pin-value=" + pin,
		} {
			u, err := pkcs11.ParseURI(s)
			chk.ok(t, "pkcs11.ParseURI", err)
			if u.PINValue != pin {
				t.Fatalf("ParseURI read pin-value %q, want the PIN", chk.redact(u.PINValue))
			}
			chk.text(t, kindString, "pkcs11.URI.String", u.String())
			chk.value(t, "*pkcs11.URI", u)
			chk.value(t, "pkcs11.URI (not a pointer)", *u)
			chk.text(t, kindString, "backend.Redact", backend.Redact(s))
		}
	})

	t.Run("pin-value", func(t *testing.T) {
		b := openPKCS11(t, chk, "pin-value", valueURI)
		generate(t, chk, "pkcs11", b, label)
		signAndVerify(t, chk, "pkcs11", b, label)
		listKeys(t, chk, "pkcs11", b, label)
	})

	t.Run("pin-source", func(t *testing.T) {
		pf := writeSecret(t, "pin", pin, 0o600)
		b := openPKCS11(t, chk, "pin-source", h.uri(secretsToken, "pin-source=file:"+pf))
		signAndVerify(t, chk, "pkcs11 (pin-source)", b, label)
	})

	t.Run("wrong PIN", func(t *testing.T) {
		_, err := backend.Open(t.Context(), h.uri(secretsToken, "pin-value="+wrongPIN))
		chk.fails(t, "wrong pin-value", err, backend.ErrAuthentication)
		pf := writeSecret(t, "wrong-pin", wrongPIN, 0o600)
		_, err = backend.Open(t.Context(), h.uri(secretsToken, "pin-source=file:"+pf))
		chk.fails(t, "wrong PIN in pin-source", err, backend.ErrAuthentication)
		// The right PIN still works after the wrong ones (SoftHSM2 has no
		// lock-out), so the failures above were about the PIN alone.
		openPKCS11(t, chk, "right PIN after wrong ones", valueURI)
	})

	t.Run("missing key", func(t *testing.T) {
		b := openPKCS11(t, chk, "missing key", valueURI)
		missingKey(t, chk, "pkcs11", b)
		keyURIsWithPIN(t, chk, "pkcs11", b, label)
	})

	t.Run("dead token", func(t *testing.T) {
		notModule := filepath.Join(t.TempDir(), "not-a-module.so")
		if err := os.WriteFile(notModule, []byte("this is not a shared library\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := backend.Open(t.Context(), "pkcs11:token="+secretsToken+"?module-path="+notModule+"&pin-value="+pin)
		chk.fails(t, "module-path to a file that is not a module", err, backend.ErrUnavailable)
		_, err = backend.Open(t.Context(), "pkcs11:token="+secretsToken+"?module-path="+filepath.Join(t.TempDir(), "absent.so")+"&pin-value="+pin)
		chk.fails(t, "module-path to a missing file", err, backend.ErrUnavailable)
		_, err = backend.Open(t.Context(), h.uri("no-such-token", "pin-value="+pin))
		chk.fails(t, "unknown token label", err, backend.ErrUnavailable)

		// A token deleted from disk while it is open. SoftHSM2 reads its
		// tokens once per process, so the first run of the test does this;
		// later runs (-count) see the token already gone.
		doomedURI := h.uri(doomedToken, "pin-value="+pin)
		if _, err := os.Stat(h.doomedDir); err == nil {
			b := openPKCS11(t, chk, "doomed token", doomedURI)
			generate(t, chk, "doomed", b, "before")
			if err := os.RemoveAll(h.doomedDir); err != nil {
				t.Fatal(err)
			}
			_, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "after", Algorithm: backend.ECP256})
			if err == nil {
				t.Fatal("GenerateKey on a token deleted from disk succeeded")
			}
			chk.err(t, "GenerateKey on a deleted token", err)
			if backend.Kind(err) == nil {
				t.Errorf("GenerateKey on a deleted token: %q wraps no sentinel", chk.redact(err.Error()))
			}
			t.Logf("GenerateKey on a deleted token (%v): %v", backend.Kind(err), chk.redact(err.Error()))
			for where, f := range map[string]func() error{
				"Signer": func() error { _, err := b.Signer(t.Context(), "before"); return err },
				"Keys":   func() error { _, err := b.Keys(t.Context()); return err },
			} {
				// These may still be served from caches; when they fail,
				// the error must be clean and classified.
				if err := f(); err != nil {
					chk.err(t, where+" on a deleted token", err)
					if backend.Kind(err) == nil {
						t.Errorf("%s on a deleted token: %q wraps no sentinel", where, chk.redact(err.Error()))
					}
				}
			}
		} else {
			t.Logf("token %q was deleted by an earlier run of this process", doomedToken)
		}
		_, err = backend.Open(t.Context(), doomedURI)
		chk.fails(t, "Open on a token deleted from disk", err, backend.ErrUnavailable)
	})

	t.Run("PIN file", func(t *testing.T) {
		for _, perm := range []os.FileMode{0o644, 0o640, 0o660, 0o604} {
			pf := writeSecret(t, "loose-pin", pin, perm)
			_, err := backend.Open(t.Context(), h.uri(secretsToken, "pin-source=file:"+pf))
			chk.fails(t, "PIN file with loose permissions", err, backend.ErrInvalidInput)
		}
		_, err := backend.Open(t.Context(), h.uri(secretsToken, "pin-source=file:"+filepath.Join(t.TempDir(), "absent")))
		chk.fails(t, "missing PIN file", err, backend.ErrInvalidInput)
		// Malformed URIs holding the PIN.
		for where, s := range map[string]string{
			"pin-value and pin-source":      h.uri(secretsToken, "pin-value="+pin+"&pin-source=file:/x"),
			"bad percent-escape in the PIN": h.uri(secretsToken, "pin-value="+pin+"%zz"),
			"pin-value twice":               h.uri(secretsToken, "pin-value="+pin+"&pin-value="+wrongPIN),
			"pin-value in the path":         "pkcs11:token=" + secretsToken + ";pin-value=" + pin + "?module-path=" + h.module,
			"unknown attribute":             h.uri(secretsToken, "pin-value="+pin+"&colour=blue"),
			"not pkcs11":                    "pkcs12:token=t?pin-value=" + pin,
			"no scheme":                     "token=t?pin-value=" + pin,
		} {
			_, err := backend.Open(t.Context(), s)
			want := backend.ErrInvalidInput
			if where == "not pkcs11" {
				want = backend.ErrUnsupported
			}
			chk.fails(t, where, err, want)
			_, err = pkcs11.ParseURI(s)
			if err != nil {
				chk.err(t, "pkcs11.ParseURI: "+where, err)
			}
		}
	})
}

// keyURIsWithPIN uses PKCS#11 key URIs that carry a pin-value as key
// references, found and not.
func keyURIsWithPIN(t *testing.T, chk *checker, where string, b backend.Backend, label string) {
	t.Helper()
	signAndVerify(t, chk, where+" key URI with a PIN", b, "pkcs11:object="+label+";type=private?pin-value="+pin)
	for what, c := range map[string]struct {
		ref  string
		want error
	}{
		"no such object":  {"pkcs11:object=no-such-key;type=private?pin-value=" + pin, backend.ErrNotFound},
		"another token":   {"pkcs11:token=another;object=" + label + "?pin-value=" + pin, backend.ErrNotFound},
		"no object or id": {"pkcs11:type=private?pin-value=" + pin, backend.ErrInvalidInput},
		"malformed":       {"pkcs11:object=x?pin-value=" + pin + "%zz", backend.ErrInvalidInput},
	} {
		_, err := b.Signer(t.Context(), c.ref)
		chk.fails(t, where+": Signer, key URI with a PIN, "+what, err, c.want)
		_, err = b.Key(t.Context(), c.ref)
		chk.fails(t, where+": Key, key URI with a PIN, "+what, err, c.want)
	}
}
