package backend_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

type certKey struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// mkCert issues a certificate named cn for a new key, by parent (nil:
// self-signed), valid from notBefore.
func mkCert(t *testing.T, cn string, parent *certKey, notBefore time.Time, pub crypto.PublicKey) *certKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if pub == nil {
		pub = &k.PublicKey
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(notBefore.UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notBefore.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	issuer, signer := tmpl, crypto.Signer(k)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certKey{c, k}
}

func names(chain []*x509.Certificate) []string {
	var s []string
	for _, c := range chain {
		s = append(s, c.Subject.CommonName)
	}
	return s
}

func TestOrderCertificateChain(t *testing.T) {
	now := time.Now()
	root := mkCert(t, "root", nil, now, nil)
	inter := mkCert(t, "inter", root, now, nil)
	leaf := mkCert(t, "leaf", inter, now, nil)
	pub := &leaf.key.PublicKey
	renewed := mkCert(t, "renewed", inter, now.Add(time.Minute), pub)
	stray := mkCert(t, "stray", nil, now, nil)

	for _, tc := range []struct {
		name string
		in   []*x509.Certificate
		want []string
	}{
		{"in order", []*x509.Certificate{leaf.cert, inter.cert, root.cert}, []string{"leaf", "inter", "root"}},
		{"shuffled, with a stray", []*x509.Certificate{root.cert, stray.cert, inter.cert, leaf.cert}, []string{"leaf", "inter", "root"}},
		{"renewed beside the old leaf", []*x509.Certificate{leaf.cert, inter.cert, renewed.cert}, []string{"renewed", "inter"}},
		{"no issuer stored", []*x509.Certificate{leaf.cert}, []string{"leaf"}},
		{"no leaf", []*x509.Certificate{inter.cert, root.cert}, nil},
	} {
		got := names(backend.OrderCertificateChain(pub, tc.in))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestCheckCertificateChain(t *testing.T) {
	now := time.Now()
	root := mkCert(t, "root", nil, now, nil)
	inter := mkCert(t, "inter", root, now, nil)
	leaf := mkCert(t, "leaf", inter, now, nil)
	pub := &leaf.key.PublicKey
	if err := backend.CheckCertificateChain(pub, []*x509.Certificate{leaf.cert, inter.cert, root.cert}); err != nil {
		t.Fatalf("a good chain: %v", err)
	}
	long := []*x509.Certificate{leaf.cert}
	for range backend.MaxChainLength {
		long = append(long, inter.cert)
	}
	for what, chain := range map[string][]*x509.Certificate{
		"empty":              nil,
		"another key's leaf": {inter.cert, root.cert},
		"out of order":       {leaf.cert, root.cert, inter.cert},
		"nil":                {leaf.cert, nil},
		"twice":              {leaf.cert, inter.cert, inter.cert},
		"too long":           long,
	} {
		err := backend.CheckCertificateChain(pub, chain)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", what, err)
		}
	}
	if err := backend.CheckCertificateChain(nil, []*x509.Certificate{leaf.cert}); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("no public key: %v, want ErrInvalidInput", err)
	}
}
