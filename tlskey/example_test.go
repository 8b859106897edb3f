package tlskey_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/tlskey"
)

// A TLS server and client whose keys and certificates are in a backend,
// authenticating each other (mutual TLS). Here the backend is a software
// keystore in memory; with a token, only the URI changes:
//
//	pkcs11:token=web?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
//
// and the keys and chains are put there once with keyplane keygen,
// keyplane csr and keyplane cert import.
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "software:memory")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	roots := issue(ctx, b, "web", "alice") // a CA, and a stored chain for each key

	// The server: three lines.
	serverCert, err := tlskey.Certificate(ctx, b, "web")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello, %s", r.TLS.PeerCertificates[0].Subject.CommonName)
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.ServeTLS(l, "", "")
	defer srv.Close()

	// The client, with its own key in the backend.
	clientCert, err := tlskey.Certificate(ctx, b, "alice")
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, ServerName: "web.example", Certificates: []tls.Certificate{clientCert}}}}
	resp, err := client.Get("https://" + l.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	fmt.Println("server chain:", resp.TLS.PeerCertificates[0].Subject.CommonName, "<-", resp.TLS.PeerCertificates[1].Subject.CommonName)
	// Output:
	// hello, alice.example
	// server chain: web.example <- Example Intermediate CA
}

// issue makes a root and an intermediate CA with keys in b, and for each
// name a key and a chain (leaf, intermediate) stored with it. It returns
// a pool holding the root.
func issue(ctx context.Context, b backend.Backend, names ...string) *x509.CertPool {
	now := time.Now()
	newKey := func(label string) *backend.Key {
		k, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: backend.ECP256})
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	sign := func(tmpl, parent *x509.Certificate, pub any, issuerKey string) *x509.Certificate {
		s, err := b.Signer(ctx, issuerKey) // x509.CreateCertificate with a backend signer
		if err != nil {
			log.Fatal(err)
		}
		serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, now.Add(-time.Minute), now.Add(time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, s)
		if err != nil {
			log.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign}
	}
	root := sign(ca("Example Root CA"), nil, newKey("root-ca").Public, "root-ca")
	inter := sign(ca("Example Intermediate CA"), root, newKey("intermediate-ca").Public, "root-ca")
	for _, name := range names {
		leaf := &x509.Certificate{Subject: pkix.Name{CommonName: name + ".example"}, DNSNames: []string{name + ".example"},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		cert := sign(leaf, inter, newKey(name).Public, "intermediate-ca")
		if err := b.(backend.CertificateStore).StoreCertificates(ctx, name, []*x509.Certificate{cert, inter}); err != nil {
			log.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool
}
