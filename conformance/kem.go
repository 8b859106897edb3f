package conformance

import (
	"bytes"
	"crypto"
	"crypto/mlkem"
	"fmt"
	"slices"

	"github.com/keyplane/keyplane/backend"
)

// runPostQuantum runs the ML-DSA, ML-KEM and HPKE checks (the X25519 and
// ECDH key-agreement checks are agreement*.go's).
func (s *suite) runPostQuantum(r runner) {
	for _, alg := range s.algs {
		switch alg.Family() {
		case backend.FamilyMLDSA:
			r.run("mldsa/"+string(alg)+"/context", func(t tb) { s.checkMLDSAContext(t, alg) })
		case backend.FamilyMLKEM:
			r.run("kem/"+string(alg)+"/round-trip", func(t tb) { s.checkKEMRoundTrip(t, alg) })
			r.run("kem/"+string(alg)+"/bad-ciphertext", func(t tb) { s.checkKEMBadCiphertext(t, alg) })
		}
	}
	if slices.ContainsFunc(s.algs, func(a backend.Algorithm) bool { return a.Family() == backend.FamilyMLKEM }) {
		r.run("kem/wrong-key-type", s.checkKEMWrongKeyType)
	}
	for _, c := range hpkeCases {
		r.run("hpke/"+c.name, func(t tb) { s.checkHPKE(t, c) })
	}
}

// decapsulator returns the backend's crypto.Decapsulator for label,
// failing t when the backend reports ML-KEM but is no backend.KEM.
func (s *suite) decapsulator(t tb, label string) crypto.Decapsulator {
	t.Helper()
	kem, ok := s.backend().(backend.KEM)
	if !ok {
		t.Fatalf("the backend reports %s but does not implement backend.KEM (%T)", backend.MLKEMDecapsulation, s.backend())
	}
	d, err := kem.Decapsulator(t.Context(), label)
	if err != nil {
		t.Fatalf("Decapsulator(%q): %v", label, err)
	}
	if d == nil {
		t.Fatalf("Decapsulator(%q) returned nil and no error", label)
	}
	return d
}

// mlkemCiphertextSize is the ciphertext length of an ML-KEM key.
func mlkemCiphertextSize(alg backend.Algorithm) int {
	if alg == backend.MLKEM1024 {
		return mlkem.CiphertextSize1024
	}
	return mlkem.CiphertextSize768
}

// checkDecapsulatorPublic: the Decapsulator's encapsulation key is the
// key's public key.
func (s *suite) checkDecapsulatorPublic(t tb, sk *suiteKey) {
	t.Helper()
	if !s.supports(backend.MLKEMDecapsulation) {
		return
	}
	d := s.decapsulator(t, sk.label)
	if !sameEncapsulationKey(d.Encapsulator(), sk.key.Public) {
		t.Errorf("Decapsulator(%q).Encapsulator() (%T) is not the key's public key", sk.label, d.Encapsulator())
	}
}

// checkKEMRoundTrip: a shared key encapsulated to the key's public key
// (by crypto/mlkem, from the public key's bytes) comes back from
// Decapsulate, and one encapsulated by the Decapsulator's own
// Encapsulator too.
func (s *suite) checkKEMRoundTrip(t tb, alg backend.Algorithm) {
	s.requireOp(t, backend.MLKEMDecapsulation)
	sk := s.key(t, alg)
	d := s.decapsulator(t, sk.label)
	enc, ok := sk.key.Public.(crypto.Encapsulator)
	if !ok {
		t.Fatalf("the %s public key %T is no crypto.Encapsulator", alg, sk.key.Public)
	}
	// A fresh encapsulation key parsed from the bytes, as a peer would.
	var peer crypto.Encapsulator
	var err error
	if alg == backend.MLKEM768 {
		peer, err = mlkem.NewEncapsulationKey768(enc.Bytes())
	} else {
		peer, err = mlkem.NewEncapsulationKey1024(enc.Bytes())
	}
	if err != nil {
		t.Fatalf("crypto/mlkem rejects the %s public key: %v", alg, err)
	}
	for _, e := range []struct {
		name string
		enc  crypto.Encapsulator
	}{{"crypto/mlkem", peer}, {"the Decapsulator's Encapsulator", d.Encapsulator()}} {
		shared, ct := e.enc.Encapsulate()
		if len(ct) != mlkemCiphertextSize(alg) || len(shared) != mlkem.SharedKeySize {
			t.Errorf("%s: ciphertext of %d bytes and shared key of %d, want %d and %d", e.name, len(ct), len(shared), mlkemCiphertextSize(alg), mlkem.SharedKeySize)
			continue
		}
		got, err := d.Decapsulate(ct)
		if err != nil {
			t.Errorf("Decapsulate (encapsulated by %s): %v", e.name, err)
			continue
		}
		if !bytes.Equal(got, shared) {
			t.Errorf("Decapsulate (encapsulated by %s) returned another shared key", e.name)
		}
		// Implicit rejection: a tampered ciphertext gives another key,
		// deterministically, and no error.
		bad := flip(ct, 7)
		k1, err1 := d.Decapsulate(bad)
		k2, err2 := d.Decapsulate(bad)
		if err1 != nil || err2 != nil {
			t.Errorf("Decapsulate of a tampered ciphertext: %v, %v; want a (wrong) key and no error", err1, err2)
		} else if bytes.Equal(k1, shared) || !bytes.Equal(k1, k2) {
			t.Errorf("Decapsulate of a tampered ciphertext: the right key, or a different key each time (implicit rejection is deterministic)")
		}
	}
}

// checkKEMBadCiphertext: ciphertexts of the wrong length are
// ErrInvalidInput.
func (s *suite) checkKEMBadCiphertext(t tb, alg backend.Algorithm) {
	s.requireOp(t, backend.MLKEMDecapsulation)
	sk := s.key(t, alg)
	d := s.decapsulator(t, sk.label)
	n := mlkemCiphertextSize(alg)
	for _, c := range []struct {
		name string
		ct   []byte
	}{
		{"empty", nil},
		{"one byte short", randomBytes(n - 1)},
		{"one byte long", randomBytes(n + 1)},
		{"the other parameter set's length", randomBytes(mlkem.CiphertextSize768 + mlkem.CiphertextSize1024 - n)},
	} {
		key, err := decapsulateSafely(d, c.ct)
		if err == nil {
			t.Errorf("Decapsulate of a ciphertext %s (%d bytes) returned a %d-byte key, want ErrInvalidInput", c.name, len(c.ct), len(key))
			continue
		}
		wantErr(t, err, fmt.Sprintf("Decapsulate of a ciphertext %s", c.name), backend.ErrInvalidInput)
	}
}

func decapsulateSafely(d crypto.Decapsulator, ct []byte) (key []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decapsulate panicked: %v", p)
		}
	}()
	return d.Decapsulate(ct)
}

// checkKEMWrongKeyType: Decapsulator refuses keys that are not ML-KEM keys
// (ErrUnsupported) and unknown keys (ErrNotFound).
func (s *suite) checkKEMWrongKeyType(t tb) {
	s.requireOp(t, backend.MLKEMDecapsulation)
	kem, ok := s.backend().(backend.KEM)
	if !ok {
		t.Fatalf("the backend reports %s but does not implement backend.KEM", backend.MLKEMDecapsulation)
	}
	tried := 0
	for _, alg := range s.algs {
		sk := s.keys[alg]
		if sk == nil || alg.Family() == backend.FamilyMLKEM {
			continue
		}
		tried++
		_, err := kem.Decapsulator(t.Context(), sk.label)
		wantErr(t, err, fmt.Sprintf("Decapsulator on the %s key", alg), backend.ErrUnsupported)
	}
	_, err := kem.Decapsulator(t.Context(), s.label("no-such-kem-key"))
	wantErr(t, err, "Decapsulator on a key that does not exist", backend.ErrNotFound)
	if tried == 0 {
		t.Logf("no key of another type to try")
	}
}

// makeKEMEvidence encapsulates a shared key to a new ML-KEM key, to
// decapsulate after a reopen.
func (s *suite) makeKEMEvidence(t tb, sk *suiteKey) {
	t.Helper()
	if !s.supports(backend.MLKEMDecapsulation) {
		return
	}
	enc, ok := sk.key.Public.(crypto.Encapsulator)
	if !ok {
		return // checkKeyMetadata reports the type
	}
	sk.plaintext, sk.kemCT = enc.Encapsulate()
}

// checkKEMEvidence: after a reopen, the key decapsulates what was
// encapsulated to it before.
func (s *suite) checkKEMEvidence(t tb, sk *suiteKey) {
	t.Helper()
	d := s.decapsulator(t, sk.label)
	got, err := d.Decapsulate(sk.kemCT)
	if err != nil || !bytes.Equal(got, sk.plaintext) {
		t.Errorf("after reopening, a ciphertext encapsulated before does not decapsulate to the same key (err %v)", err)
	}
}
