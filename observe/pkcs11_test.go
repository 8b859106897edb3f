//go:build cgo && !nopkcs11

package observe_test

import (
	"context"
	"crypto"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/internal/trustedkey"
	"github.com/keyplane/keyplane/observe"
)

// tapPKCS11 is a tap over a pkcs11 backend, keeping the optional
// interfaces observe reads (the session pool, Health).
type tapPKCS11 struct{ *tap }

func (t tapPKCS11) SessionPoolStats() backend.SessionPoolStats {
	return t.Backend.(backend.SessionPoolReporter).SessionPoolStats()
}

func (t tapPKCS11) Health(ctx context.Context) error {
	return t.Backend.(interface{ Health(context.Context) error }).Health(ctx)
}

// TestConformancePKCS11 runs the conformance suite over observe.Wrap of a
// SoftHSM2 token's pkcs11 backend, opened with a pin-value URI, and checks
// the observations as for software:memory, the redacted backend name and
// the session-pool gauges.
func TestConformancePKCS11(t *testing.T) {
	tok := testenv.SoftHSMToken(t, "observe")
	uri := "pkcs11:token=" + tok.Label + "?module-path=" + tok.Module + "&pin-value=" + tok.PIN
	redacted := backend.Redact(uri)
	if !strings.Contains(redacted, "REDACTED") || strings.Contains(redacted, "pin-value="+tok.PIN) {
		t.Fatalf("backend.Redact(%q) = %q", uri, redacted)
	}
	h := newHarness(t, uri)
	// The SO's trusted wrapping key, before anything logs in as the user
	// (the wrap/round-trip checks).
	wrapping, unwrapping, err := trustedkey.Make(t.Context(), uri, trustedkey.StaticPIN(tok.SOPIN), "observe-kek")
	if err != nil {
		t.Fatalf("the trusted wrapping key: %v", err)
	}
	var taps []*tap
	var last backend.Backend
	t.Run("suite", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) backend.Backend {
			b, err := pkcs11.Open(t.Context(), uri)
			if err != nil {
				t.Fatal(err)
			}
			tp := &tap{Backend: b}
			taps = append(taps, tp)
			last = observe.Wrap(tapPKCS11{tp}, h.opts)
			return last
		}, conformance.Config{Short: true, Reopen: true, TrustedWrappingKey: wrapping, UnwrappingKey: unwrapping})
	})
	if t.Failed() {
		return
	}
	checkRun(t, h, taps, redacted, []string{
		"generate-key", "key", "keys", "delete-key", "import-key",
		"signer", "decrypter", "aead", "fernet",
		"sign", "decrypt", "seal", "open", "mac", "encrypt-cbc", "decrypt-cbc",
		"wrap-key", "unwrap-key",
	})
	if text := h.logText(); strings.Contains(text, "pin-value="+tok.PIN) {
		t.Error("the audit log holds the PIN")
	}
	if _, ok := last.(backend.Exporter); ok {
		t.Error("the wrapped pkcs11 backend claims to export keys")
	}
	if _, ok := last.(backend.SessionPoolReporter); !ok {
		t.Error("the wrapped pkcs11 backend hides its session pool")
	}
	// SoftHSM2 reads SOFTHSM2_CONF once per process: the same token.
	t.Run("gauges", func(t *testing.T) { testSessionPoolGauges(t, uri) })
}

// testSessionPoolGauges reads the session-pool gauges of a wrapped pkcs11
// backend while it is open: sessions the backend has opened show as open
// and idle, none waiting; after Close the gauges are gone.
func testSessionPoolGauges(t *testing.T, uri string) {
	h := newHarness(t, "")
	inner, err := pkcs11.Open(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	b := observe.Wrap(inner, h.opts)
	defer b.Close()
	for _, c := range []struct {
		name        string
		inner, wrap bool
	}{
		{"AEADBackend", is[backend.AEADBackend](inner), is[backend.AEADBackend](b)},
		{"FernetBackend", is[backend.FernetBackend](inner), is[backend.FernetBackend](b)},
		{"Importer", is[backend.Importer](inner), is[backend.Importer](b)},
		{"Exporter", is[backend.Exporter](inner), is[backend.Exporter](b)},
		{"SessionPoolReporter", is[backend.SessionPoolReporter](inner), is[backend.SessionPoolReporter](b)},
		{"Health", is[interface{ Health(context.Context) error }](inner), is[interface{ Health(context.Context) error }](b)},
	} {
		if c.inner != c.wrap {
			t.Errorf("%s: the pkcs11 backend %v, wrapped %v", c.name, c.inner, c.wrap)
		}
	}
	if hc, ok := b.(interface{ Health(context.Context) error }); ok {
		if err := hc.Health(t.Context()); err != nil {
			t.Errorf("Health of the wrapped pkcs11 backend: %v", err)
		}
	}
	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "gauges", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(t.Context(), k.Label)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(nil, make([]byte, 32), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	want := inner.SessionPoolStats()
	if want.Open == 0 {
		t.Fatalf("the pool reports no open session after a signature: %+v", want)
	}
	rm := h.collect(t)
	for name, w := range map[string]int{
		observe.MetricSessionsOpen:    want.Open,
		observe.MetricSessionsIdle:    want.Idle,
		observe.MetricSessionsWaiting: want.Waiting,
	} {
		got, ok := gauge(rm, name)
		if !ok {
			t.Errorf("no %s gauge", name)
		} else if got != int64(w) {
			t.Errorf("%s = %d, want %d (the pool's SessionPoolStats)", name, got, w)
		}
	}
	if cnt := counts(t, rm); cnt[opKey{"pkcs11", "ecdsa-sha256", "sign", "ok"}] != 1 {
		t.Errorf("ecdsa-sha256 signatures counted under backend \"pkcs11\": %v", cnt)
	}
	if err := b.DeleteKey(t.Context(), k.Label); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := gauge(h.collect(t), observe.MetricSessionsOpen); ok {
		t.Error("the session gauge is still reported after Close")
	}
}
