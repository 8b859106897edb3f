//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/tlskey"
)

// testChain is a root and an intermediate CA made with the standard
// library, issuing leaf certificates for token keys.
type testChain struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

func newTestChain(t *testing.T) *testChain {
	t.Helper()
	c := &testChain{}
	var err error
	if c.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if c.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	rt := ca("keyplane test root")
	c.root = issue(t, rt, rt, &c.rootKey.PublicKey, c.rootKey)
	c.inter = issue(t, ca("keyplane test intermediate"), c.root, &c.interKey.PublicKey, c.rootKey)
	return c
}

func (c *testChain) leaf(t *testing.T, pub crypto.PublicKey, name string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return issue(t, tmpl, c.inter, pub, c.interKey)
}

func issue(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func keyOf(t *testing.T, b *Backend, label string) *backend.Key {
	t.Helper()
	k, err := b.Key(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// toolCerts returns pkcs11-tool's certificate objects with the given ID.
func toolCerts(objs []*toolObject, id []byte) []*toolObject {
	var out []*toolObject
	for _, o := range objs {
		if strings.HasPrefix(o.kind, "Certificate Object") && o.attr["ID"] == hex.EncodeToString(id) {
			out = append(out, o)
		}
	}
	return out
}

// TestCertificatesPKCS11Tool: the chain keyplane stores with a key is
// listed by pkcs11-tool -O (no login: certificates are public objects) as
// X.509 certificate objects with the key's CKA_ID and labels; DeleteKey
// takes them with the key; and certificates pkcs11-tool writes with
// --write-object --type cert --id <key's ID> (issuer first, leaf last) are
// found by keyplane, leaf first, and serve TLS through tlskey.
func TestCertificatesPKCS11Tool(t *testing.T) {
	tok := token(t)
	tool := testenv.Command(t, "pkcs11-tool", "opensc")
	b := openTest(t, "")
	ctx := t.Context()
	base := []string{"--module", tok.Module, "--token-label", tok.Label}
	login := append(slices.Clone(base), "--login", "--pin", tok.PIN) // a throwaway test PIN
	ca := newTestChain(t)

	// keyplane → pkcs11-tool.
	label := genKey(t, b, backend.ECP256)
	k := keyOf(t, b, label)
	leaf := ca.leaf(t, k.Public, "keyplane.test")
	if err := b.StoreCertificates(ctx, label, []*x509.Certificate{leaf, ca.inter, ca.root}); err != nil {
		t.Fatalf("StoreCertificates: %v", err)
	}
	certs := toolCerts(pkcs11ToolObjects(t, tool, append(slices.Clone(base), "--list-objects", "--type", "cert")), k.ID)
	var labels []string
	for _, o := range certs {
		labels = append(labels, o.attr["label"])
		if !strings.Contains(o.kind, "X.509") {
			t.Errorf("pkcs11-tool shows %q, want an X.509 certificate object", o.kind)
		}
	}
	slices.Sort(labels)
	want := []string{label, label + " CA 1", label + " CA 2"}
	if !slices.Equal(labels, want) {
		t.Fatalf("pkcs11-tool -O --type cert (no login) lists certificates with the key's ID %x labelled %q, want %q", k.ID, labels, want)
	}
	for _, o := range certs {
		if o.attr["label"] == label && !strings.Contains(o.attr["subject"], "keyplane.test") {
			t.Errorf("pkcs11-tool shows the leaf's subject as %q, want CN=keyplane.test", o.attr["subject"])
		}
	}
	t.Logf("pkcs11-tool -O: %d certificate objects with ID %x: %q; the first: %s %v", len(certs), k.ID, labels, certs[0].kind, certs[0].attr)
	// pkcs11-tool reads the leaf back byte for byte.
	der := filepath.Join(t.TempDir(), "read.der")
	read := append(slices.Clone(base), "--read-object", "--type", "cert", "--label", label, "--output-file", der)
	if out, err := exec.Command(tool, read...).CombinedOutput(); err != nil {
		t.Fatalf("pkcs11-tool --read-object: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(der); err != nil || !bytes.Equal(got, leaf.Raw) {
		t.Errorf("pkcs11-tool --read-object --type cert --label %q: %d bytes (%v), not the stored leaf", label, len(got), err)
	}
	label2 := genKey(t, b, backend.ECP256) // made now: pkcs11-tool lists an object below
	if err := b.DeleteKey(ctx, label); err != nil {
		t.Fatal(err)
	}
	if left := toolCerts(pkcs11ToolObjects(t, tool, append(slices.Clone(base), "--list-objects")), k.ID); len(left) != 0 {
		t.Errorf("after DeleteKey, pkcs11-tool still lists %d certificate objects with the key's ID", len(left))
	}

	// pkcs11-tool → keyplane: the intermediate first, then the leaf.
	k2 := keyOf(t, b, label2)
	leaf2 := ca.leaf(t, k2.Public, "keyplane.test")
	dir := t.TempDir()
	for i, c := range []*x509.Certificate{ca.inter, leaf2} {
		f := filepath.Join(dir, "c"+string(rune('0'+i))+".der")
		if err := os.WriteFile(f, c.Raw, 0o644); err != nil {
			t.Fatal(err)
		}
		w := append(slices.Clone(login), "--write-object", f, "--type", "cert", "--id", hex.EncodeToString(k2.ID), "--label", "from-pkcs11-tool")
		if out, err := exec.Command(tool, w...).CombinedOutput(); err != nil {
			t.Fatalf("pkcs11-tool --write-object --type cert: %v\n%s", err, out)
		}
	}
	chain, err := b.Certificates(ctx, label2)
	if err != nil {
		t.Fatalf("Certificates of a key whose certificates pkcs11-tool wrote: %v", err)
	}
	if len(chain) != 2 || !chain[0].Equal(leaf2) || !chain[1].Equal(ca.inter) {
		t.Fatalf("Certificates: %d certificates %v, want pkcs11-tool's leaf then intermediate", len(chain), subjects(chain))
	}
	cert, err := tlskey.Certificate(ctx, b, label2)
	if err != nil {
		t.Fatalf("tlskey.Certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.root)
	st := handshake(t, tlsServerConfig(cert), tlsClientConfig(roots))
	if len(st.VerifiedChains) != 1 || len(st.VerifiedChains[0]) != 3 {
		t.Fatalf("the Go client verified %d chains, want one of 3 certificates (leaf, intermediate, root)", len(st.VerifiedChains))
	}
	// keyplane replaces pkcs11-tool's objects when it stores a chain.
	if err := b.StoreCertificates(ctx, label2, []*x509.Certificate{leaf2}); err != nil {
		t.Fatal(err)
	}
	if left := toolCerts(pkcs11ToolObjects(t, tool, append(slices.Clone(base), "--list-objects")), k2.ID); len(left) != 1 || left[0].attr["label"] != label2 {
		t.Errorf("after StoreCertificates, pkcs11-tool lists %d certificate objects with the key's ID, want keyplane's one", len(left))
	}
}

func subjects(chain []*x509.Certificate) []string {
	var s []string
	for _, c := range chain {
		s = append(s, c.Subject.String())
	}
	return s
}

// TestCertificatesSurviveReopen: a chain stored through one Backend is
// read by another opened later on the same token.
func TestCertificatesSurviveReopen(t *testing.T) {
	b := openTest(t, "")
	ca := newTestChain(t)
	label := genKey(t, b, backend.RSA2048)
	leaf := ca.leaf(t, keyOf(t, b, label).Public, "keyplane.test")
	if err := b.StoreCertificates(t.Context(), label, []*x509.Certificate{leaf, ca.inter}); err != nil {
		t.Fatal(err)
	}
	b2 := openTest(t, "")
	chain, err := b2.Certificates(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !chain[0].Equal(leaf) || !chain[1].Equal(ca.inter) {
		t.Fatalf("another Backend reads %v, want the stored leaf and intermediate", subjects(chain))
	}
}

// pemFile writes certificates to a PEM file.
func pemFile(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	f := filepath.Join(t.TempDir(), "certs.pem")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
