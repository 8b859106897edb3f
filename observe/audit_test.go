package observe_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/observe"
)

// TestAuditRecord signs once and decrypts a tampered ciphertext once, and
// checks each audit record field by field, and that the digest, the
// signature and the ciphertext are in none.
func TestAuditRecord(t *testing.T) {
	h := newHarness(t, "software:memory?passphrase=hunter2-secret")
	ks, err := software.Open(t.Context(), "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{Backend: ks}
	b := observe.Wrap(tapExporter{tp}, h.opts)
	defer b.Close()
	for _, iface := range []struct {
		name string
		ok   bool
	}{
		{"AEADBackend", is[backend.AEADBackend](b)},
		{"FernetBackend", is[backend.FernetBackend](b)},
		{"Importer", is[backend.Importer](b)},
		{"Exporter", is[backend.Exporter](b)},
		{"not SessionPoolReporter", !is[backend.SessionPoolReporter](b)},
	} {
		if !iface.ok {
			t.Errorf("the wrapped software backend: %s is wrong", iface.name)
		}
	}

	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "audit-rsa", Algorithm: backend.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(t.Context(), "audit-rsa")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("a message whose digest must not be logged"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	d, err := b.Decrypter(t.Context(), "id:"+k.IDHex())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, d.Public().(*rsa.PublicKey), []byte("plaintext-never-logged"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := d.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); !errors.Is(err, backend.ErrDecryption) {
		t.Fatalf("tampered OAEP ciphertext: %v", err)
	}
	if _, err := b.Signer(t.Context(), "no-such-key"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Signer of a missing key: %v", err)
	}

	recs := h.records(t)
	wantBackend := "software:memory?passphrase=REDACTED"
	want := []map[string]string{
		{"method": "generate-key", "operation": "generate-key", "outcome": "ok", "key_label": "audit-rsa", "key_id": k.IDHex()},
		{"method": "signer", "operation": "signer", "outcome": "ok", "key_label": "audit-rsa", "key_id": k.IDHex()},
		{"method": "sign", "operation": "rsa-pkcs1v15-sha256", "outcome": "ok", "key_label": "audit-rsa", "key_id": k.IDHex()},
		{"method": "decrypter", "operation": "decrypter", "outcome": "ok", "key_label": "audit-rsa", "key_id": k.IDHex()},
		{"method": "decrypt", "operation": "rsa-oaep-sha256", "outcome": "decryption-failed", "key_label": "audit-rsa", "key_id": k.IDHex()},
		{"method": "signer", "operation": "signer", "outcome": "not-found", "key_label": "no-such-key"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d audit records, want %d:\n%s", len(recs), len(want), h.logText())
	}
	for i, r := range recs {
		w := maps.Clone(want[i])
		w["backend"] = wantBackend
		w["msg"] = observe.AuditMessage
		w["level"] = "INFO"
		fields := slices.Sorted(maps.Keys(r))
		wantFields := append(slices.Sorted(maps.Keys(w)), "duration", "time")
		slices.Sort(wantFields)
		if !slices.Equal(fields, wantFields) {
			t.Errorf("record %d has fields %v, want %v", i, fields, wantFields)
		}
		for f, v := range w {
			if r[f] != v {
				t.Errorf("record %d: %s = %v, want %q", i, f, r[f], v)
			}
		}
		if d, ok := r["duration"].(float64); !ok || d <= 0 {
			t.Errorf("record %d: duration %v, want a positive number of nanoseconds", i, r["duration"])
		}
	}
	for _, secret := range [][]byte{digest[:], ct, []byte("hunter2-secret")} {
		for _, form := range []string{string(secret), hex.EncodeToString(secret)} {
			if strings.Contains(h.logText(), form) {
				t.Errorf("the audit log holds %q", form)
			}
		}
	}
	tp.checkAbsent(t, "the audit log", h.logText(), nil)
	if tp.count() < 3 {
		t.Errorf("the tap kept %d byte strings, want the digest, the signature and the ciphertext at least", tp.count())
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }
