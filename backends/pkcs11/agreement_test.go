//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// agreementCurve is the crypto/ecdh curve of an agreement algorithm.
func agreementCurve(alg backend.Algorithm) ecdh.Curve {
	switch alg {
	case backend.ECP256:
		return ecdh.P256()
	case backend.ECP384:
		return ecdh.P384()
	case backend.ECP521:
		return ecdh.P521()
	}
	return ecdh.X25519()
}

// genExchanger makes a key of alg and returns its key exchanger.
func genExchanger(t *testing.T, b *Backend, alg backend.Algorithm) (string, ecdh.KeyExchanger) {
	t.Helper()
	label := genKey(t, b, alg)
	x, err := b.KeyExchanger(t.Context(), label)
	if err != nil {
		t.Fatalf("%s: KeyExchanger: %v", alg, err)
	}
	return label, x
}

// TestKeyAgreementSoftHSM: SoftHSM2 2.6.1 does CKM_ECDH1_DERIVE on P-256,
// P-384, P-521 and (keys from CKM_EC_EDWARDS_KEY_PAIR_GEN with the X25519
// OID) X25519, and the secret is crypto/ecdh's, both ways.
func TestKeyAgreementSoftHSM(t *testing.T) {
	b := openTest(t, "")
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := caps.Details[backend.DetailKeyAgreement], "ec-p256, ec-p384, ec-p521, x25519"; got != want {
		t.Errorf("Details[%s] = %q, want %q (notes: %q)", backend.DetailKeyAgreement, got, want, caps.Notes)
	}
	for _, alg := range agreementAlgorithms {
		_, x := genExchanger(t, b, alg)
		curve := agreementCurve(alg)
		if x.Curve() != curve || x.PublicKey().Curve() != curve {
			t.Errorf("%s: Curve() = %v, PublicKey().Curve() = %v, want %v", alg, x.Curve(), x.PublicKey().Curve(), curve)
		}
		for range 3 {
			eph, err := curve.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.ECDH(eph.PublicKey())
			if err != nil {
				t.Fatalf("%s: ECDH: %v", alg, err)
			}
			want, err := eph.ECDH(x.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: token secret %x, crypto/ecdh %x", alg, got, want)
			}
		}
	}
}

// TestKeyAgreementLeavesNoSecretObject: each ECDH destroys the secret
// object it derived.
func TestKeyAgreementLeavesNoSecretObject(t *testing.T) {
	b, spy := openSpy(t, "")
	_, x := genExchanger(t, b, backend.ECP256)
	count := func() int {
		n := 0
		err := b.withSession(t.Context(), func(s *session) error {
			hs, err := b.findObjects(s, []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), attr(pkcs11.CKA_TOKEN, false)})
			n = len(hs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	spy.snapshot() // resets the counts
	eph, _ := ecdh.P256().GenerateKey(rand.Reader)
	for range 5 {
		if _, err := x.ECDH(eph.PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	after := spy.snapshot()
	if d, c := after["DeriveKey"], after["DestroyObject"]; d != 5 || c != 5 {
		t.Errorf("5 ECDH: %d C_DeriveKey, %d C_DestroyObject; want 5 of each", d, c)
	}
	if n := count(); n != before {
		t.Errorf("session secret objects: %d before, %d after 5 ECDH", before, n)
	}
}

// TestKeyAgreementBadPeer: a peer key on another curve, a zero key and an
// X25519 point of low order are ErrInvalidInput, and the token is not
// asked.
func TestKeyAgreementBadPeer(t *testing.T) {
	b, spy := openSpy(t, "")
	_, p256 := genExchanger(t, b, backend.ECP256)
	_, x25519 := genExchanger(t, b, backend.X25519)
	other, _ := ecdh.P384().GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	// u = 0 and u = 1 are points of small order on Curve25519 (RFC 7748 §6.1).
	zero, err := ecdh.X25519().NewPublicKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	one, _ := ecdh.X25519().NewPublicKey(append([]byte{1}, make([]byte, 31)...))
	cases := []struct {
		name string
		x    ecdh.KeyExchanger
		peer *ecdh.PublicKey
	}{
		{"P-256 key, P-384 peer", p256, other.PublicKey()},
		{"P-256 key, X25519 peer", p256, x.PublicKey()},
		{"X25519 key, P-384 peer", x25519, other.PublicKey()},
		{"nil peer", p256, nil},
		{"zero ecdh.PublicKey", p256, &ecdh.PublicKey{}},
		{"X25519 u=0", x25519, zero},
		{"X25519 u=1", x25519, one},
	}
	spy.snapshot() // resets the counts
	for _, c := range cases {
		secret, err := c.x.ECDH(c.peer)
		if !errors.Is(err, backend.ErrInvalidInput) || secret != nil {
			t.Errorf("%s: ECDH = %x, %v; want ErrInvalidInput", c.name, secret, err)
		}
	}
	if n := spy.snapshot()["DeriveKey"]; n != 0 {
		t.Errorf("%d C_DeriveKey calls for refused peers, want 0", n)
	}
}

// TestKeyAgreementNeedsDerive: an EC key whose private key has CKA_DERIVE
// false (imported keys; EC keys generated before key agreement) is
// ErrUnsupported, with a message saying why; a new EC key has CKA_DERIVE
// true and still signs.
func TestKeyAgreementNeedsDerive(t *testing.T) {
	b := openTest(t, "")
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	label := uniqueLabel(t, "imported-ec")
	if _, err := b.ImportKey(t.Context(), label, priv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(t.Context(), label) })
	_, err := b.KeyExchanger(t.Context(), label)
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKA_DERIVE false") {
		t.Errorf("KeyExchanger of a key without CKA_DERIVE: %v; want ErrUnsupported naming CKA_DERIVE", err)
	}

	fresh := genKey(t, b, backend.ECP256)
	err = b.withSession(t.Context(), func(s *session) error {
		k, err := b.lookup(s, fresh)
		if err != nil {
			return err
		}
		a, err := b.attrs(s, k.priv, pkcs11.CKA_DERIVE, pkcs11.CKA_SIGN)
		if err == nil && (!boolAttr(a[pkcs11.CKA_DERIVE]) || !boolAttr(a[pkcs11.CKA_SIGN])) {
			t.Errorf("new EC key: CKA_DERIVE %v, CKA_SIGN %v; want both true", boolAttr(a[pkcs11.CKA_DERIVE]), boolAttr(a[pkcs11.CKA_SIGN]))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(t.Context(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("still signs"), crypto.SHA256)
}

// TestKeyAgreementWrongKeyType: keys that are not EC or X25519 are
// ErrUnsupported; an X25519 key does not sign.
func TestKeyAgreementWrongKeyType(t *testing.T) {
	b := openTest(t, "")
	for _, alg := range []backend.Algorithm{backend.Ed25519, backend.RSA2048, backend.AES256} {
		label := genKey(t, b, alg)
		if _, err := b.KeyExchanger(t.Context(), label); !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("KeyExchanger of a %s key: %v; want ErrUnsupported", alg, err)
		}
	}
	label := genKey(t, b, backend.X25519)
	if _, err := b.Signer(t.Context(), label); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Signer of an X25519 key: %v; want ErrUnsupported", err)
	}
	if _, err := b.KeyExchanger(t.Context(), "no-such-key"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("KeyExchanger of a missing key: %v; want ErrNotFound", err)
	}
}

// TestX25519KeyObjects: SoftHSM2 holds X25519 keys as CKK_EC_EDWARDS with
// the X25519 OID; they come back from Key and Keys as x25519 with an
// *ecdh.PublicKey, and the private key is sensitive and derives only.
func TestX25519KeyObjects(t *testing.T) {
	b := openTest(t, "")
	label, x := genExchanger(t, b, backend.X25519)
	k, err := b.Key(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.Public.(*ecdh.PublicKey)
	if k.Algorithm != backend.X25519 || !ok || !pub.Equal(x.PublicKey()) {
		t.Errorf("Key: %s %T; want x25519 *ecdh.PublicKey equal to the exchanger's", k.Algorithm, k.Public)
	}
	keys, err := b.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, kk := range keys {
		found = found || kk.Label == label && kk.Algorithm == backend.X25519
	}
	if !found {
		t.Errorf("Keys does not list %s as x25519", label)
	}
	err = b.withSession(t.Context(), func(s *session) error {
		k, err := b.lookup(s, label)
		if err != nil {
			return err
		}
		a, err := b.attrs(s, k.priv, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_DERIVE, pkcs11.CKA_SIGN)
		if err != nil {
			return err
		}
		mech, kt := b.x25519Mechanism()
		if mech != ckmECEdwardsKeyPairGen || ulong(a[pkcs11.CKA_KEY_TYPE]) != kt {
			t.Errorf("X25519 key type 0x%x by mechanism 0x%x; SoftHSM2 2.6.1 was seen making CKK_EC_EDWARDS (0x40) keys by CKM_EC_EDWARDS_KEY_PAIR_GEN", ulong(a[pkcs11.CKA_KEY_TYPE]), mech)
		}
		for typ, want := range map[uint]bool{pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_DERIVE: true, pkcs11.CKA_SIGN: false} {
			if got := boolAttr(a[typ]); got != want {
				t.Errorf("X25519 private key attribute 0x%x = %v, want %v", typ, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAgreementProbeOnce: the probe runs once per backend, at the first
// Capabilities (one session key pair and one C_DeriveKey per curve, all
// destroyed), and not again.
func TestAgreementProbeOnce(t *testing.T) {
	b, spy := openSpy(t, "")
	b.probeRSA(t.Context())
	b.probeCurves(t.Context())
	b.probeImport(t.Context())
	spy.snapshot()
	if _, err := b.Capabilities(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := len(agreementAlgorithms)
	if calls := spy.snapshot(); calls["GenerateKeyPair"] != n || calls["DeriveKey"] != n || calls["DestroyObject"] != 3*n {
		t.Errorf("probe calls %v: want %d session key pairs and %d C_DeriveKey, each pair and secret destroyed", calls, n, n)
	}
	if _, err := b.Capabilities(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := spy.snapshot(); calls["GenerateKeyPair"] != 0 || calls["DeriveKey"] != 0 {
		t.Errorf("second Capabilities probed again: %v", calls)
	}
}

// TestAgreementWithoutECDH1Derive: a token that lists no CKM_ECDH1_DERIVE
// reports no key agreement and no x25519, makes EC keys without
// CKA_DERIVE, and KeyExchanger says why.
func TestAgreementWithoutECDH1Derive(t *testing.T) {
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		return mechFilter{newSpy(p), map[uint]bool{pkcs11.CKM_ECDH1_DERIVE: true}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := caps.Details[backend.DetailKeyAgreement]; d != "none (the token lists no CKM_ECDH1_DERIVE)" {
		t.Errorf("Details[%s] = %q", backend.DetailKeyAgreement, d)
	}
	if caps.SupportsKeyAgreement(backend.ECP256) || b.supportsAlgorithm(backend.X25519) {
		t.Errorf("key agreement reported without CKM_ECDH1_DERIVE")
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: uniqueLabel(t, "no-x25519"), Algorithm: backend.X25519}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateKey(x25519) without CKM_ECDH1_DERIVE: %v, want ErrUnsupported", err)
	}
	label := genKey(t, b, backend.ECP256)
	_, err = b.KeyExchanger(t.Context(), label)
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKM_ECDH1_DERIVE") {
		t.Errorf("KeyExchanger without CKM_ECDH1_DERIVE: %v; want ErrUnsupported naming the mechanism", err)
	}
	err = b.withSession(t.Context(), func(s *session) error {
		k, err := b.lookup(s, label)
		if err != nil {
			return err
		}
		a, err := b.attrs(s, k.priv, pkcs11.CKA_DERIVE)
		if err == nil && boolAttr(a[pkcs11.CKA_DERIVE]) {
			t.Errorf("EC key made without CKM_ECDH1_DERIVE has CKA_DERIVE true")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
