package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hpke"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// hpkeCase is an HPKE suite (RFC 9180) whose recipient key is held by the
// backend: the KEM's private half is the backend's KeyExchanger,
// Decapsulator, or both (the hybrid X-Wing).
type hpkeCase struct {
	name string
	kem  func() hpke.KEM
	kdf  func() hpke.KDF
	aead func() hpke.AEAD
	// dh and pq are the algorithms of the classical and post-quantum
	// halves ("" when the suite has no such half).
	dh, pq backend.Algorithm
}

var hpkeCases = []hpkeCase{
	{"dhkem-x25519", func() hpke.KEM { return hpke.DHKEM(ecdh.X25519()) }, hpke.HKDFSHA256, hpke.AES128GCM, backend.X25519, ""},
	{"dhkem-p256", func() hpke.KEM { return hpke.DHKEM(ecdh.P256()) }, hpke.HKDFSHA256, hpke.AES128GCM, backend.ECP256, ""},
	{"mlkem768", hpke.MLKEM768, hpke.HKDFSHA256, hpke.AES256GCM, "", backend.MLKEM768},
	{"xwing", hpke.MLKEM768X25519, hpke.HKDFSHA256, hpke.ChaCha20Poly1305, backend.X25519, backend.MLKEM768},
}

// agreementOp is the key-agreement operation of a classical HPKE half.
func agreementOp(a backend.Algorithm) backend.Operation {
	if a == backend.X25519 {
		return backend.X25519Agreement
	}
	return backend.ECDH
}

// hpkeKeys returns the suite's HPKE public key (from the backend's public
// keys) and private key (on the backend's handles), or skips t when the
// backend does not report what the suite needs.
func (s *suite) hpkeKeys(t tb, c hpkeCase) (hpke.PublicKey, hpke.PrivateKey) {
	t.Helper()
	var (
		x    ecdh.KeyExchanger
		xpub *ecdh.PublicKey
		d    crypto.Decapsulator
		dpub crypto.Encapsulator
	)
	if c.dh != "" {
		s.requireOp(t, agreementOp(c.dh))
		sk := s.key(t, c.dh)
		ka, ok := s.backend().(backend.KeyAgreement)
		if !ok {
			t.Fatalf("the backend reports %s but does not implement backend.KeyAgreement", agreementOp(c.dh))
		}
		var err error
		if x, err = ka.KeyExchanger(t.Context(), sk.label); err != nil {
			t.Fatalf("KeyExchanger(%q): %v", sk.label, err)
		}
		switch p := sk.key.Public.(type) {
		case *ecdh.PublicKey:
			xpub = p
		case *ecdsa.PublicKey:
			if xpub, err = p.ECDH(); err != nil {
				t.Fatalf("the %s public key: %v", c.dh, err)
			}
		default:
			t.Fatalf("the %s public key is %T", c.dh, sk.key.Public)
		}
	}
	if c.pq != "" {
		s.requireOp(t, backend.MLKEMDecapsulation)
		sk := s.key(t, c.pq)
		d = s.decapsulator(t, sk.label)
		var ok bool
		if dpub, ok = sk.key.Public.(crypto.Encapsulator); !ok {
			t.Fatalf("the %s public key %T is no crypto.Encapsulator", c.pq, sk.key.Public)
		}
	}
	var (
		pub  hpke.PublicKey
		priv hpke.PrivateKey
		err  error
	)
	switch {
	case x != nil && d != nil:
		if pub, err = hpke.NewHybridPublicKey(dpub, xpub); err == nil {
			priv, err = hpke.NewHybridPrivateKey(d, x)
		}
	case x != nil:
		if pub, err = hpke.NewDHKEMPublicKey(xpub); err == nil {
			priv, err = hpke.NewDHKEMPrivateKey(x)
		}
	default:
		if pub, err = hpke.NewMLKEMPublicKey(dpub); err == nil {
			priv, err = hpke.NewMLKEMPrivateKey(d)
		}
	}
	if err != nil {
		t.Fatalf("crypto/hpke refuses the backend's keys: %v", err)
	}
	if pub.KEM().ID() != c.kem().ID() || priv.KEM().ID() != c.kem().ID() {
		t.Fatalf("the keys make KEM 0x%04x/0x%04x, want 0x%04x", pub.KEM().ID(), priv.KEM().ID(), c.kem().ID())
	}
	return pub, priv
}

// checkHPKE: a message sealed to the backend key's public half (by
// crypto/hpke, as any sender) opens with the backend-held private key,
// with and without associated data in a multi-message context; a
// tampered ciphertext, another info string or another encapsulated key
// does not open.
func (s *suite) checkHPKE(t tb, c hpkeCase) {
	pub, priv := s.hpkeKeys(t, c)
	info := []byte("keyplane conformance " + c.name)
	msg := randomBytes(100)
	sealed, err := hpke.Seal(pub, c.kdf(), c.aead(), info, msg)
	if err != nil {
		t.Fatalf("hpke.Seal: %v", err)
	}
	got, err := hpke.Open(priv, c.kdf(), c.aead(), info, sealed)
	if err != nil {
		t.Fatalf("hpke.Open with the backend's key: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("hpke.Open with the backend's key returned another message")
	}
	if _, err := hpke.Open(priv, c.kdf(), c.aead(), []byte("other info"), sealed); err == nil {
		t.Errorf("hpke.Open with another info string succeeded")
	}
	if _, err := hpke.Open(priv, c.kdf(), c.aead(), info, flip(sealed, -1)); err == nil {
		t.Errorf("hpke.Open of a tampered ciphertext succeeded")
	}

	// A context: several messages with associated data.
	enc, sender, err := hpke.NewSender(pub, c.kdf(), c.aead(), info)
	if err != nil {
		t.Fatalf("hpke.NewSender: %v", err)
	}
	recipient, err := hpke.NewRecipient(enc, priv, c.kdf(), c.aead(), info)
	if err != nil {
		t.Fatalf("hpke.NewRecipient with the backend's key: %v", err)
	}
	for i := range 3 {
		aad := []byte(fmt.Sprintf("message %d", i))
		ct, err := sender.Seal(aad, msg)
		if err != nil {
			t.Fatalf("Sender.Seal: %v", err)
		}
		pt, err := recipient.Open(aad, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("Recipient.Open of message %d: %v", i, err)
		}
	}
	// Another sender's encapsulated key gives another context.
	enc2, _, err := hpke.NewSender(pub, c.kdf(), c.aead(), info)
	if err != nil {
		t.Fatalf("hpke.NewSender: %v", err)
	}
	if bytes.Equal(enc, enc2) {
		t.Errorf("two senders made the same encapsulated key")
	}
	other, err := hpke.NewRecipient(enc2, priv, c.kdf(), c.aead(), info)
	if err != nil {
		t.Fatalf("hpke.NewRecipient: %v", err)
	}
	ct, _ := sender.Seal(nil, msg)
	if _, err := other.Open(nil, ct); err == nil {
		t.Errorf("a message of one HPKE context opens in another")
	}
}
