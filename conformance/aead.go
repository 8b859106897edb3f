package conformance

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// AES-GCM as the contract lays it out: nonce ‖ ciphertext ‖ tag.
const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// aeadFor returns the AEAD of ref, or skips t (when skip) or reports why
// there is none.
func (s *suite) aeadFor(t tb, ref string, skip bool) backend.AEAD {
	t.Helper()
	ab, ok := s.backend().(backend.AEADBackend)
	switch {
	case !s.supports(backend.AES256GCM):
		if skip {
			t.Skipf("the backend does not report operation %s", backend.AES256GCM)
		}
		return nil
	case !ok:
		t.Fatalf("the backend reports %s but does not implement backend.AEADBackend", backend.AES256GCM)
	}
	aead, err := ab.AEAD(t.Context(), ref)
	if err != nil {
		t.Fatalf("AEAD(%q): %v", ref, err)
	}
	return aead
}

// checkAEADRoundTrip: Seal and Open agree, with and without associated
// data, on empty and long messages, in the documented layout (or, where
// the backend says its sealed messages are a service's format, no longer
// than Overhead allows); plaintext lengths outside the range the backend
// states are refused with ErrInvalidInput; an exported key opens the
// message with crypto/cipher.
func (s *suite) checkAEADRoundTrip(t tb) {
	sk := s.key(t, backend.AES256)
	aead := s.aeadFor(t, sk.label, true)
	service := s.caps.AEADServiceLayout()
	switch {
	case service:
		if aead.NonceSize() != 0 || aead.Overhead() <= 0 {
			t.Errorf("NonceSize %d, Overhead %d; want 0 and a positive bound for a service-formatted AEAD (Details[%q] = %q)",
				aead.NonceSize(), aead.Overhead(), backend.DetailAEADLayout, backend.AEADLayoutService)
		}
	case aead.NonceSize() != gcmNonceSize || aead.Overhead() != gcmNonceSize+gcmTagSize:
		t.Errorf("NonceSize %d, Overhead %d; want %d and %d for AES-GCM (96-bit nonce, 128-bit tag)",
			aead.NonceSize(), aead.Overhead(), gcmNonceSize, gcmNonceSize+gcmTagSize)
	}
	ctx := t.Context()
	var export cipher.AEAD
	if ex, ok := s.backend().(backend.Exporter); ok && s.caps.Export {
		export = exportedGCM(t, ex, sk.label)
	}
	for _, c := range []struct {
		name   string
		pt, ad []byte
	}{
		{"empty", nil, nil},
		{"short", []byte("keyplane"), nil},
		{"with associated data", randomBytes(100), []byte("header")},
		{"4 KiB", randomBytes(4 << 10), randomBytes(7)},
		{"4 KiB and one byte", randomBytes(4<<10 + 1), nil},
		{"64 KiB", randomBytes(64 << 10), randomBytes(33)},
	} {
		sealed, err := aead.Seal(ctx, c.pt, c.ad)
		if !s.caps.AEADPlaintextSupported(len(c.pt)) {
			wantErr(t, err, fmt.Sprintf("%s: Seal of %d bytes, outside Details[%q] = %q", c.name, len(c.pt), backend.DetailAEADPlaintext, s.caps.Details[backend.DetailAEADPlaintext]), backend.ErrInvalidInput)
			continue
		}
		if err != nil {
			t.Errorf("%s: Seal: %v", c.name, err)
			continue
		}
		if service {
			if len(sealed) <= len(c.pt) || len(sealed) > len(c.pt)+aead.Overhead() {
				t.Errorf("%s: sealed message of %d bytes for %d of plaintext, want more than the plaintext and at most Overhead (%d) more", c.name, len(sealed), len(c.pt), aead.Overhead())
			}
		} else if want := len(c.pt) + aead.Overhead(); len(sealed) != want {
			t.Errorf("%s: sealed message of %d bytes, want NonceSize+len(plaintext)+tag = %d", c.name, len(sealed), want)
		}
		got, err := aead.Open(ctx, sealed, c.ad)
		if err != nil {
			t.Errorf("%s: Open: %v", c.name, err)
			continue
		}
		if !bytes.Equal(got, c.pt) {
			t.Errorf("%s: Open returned other bytes than were sealed", c.name)
		}
		if export != nil && !service && len(sealed) >= gcmNonceSize {
			got, err := export.Open(nil, sealed[:gcmNonceSize], sealed[gcmNonceSize:], c.ad)
			if err != nil || !bytes.Equal(got, c.pt) {
				t.Errorf("%s: crypto/cipher GCM with the exported key does not open the sealed message (%v)", c.name, err)
			}
		}
	}
}

// exportedGCM returns a crypto/cipher AES-GCM over the exported key.
func exportedGCM(t tb, ex backend.Exporter, ref string) cipher.AEAD {
	t.Helper()
	k, err := ex.ExportKey(t.Context(), ref)
	if err != nil {
		t.Errorf("ExportKey(%q): %v", ref, err)
		return nil
	}
	sec, ok := k.(backend.SecretKey)
	if !ok || sec.Algorithm != backend.AES256 || len(sec.Value) != 32 {
		t.Errorf("ExportKey(%q) returned %T (%v), want a 32-byte aes-256 backend.SecretKey", ref, k, k)
		return nil
	}
	return newGCM(sec.Value)
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("conformance: AES key of %d bytes", len(key)))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("conformance: " + err.Error())
	}
	return aead
}

// checkAEADNonces: every Seal takes a fresh nonce (for a service-formatted
// AEAD, whose nonce is at no known place: every sealed message differs).
func (s *suite) checkAEADNonces(t tb) {
	sk := s.key(t, backend.AES256)
	aead := s.aeadFor(t, sk.label, true)
	n := 512
	if s.cfg.Short {
		n = 128
	}
	seen := make(map[string]bool, n)
	pt := []byte("same plaintext every time")
	for i := range n {
		sealed, err := aead.Seal(t.Context(), pt, nil)
		if err != nil {
			t.Fatalf("Seal %d: %v", i, err)
		}
		if len(sealed) < aead.NonceSize() {
			t.Fatalf("Seal %d: %d bytes, shorter than the nonce", i, len(sealed))
		}
		nonce := string(sealed[:aead.NonceSize()])
		if s.caps.AEADServiceLayout() {
			nonce = string(sealed)
		}
		if seen[nonce] {
			t.Fatalf("Seal reused a nonce after %d messages", i)
		}
		seen[nonce] = true
	}
}

// checkAEADTamper: any change to the nonce, ciphertext, tag or associated
// data, and any truncation, is ErrDecryption.
func (s *suite) checkAEADTamper(t tb) {
	sk := s.key(t, backend.AES256)
	aead := s.aeadFor(t, sk.label, true)
	ctx := t.Context()
	pt, ad := randomBytes(40), []byte("associated")
	sealed, err := aead.Seal(ctx, pt, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	ns := aead.NonceSize()
	// A byte of the ciphertext: just after the nonce, or, in a service's
	// opaque format, in the middle of the plaintext's length before a
	// final GCM tag, where an AES-GCM blob (KMS's) has its ciphertext. The
	// first bytes of a KMS blob are metadata (the key's ARN, which
	// local-kms reads but does not authenticate when Decrypt names the
	// key).
	ctAt := ns + 1
	if s.caps.AEADServiceLayout() {
		ctAt = len(sealed) - gcmTagSize - len(pt)/2
	}
	cases := []struct {
		name   string
		sealed []byte
		ad     []byte
	}{
		{"tampered nonce", flip(sealed, 0), ad},
		{"tampered ciphertext", flip(sealed, ctAt), ad},
		{"tampered tag", flip(sealed, -1), ad},
		{"other associated data", sealed, []byte("associateD")},
		{"associated data missing", sealed, nil},
		{"truncated by one byte", sealed[:len(sealed)-1], ad},
		{"only the nonce", sealed[:ns], ad},
		{"empty", nil, ad},
		{"one byte longer", append(append([]byte(nil), sealed...), 0), ad},
	}
	if s.caps.AEADServiceLayout() {
		cases = append(cases, struct {
			name   string
			sealed []byte
			ad     []byte
		}{"first half", sealed[:len(sealed)/2], ad})
	} else {
		cases = append(cases, struct {
			name   string
			sealed []byte
			ad     []byte
		}{"shorter than nonce and tag", sealed[:aead.Overhead()-1], ad})
	}
	if other := s.otherAESKey(t); other != nil {
		cases = append(cases, struct {
			name   string
			sealed []byte
			ad     []byte
		}{"sealed under another key", other, ad})
	}
	same := &sameMessages{what: "AEAD Open"}
	for _, c := range cases {
		got, err := aead.Open(ctx, c.sealed, c.ad)
		if err == nil {
			t.Errorf("%s: Open succeeded (%d bytes), want ErrDecryption", c.name, len(got))
			continue
		}
		wantDecryptionErr(t, err, c.name)
		if strings.HasPrefix(c.name, "tampered") || strings.Contains(c.name, "associated") || strings.Contains(c.name, "another key") {
			same.add(t, c.name, err)
		}
	}
}

// otherAESKey seals the tamper test's plaintext under a fresh key made by
// crypto/cipher, so the backend's key must reject it.
func (s *suite) otherAESKey(t tb) []byte {
	gcm := newGCM(randomBytes(32))
	nonce := randomBytes(gcmNonceSize)
	return gcm.Seal(nonce, nonce, randomBytes(40), []byte("associated"))
}

// checkAEADWrongKey: AEAD refuses keys that are not AES keys, and missing
// keys.
func (s *suite) checkAEADWrongKey(t tb) {
	s.requireOp(t, backend.AES256GCM)
	ab := s.backend().(backend.AEADBackend)
	tried := false
	for _, alg := range s.algs {
		sk := s.keys[alg]
		if sk == nil || alg == backend.AES256 {
			continue
		}
		tried = true
		_, err := ab.AEAD(t.Context(), sk.label)
		wantErr(t, err, fmt.Sprintf("AEAD on the %s key %q", alg, sk.label), backend.ErrUnsupported)
	}
	_, err := ab.AEAD(t.Context(), s.label("missing"))
	wantErr(t, err, "AEAD on a missing key", backend.ErrNotFound)
	if !tried {
		t.Logf("no key of another algorithm to try")
	}
}
