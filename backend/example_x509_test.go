package backend_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
)

// A certificate authority whose key is in a backend: x509.CreateCertificate
// takes the backend's crypto.Signer as is. Here the backend is a software
// keystore in memory; for a CA key in an HSM, open a pkcs11: URI instead
// (and import the pkcs11 backend):
//
//	pkcs11:token=ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
//
// The issued certificate is then stored with the web server's key, where
// tlskey.Certificate finds it.
func Example_x509Certificate() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "software:memory")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	caKey, err := b.GenerateKey(ctx, backend.KeySpec{Label: "root-ca", Algorithm: backend.ECP384})
	if err != nil {
		log.Fatal(err)
	}
	webKey, err := b.GenerateKey(ctx, backend.KeySpec{Label: "web", Algorithm: backend.ECP256})
	if err != nil {
		log.Fatal(err)
	}
	caSigner, err := b.Signer(ctx, "root-ca")
	if err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root CA"},
		NotBefore: now, NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, caKey.Public, caSigner)
	if err != nil {
		log.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)

	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "www.example.com"},
		DNSNames: []string{"www.example.com"}, NotBefore: now, NotAfter: now.AddDate(0, 3, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, webKey.Public, caSigner)
	if err != nil {
		log.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)

	roots := x509.NewCertPool()
	roots.AddCert(root)
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "www.example.com"})
	fmt.Println("verifies:", err == nil, "chain length:", len(chains[0]), "signature:", leaf.SignatureAlgorithm)

	// Keep the certificate with the web server's key.
	if err := b.(backend.CertificateStore).StoreCertificates(ctx, "web", []*x509.Certificate{leaf}); err != nil {
		log.Fatal(err)
	}
	stored, _ := b.(backend.CertificateStore).Certificates(ctx, "web")
	fmt.Println("stored with key web:", stored[0].Subject, "issued by", stored[0].Issuer)
	// Output:
	// verifies: true chain length: 2 signature: ECDSA-SHA384
	// stored with key web: CN=www.example.com issued by CN=Example Root CA
}
