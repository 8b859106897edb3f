package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// certStore returns the backend as a CertificateStore, or skips t when it
// does not report certificates (Capabilities.Certificates and the
// interface: a wrapper may pass the report through without the interface).
func (s *suite) certStore(t tb) backend.CertificateStore {
	t.Helper()
	cs, ok := s.backend().(backend.CertificateStore)
	if !s.caps.Certificates || !ok {
		t.Skipf("the backend does not report certificates (Capabilities.Certificates %v, implements CertificateStore %v)", s.caps.Certificates, ok)
	}
	return cs
}

// certKey returns the generated key pair the certificate checks use: the
// first asymmetric one.
func (s *suite) certKey(t tb) *suiteKey {
	t.Helper()
	sk := s.firstKey(backend.Algorithm.Asymmetric)
	if sk == nil {
		t.Skipf("no key pair: generate made none")
	}
	return sk
}

// testCA is a certificate authority made with the standard library, for
// issuing chains to backend keys: a root and an intermediate.
type testCA struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

func newTestCA(name string) (*testCA, error) {
	ca := &testCA{}
	var err error
	if ca.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if ca.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"keyplane conformance"}},
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	rt := caTmpl(name + " root")
	if ca.root, err = issueCert(rt, rt, &ca.rootKey.PublicKey, ca.rootKey); err != nil {
		return nil, err
	}
	if ca.inter, err = issueCert(caTmpl(name+" intermediate"), ca.root, &ca.interKey.PublicKey, ca.rootKey); err != nil {
		return nil, err
	}
	return ca, nil
}

// leaf issues a server certificate for pub from the intermediate.
func (ca *testCA) leaf(pub crypto.PublicKey, cn string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"conformance.keyplane.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return issueCert(tmpl, ca.inter, pub, ca.interKey)
}

func issueCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sameChain reports how got differs from want, or "".
func sameChain(got, want []*x509.Certificate) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d certificates, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] == nil || !bytes.Equal(got[i].Raw, want[i].Raw) {
			return fmt.Sprintf("certificate %d is not the one stored (want subject %q)", i+1, want[i].Subject)
		}
	}
	return ""
}

// checkCertsRoundTrip: a key starts with no certificates; a chain (leaf,
// intermediate, root) stored with it reads back the same, in order; a
// second chain replaces the first, and storing it again changes nothing;
// the chain is found by label and by ID.
func (s *suite) checkCertsRoundTrip(t tb) {
	cs := s.certStore(t)
	sk := s.certKey(t)
	ctx := t.Context()
	got, err := cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q) before any was stored: %v", sk.label, err)
	}
	if len(got) != 0 {
		t.Fatalf("Certificates(%q) before any was stored: %d certificates, want none", sk.label, len(got))
	}
	ca, err := newTestCA("round-trip")
	if err != nil {
		t.Fatalf("making a CA: %v", err)
	}
	leaf, err := ca.leaf(sk.key.Public, "first")
	if err != nil {
		t.Fatalf("issuing a certificate for %s: %v", describeKey(sk.key), err)
	}
	chain := []*x509.Certificate{leaf, ca.inter, ca.root}
	if err := cs.StoreCertificates(ctx, sk.label, chain); err != nil {
		t.Fatalf("StoreCertificates(%q, leaf+intermediate+root): %v", sk.label, err)
	}
	for _, ref := range []string{sk.label, "id:" + sk.key.IDHex()} {
		got, err := cs.Certificates(ctx, ref)
		if err != nil {
			t.Fatalf("Certificates(%q): %v", ref, err)
		}
		if d := sameChain(got, chain); d != "" {
			t.Errorf("Certificates(%q) after storing leaf+intermediate+root: %s", ref, d)
		}
	}
	// A renewal: a new leaf and the intermediate only.
	renewed, err := ca.leaf(sk.key.Public, "renewed")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	chain2 := []*x509.Certificate{renewed, ca.inter}
	if err := cs.StoreCertificates(ctx, sk.label, chain2); err != nil {
		t.Fatalf("StoreCertificates(%q) again: %v", sk.label, err)
	}
	got, err = cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q): %v", sk.label, err)
	}
	if d := sameChain(got, chain2); d != "" {
		t.Errorf("Certificates(%q) after storing a second chain (it replaces the first): %s", sk.label, d)
	}
	// The same chain again (cert import of the same file twice).
	if err := cs.StoreCertificates(ctx, sk.label, chain2); err != nil {
		t.Fatalf("StoreCertificates(%q) of the chain already stored: %v", sk.label, err)
	}
	got, err = cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q): %v", sk.label, err)
	}
	if d := sameChain(got, chain2); d != "" {
		t.Errorf("Certificates(%q) after storing the same chain twice: %s", sk.label, d)
	}
}

// checkCertsBadInput: chains that are not the key's or not in issuer order,
// empty chains, secret keys and unknown keys are refused with the
// documented errors, and a refused chain leaves the stored one in place.
func (s *suite) checkCertsBadInput(t tb) {
	cs := s.certStore(t)
	sk := s.certKey(t)
	ctx := t.Context()
	ca, err := newTestCA("bad-input")
	if err != nil {
		t.Fatalf("making a CA: %v", err)
	}
	leaf, err := ca.leaf(sk.key.Public, "good")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	good := []*x509.Certificate{leaf, ca.inter}
	if err := cs.StoreCertificates(ctx, sk.label, good); err != nil {
		t.Fatalf("StoreCertificates(%q): %v", sk.label, err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("making a key: %v", err)
	}
	foreign, err := ca.leaf(&other.PublicKey, "another key")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	bad := map[string][]*x509.Certificate{
		"an empty chain":                             {},
		"a leaf for another key":                     {foreign, ca.inter},
		"the intermediate first":                     {ca.inter, leaf},
		"leaf then root (the intermediate left out)": {leaf, ca.root},
		"a certificate twice":                        {leaf, ca.inter, ca.inter},
		"a nil certificate":                          {leaf, nil},
	}
	for what, chain := range bad {
		err := cs.StoreCertificates(ctx, sk.label, chain)
		wantErr(t, err, "StoreCertificates with "+what, backend.ErrInvalidInput)
	}
	got, err := cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q): %v", sk.label, err)
	}
	if d := sameChain(got, good); d != "" {
		t.Errorf("Certificates(%q) after refused chains: %s (a refused chain must leave the stored one)", sk.label, d)
	}

	missing := s.label("no-such-key-for-certs")
	wantErr(t, cs.StoreCertificates(ctx, missing, good), "StoreCertificates of an unknown key", backend.ErrNotFound)
	_, err = cs.Certificates(ctx, missing)
	wantErr(t, err, "Certificates of an unknown key", backend.ErrNotFound)
	wantErr(t, cs.DeleteCertificates(ctx, missing), "DeleteCertificates of an unknown key", backend.ErrNotFound)

	if sec := s.firstKey(func(a backend.Algorithm) bool { return !a.Asymmetric() }); sec != nil {
		err := cs.StoreCertificates(ctx, sec.label, good)
		wantErr(t, err, "StoreCertificates with a secret key ("+string(sec.alg)+")", backend.ErrUnsupported, backend.ErrInvalidInput)
		_, err = cs.Certificates(ctx, sec.label)
		wantErr(t, err, "Certificates of a secret key ("+string(sec.alg)+")", backend.ErrUnsupported)
	}
}

// checkCertsTLS: a TLS 1.3 server whose certificate chain is read back
// from the backend (leaf and intermediate) and whose key is the backend's
// signer, checked by a crypto/tls client that trusts only the root.
func (s *suite) checkCertsTLS(t tb) {
	cs := s.certStore(t)
	var sk *suiteKey
	for _, a := range s.algs {
		k := s.keys[a]
		if k == nil || k.key == nil || !a.Asymmetric() || !s.tlsServerCapable(k) {
			continue
		}
		sk = k
		break
	}
	if sk == nil {
		t.Skipf("no key pair whose operations a TLS 1.3 server needs")
	}
	ctx := t.Context()
	ca, err := newTestCA("tls")
	if err != nil {
		t.Fatalf("making a CA: %v", err)
	}
	leaf, err := ca.leaf(sk.key.Public, "tls server")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	if err := cs.StoreCertificates(ctx, sk.label, []*x509.Certificate{leaf, ca.inter}); err != nil {
		t.Fatalf("StoreCertificates(%q): %v", sk.label, err)
	}
	chain, err := cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q): %v", sk.label, err)
	}
	if len(chain) != 2 {
		t.Fatalf("Certificates(%q): %d certificates, want 2", sk.label, len(chain))
	}
	signer, err := s.backend().Signer(ctx, sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	cert := tls.Certificate{PrivateKey: signer, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.root)
	state, err := tlsEcho(ctx, cert, roots)
	if err == nil && len(state.PeerCertificates) != 2 {
		err = fmt.Errorf("the server sent %d certificates, want 2 (leaf, intermediate)", len(state.PeerCertificates))
	}
	if err != nil {
		t.Fatalf("TLS 1.3 with a %s key and its chain read back from the backend: %v", sk.alg, err)
	}
}

// tlsServerCapable reports whether the backend reports what a TLS 1.3
// server signing with k needs (see checkTLS).
func (s *suite) tlsServerCapable(k *suiteKey) bool {
	need := x509Ops(k.alg)
	if k.alg.Family() == backend.FamilyRSA {
		need = []backend.Operation{backend.RSAPSSSHA256}
		if !s.pssEqualsHash(k, crypto.SHA256) {
			return false
		}
	}
	for _, op := range need {
		if !s.supports(op) {
			return false
		}
	}
	return len(need) > 0
}

// checkCertsDelete: DeleteCertificates leaves the key with none, and
// deleting again is no error.
func (s *suite) checkCertsDelete(t tb) {
	cs := s.certStore(t)
	sk := s.certKey(t)
	ctx := t.Context()
	ca, err := newTestCA("delete")
	if err != nil {
		t.Fatalf("making a CA: %v", err)
	}
	leaf, err := ca.leaf(sk.key.Public, "to delete")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	if err := cs.StoreCertificates(ctx, sk.label, []*x509.Certificate{leaf}); err != nil {
		t.Fatalf("StoreCertificates(%q): %v", sk.label, err)
	}
	if err := cs.DeleteCertificates(ctx, sk.label); err != nil {
		t.Fatalf("DeleteCertificates(%q): %v", sk.label, err)
	}
	got, err := cs.Certificates(ctx, sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q) after DeleteCertificates: %v", sk.label, err)
	}
	if len(got) != 0 {
		t.Errorf("Certificates(%q) after DeleteCertificates: %d certificates, want none", sk.label, len(got))
	}
	if err := cs.DeleteCertificates(ctx, sk.label); err != nil {
		t.Errorf("DeleteCertificates(%q) of a key without certificates: %v, want no error", sk.label, err)
	}
	if _, err := s.backend().Key(ctx, sk.label); err != nil {
		t.Errorf("Key(%q) after DeleteCertificates: %v (the key must stay)", sk.label, err)
	}
}

// checkCertsBeforeReopen stores a chain for certs/after-reopen.
func (s *suite) checkCertsBeforeReopen(t tb) {
	cs := s.certStore(t)
	sk := s.certKey(t)
	ca, err := newTestCA("reopen")
	if err != nil {
		t.Fatalf("making a CA: %v", err)
	}
	leaf, err := ca.leaf(sk.key.Public, "persistent")
	if err != nil {
		t.Fatalf("issuing a certificate: %v", err)
	}
	if err := cs.StoreCertificates(t.Context(), sk.label, []*x509.Certificate{leaf, ca.inter}); err != nil {
		t.Fatalf("StoreCertificates(%q): %v", sk.label, err)
	}
	s.certsBeforeReopen = [][]byte{leaf.Raw, ca.inter.Raw}
}

// checkCertsAfterReopen: the chain stored before close and open is there,
// leaf first.
func (s *suite) checkCertsAfterReopen(t tb) {
	cs := s.certStore(t)
	sk := s.certKey(t)
	if s.certsBeforeReopen == nil {
		t.Skipf("certs/before-reopen stored no chain")
	}
	got, err := cs.Certificates(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Certificates(%q) after reopening: %v", sk.label, err)
	}
	if len(got) != len(s.certsBeforeReopen) {
		t.Fatalf("Certificates(%q) after reopening: %d certificates, want the %d stored before", sk.label, len(got), len(s.certsBeforeReopen))
	}
	for i, der := range s.certsBeforeReopen {
		if !bytes.Equal(got[i].Raw, der) {
			t.Errorf("Certificates(%q) after reopening: certificate %d is not the one stored before", sk.label, i+1)
		}
	}
}
