package conformance

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/keyplane/keyplane/backend"
)

// agreementAlgorithms are the algorithms whose keys can do key agreement.
var agreementAlgorithms = []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.X25519}

// agreementCurve is the crypto/ecdh curve of an agreement algorithm.
func agreementCurve(alg backend.Algorithm) ecdh.Curve {
	switch alg {
	case backend.ECP256:
		return ecdh.P256()
	case backend.ECP384:
		return ecdh.P384()
	case backend.ECP521:
		return ecdh.P521()
	case backend.X25519:
		return ecdh.X25519()
	}
	return nil
}

// runAgreement runs the key-agreement checks: for each curve the backend
// lists for key agreement (Capabilities.SupportsKeyAgreement), ECDH with
// a backend key against crypto/ecdh's ephemeral keys, bad peer keys, many
// goroutines at once; HPKE's DHKEM through crypto/hpke with the backend's
// key as the recipient, for X25519 and P-256. A curve the backend does
// not list is one skipped check, agreement/<alg>, with the reason; a
// backend that does no key agreement at all, one skipped check,
// agreement.
func (s *suite) runAgreement(r runner) {
	if reason := s.noAgreementReason(); reason != "" {
		r.run("agreement", func(t tb) { t.Skipf("%s", reason) })
		return
	}
	for _, alg := range agreementAlgorithms {
		if reason := s.agreementSkipReason(alg); reason != "" {
			r.run("agreement/"+string(alg), func(t tb) { t.Skipf("%s", reason) })
			continue
		}
		r.run("agreement/"+string(alg)+"/ecdh", func(t tb) { s.checkAgreementECDH(t, alg) })
		r.run("agreement/"+string(alg)+"/bad-peer", func(t tb) { s.checkAgreementBadPeer(t, alg) })
		r.run("agreement/"+string(alg)+"/concurrent", func(t tb) { s.checkAgreementConcurrent(t, alg) })
	}
	r.run("agreement/hpke/dhkem-x25519", func(t tb) { s.checkAgreementHPKE(t, backend.X25519, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305()) })
	r.run("agreement/hpke/dhkem-p256", func(t tb) { s.checkAgreementHPKE(t, backend.ECP256, hpke.HKDFSHA256(), hpke.AES128GCM()) })
	r.run("agreement/wrong-key", s.checkAgreementWrongKey)
}

// noAgreementReason says why the backend does no key agreement at all, or
// "". (Wrappers such as observe implement KeyAgreement whatever the
// backend inside: Capabilities decides.)
func (s *suite) noAgreementReason() string {
	if _, ok := s.backend().(backend.KeyAgreement); !ok {
		return fmt.Sprintf("the backend (%T) does not implement backend.KeyAgreement", s.backend())
	}
	for _, alg := range agreementAlgorithms {
		if s.agreementSkipReason(alg) == "" {
			return ""
		}
	}
	if d, ok := s.caps.Details[backend.DetailKeyAgreement]; ok {
		return fmt.Sprintf("the backend lists key agreement with none of its keys (Details[%q] = %q)", backend.DetailKeyAgreement, d)
	}
	return fmt.Sprintf("the backend reports no key-agreement operation (ecdh, x25519) and no Details[%q]", backend.DetailKeyAgreement)
}

// agreementSkipReason says why key agreement with alg keys is not tested,
// or "".
func (s *suite) agreementSkipReason(alg backend.Algorithm) string {
	if reason := s.skipReason(alg); reason != "" {
		return reason
	}
	if !s.caps.SupportsKeyAgreement(alg) {
		return fmt.Sprintf("the backend does not list key agreement with %s keys (Details[%q] = %q)", alg, backend.DetailKeyAgreement, s.caps.Details[backend.DetailKeyAgreement])
	}
	return ""
}

// agreementBackend returns the backend as a KeyAgreement, or skips t.
func (s *suite) agreementBackend(t tb) backend.KeyAgreement {
	t.Helper()
	ka, ok := s.backend().(backend.KeyAgreement)
	if !ok {
		t.Skipf("the backend (%T) does not implement backend.KeyAgreement", s.backend())
	}
	return ka
}

// requireAgreement skips t unless the backend lists key agreement for alg.
func (s *suite) requireAgreement(t tb, alg backend.Algorithm) {
	t.Helper()
	if reason := s.agreementSkipReason(alg); reason != "" {
		t.Skipf("%s", reason)
	}
}

// agreementKey returns a key exchanger for a key of alg the suite made
// for the agreement checks (once per algorithm), or skips or fails t.
func (s *suite) agreementKey(t tb, alg backend.Algorithm) ecdh.KeyExchanger {
	t.Helper()
	ka := s.agreementBackend(t)
	s.requireAgreement(t, alg)
	label := s.label("agree-" + string(alg))
	if !s.agreeKeys[alg] {
		// (generate/<alg> checks what GenerateKey returns.)
		if _, err := s.backend().GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
			t.Fatalf("GenerateKey(%q, %s): %v", label, alg, err)
		}
		s.agreeKeys[alg] = true
	}
	x, err := ka.KeyExchanger(t.Context(), label)
	if err != nil {
		t.Fatalf("KeyExchanger(%q) of a %s key: %v", label, alg, err)
	}
	if x == nil {
		t.Fatalf("KeyExchanger(%q) returned nil and no error", label)
	}
	curve := agreementCurve(alg)
	if x.Curve() != curve {
		t.Fatalf("KeyExchanger(%q).Curve() = %v, want %v", label, x.Curve(), curve)
	}
	if pub := x.PublicKey(); pub == nil || pub.Curve() != curve {
		t.Fatalf("KeyExchanger(%q).PublicKey() = %v, want a key on %v", label, pub, curve)
	}
	return x
}

// checkAgreementECDH: the backend's ECDH with crypto/ecdh ephemeral keys
// gives the secret crypto/ecdh gives the other way; different peers give
// different secrets.
func (s *suite) checkAgreementECDH(t tb, alg backend.Algorithm) {
	x := s.agreementKey(t, alg)
	curve := agreementCurve(alg)
	var first []byte
	for i := range 3 {
		eph, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("crypto/ecdh GenerateKey: %v", err)
		}
		got, err := x.ECDH(eph.PublicKey())
		if err != nil {
			t.Fatalf("ECDH with a %v peer: %v", curve, err)
		}
		want, err := eph.ECDH(x.PublicKey())
		if err != nil {
			t.Fatalf("crypto/ecdh ECDH with the backend's public key: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the backend's secret %x differs from crypto/ecdh's %x", alg, got, want)
		}
		if i == 0 {
			first = got
		} else if bytes.Equal(got, first) {
			t.Errorf("%s: two peers gave the same secret", alg)
		}
	}
}

// checkAgreementBadPeer: peer keys on another curve, the zero
// ecdh.PublicKey, nil and (X25519) points of low order are
// ErrInvalidInput.
func (s *suite) checkAgreementBadPeer(t tb, alg backend.Algorithm) {
	x := s.agreementKey(t, alg)
	for _, other := range agreementAlgorithms {
		if other == alg {
			continue
		}
		peer, err := agreementCurve(other).GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("crypto/ecdh GenerateKey: %v", err)
		}
		secret, err := x.ECDH(peer.PublicKey())
		if wantErr(t, err, fmt.Sprintf("ECDH of a %s key with a %v peer", alg, agreementCurve(other)), backend.ErrInvalidInput) && secret != nil {
			t.Errorf("ECDH with a peer on another curve returned %d bytes with its error", len(secret))
		}
	}
	_, err := x.ECDH(nil)
	wantErr(t, err, "ECDH with a nil peer key", backend.ErrInvalidInput)
	_, err = x.ECDH(&ecdh.PublicKey{})
	wantErr(t, err, "ECDH with a zero ecdh.PublicKey", backend.ErrInvalidInput)
	if alg == backend.X25519 {
		// u = 0 and u = 1 have small order (RFC 7748 §6.1: the shared
		// secret would be all zeros).
		for _, u := range []byte{0, 1} {
			peer, err := ecdh.X25519().NewPublicKey(append([]byte{u}, make([]byte, 31)...))
			if err != nil {
				t.Fatalf("crypto/ecdh NewPublicKey: %v", err)
			}
			_, err = x.ECDH(peer)
			wantErr(t, err, fmt.Sprintf("ECDH with the X25519 point u=%d of low order", u), backend.ErrInvalidInput)
		}
	}
}

// checkAgreementConcurrent: ECDH from many goroutines on one exchanger
// gives each its right secret.
func (s *suite) checkAgreementConcurrent(t tb, alg backend.Algorithm) {
	x := s.agreementKey(t, alg)
	curve := agreementCurve(alg)
	n := s.cfg.Concurrency
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			eph, err := curve.GenerateKey(rand.Reader)
			if err != nil {
				errs <- err
				return
			}
			got, err := x.ECDH(eph.PublicKey())
			if err != nil {
				errs <- fmt.Errorf("ECDH: %w", err)
				return
			}
			want, err := eph.ECDH(x.PublicKey())
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, want) {
				errs <- fmt.Errorf("secret %x, crypto/ecdh %x", got, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%s, %d goroutines at once: %v", alg, n, err)
	}
}

// checkAgreementHPKE: a message sealed by crypto/hpke to the backend key's
// public key opens with hpke.NewDHKEMPrivateKey over its key exchanger;
// so do several messages of one context, with the same exported secret;
// a damaged ciphertext and another recipient do not open.
func (s *suite) checkAgreementHPKE(t tb, alg backend.Algorithm, kdf hpke.KDF, aead hpke.AEAD) {
	x := s.agreementKey(t, alg)
	pub, err := hpke.NewDHKEMPublicKey(x.PublicKey())
	if err != nil {
		t.Fatalf("hpke.NewDHKEMPublicKey: %v", err)
	}
	priv, err := hpke.NewDHKEMPrivateKey(x)
	if err != nil {
		t.Fatalf("hpke.NewDHKEMPrivateKey over the backend's key exchanger: %v", err)
	}
	info, msg := []byte("keyplane conformance "+string(alg)), []byte("sealed to a key the backend holds")
	ct, err := hpke.Seal(pub, kdf, aead, info, msg)
	if err != nil {
		t.Fatalf("hpke.Seal: %v", err)
	}
	got, err := hpke.Open(priv, kdf, aead, info, ct)
	if err != nil {
		t.Fatalf("hpke.Open with the backend's key: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("hpke.Open gave %q, want %q", got, msg)
	}

	damaged := bytes.Clone(ct)
	damaged[len(damaged)-1] ^= 1
	if _, err := hpke.Open(priv, kdf, aead, info, damaged); err == nil {
		t.Errorf("hpke.Open of a damaged ciphertext succeeded")
	}
	other, err := agreementCurve(alg).GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("%v", err)
	}
	otherPub, _ := hpke.NewDHKEMPublicKey(other.PublicKey())
	ct2, err := hpke.Seal(otherPub, kdf, aead, info, msg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if _, err := hpke.Open(priv, kdf, aead, info, ct2); err == nil {
		t.Errorf("hpke.Open of a message sealed to another key succeeded")
	}

	enc, sender, err := hpke.NewSender(pub, kdf, aead, info)
	if err != nil {
		t.Fatalf("hpke.NewSender: %v", err)
	}
	recipient, err := hpke.NewRecipient(enc, priv, kdf, aead, info)
	if err != nil {
		t.Fatalf("hpke.NewRecipient with the backend's key: %v", err)
	}
	for i := range 3 {
		m := fmt.Appendf(nil, "message %d", i)
		c, err := sender.Seal(nil, m)
		if err != nil {
			t.Fatalf("%v", err)
		}
		p, err := recipient.Open(nil, c)
		if err != nil || !bytes.Equal(p, m) {
			t.Errorf("message %d of one context: %q, %v; want %q", i, p, err, m)
		}
	}
	se, err1 := sender.Export("conformance", 32)
	re, err2 := recipient.Export("conformance", 32)
	if err1 != nil || err2 != nil || !bytes.Equal(se, re) {
		t.Errorf("exported secrets differ: sender %x (%v), recipient %x (%v)", se, err1, re, err2)
	}
}

// checkAgreementWrongKey: KeyExchanger of a key that is not an agreement
// key is ErrUnsupported, of a missing key ErrNotFound.
func (s *suite) checkAgreementWrongKey(t tb) {
	ka := s.agreementBackend(t)
	_, err := ka.KeyExchanger(t.Context(), s.label("no-such-key"))
	wantErr(t, err, "KeyExchanger of a missing key", backend.ErrNotFound)
	k := s.firstKey(func(a backend.Algorithm) bool {
		return a != backend.X25519 && a.Family() != backend.FamilyEC && a.Family() != backend.FamilyUnknown
	})
	if k == nil {
		t.Skipf("no generated key that is not an agreement key")
	}
	_, err = ka.KeyExchanger(t.Context(), k.label)
	wantErr(t, err, fmt.Sprintf("KeyExchanger of a %s key", k.alg), backend.ErrUnsupported)
}
