package conformance

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// x509Ops are the operations crypto/x509 asks a signer of algorithm alg
// for (with SignatureAlgorithm left to its default, and PSS for RSA).
func x509Ops(alg backend.Algorithm) []backend.Operation {
	switch alg {
	case backend.RSA2048, backend.RSA3072, backend.RSA4096:
		return []backend.Operation{backend.RSAPKCS1v15SHA256, backend.RSAPSSSHA256}
	case backend.ECP256:
		return []backend.Operation{backend.ECDSASHA256}
	case backend.ECP384:
		return []backend.Operation{backend.ECDSASHA384}
	case backend.ECP521:
		return []backend.Operation{backend.ECDSASHA512}
	case backend.Ed25519:
		return []backend.Operation{backend.PureEd25519}
	}
	return nil
}

// selfSigned makes a self-signed certificate with crypto/x509 and the
// backend's signer.
func selfSigned(signer crypto.Signer, sigAlg x509.SignatureAlgorithm) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "keyplane conformance"},
		DNSNames:              []string{"conformance.keyplane.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    sigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// checkX509: crypto/x509 makes a self-signed certificate with the backend's
// crypto.Signer, and the certificate's signature verifies.
func (s *suite) checkX509(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	ops := x509Ops(alg)
	for _, op := range ops {
		if !s.supports(op) {
			t.Skipf("the backend does not report %s, which crypto/x509 uses for %s keys", op, alg)
		}
	}
	signer, err := s.backend().Signer(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	sigAlgs := []x509.SignatureAlgorithm{x509.UnknownSignatureAlgorithm}
	if alg.Family() == backend.FamilyRSA {
		// crypto/x509 signs RSA-PSS with the salt as long as the hash.
		if s.pssEqualsHash(sk, crypto.SHA256) {
			sigAlgs = append(sigAlgs, x509.SHA256WithRSAPSS)
		} else {
			t.Logf("not trying SHA256WithRSAPSS: the backend reports RSA-PSS salt %q, and crypto/x509 signs with the hash length", s.caps.Details[backend.DetailPSSSalt])
		}
	}
	for _, sa := range sigAlgs {
		cert, err := selfSigned(signer, sa)
		if err != nil {
			t.Errorf("x509.CreateCertificate (signature algorithm %v): %v", sa, err)
			continue
		}
		if err := cert.CheckSignatureFrom(cert); err != nil {
			t.Errorf("the self-signed certificate (%v) does not verify: %v", cert.SignatureAlgorithm, err)
		}
		if !equalPublic(cert.PublicKey, sk.key.Public) {
			t.Errorf("the certificate (%v) holds another public key", cert.SignatureAlgorithm)
		}
	}
}

// pssEqualsHash reports whether the backend's PSS signatures with hash h
// may carry a salt as long as the hash (what crypto/tls and crypto/x509
// ask for), by its capability report.
func (s *suite) pssEqualsHash(sk *suiteKey, h crypto.Hash) bool {
	rp, ok := sk.key.Public.(*rsa.PublicKey)
	if !ok {
		return false
	}
	return s.caps.PSSSaltSupported(h.Size(), h.Size(), maxPSSSalt(rp, h))
}

// checkTLS: a TLS 1.3 handshake in memory whose server key is the backend's
// crypto.Signer, checked by a crypto/tls client that trusts only that
// certificate.
func (s *suite) checkTLS(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	need := x509Ops(alg)
	if alg.Family() == backend.FamilyRSA {
		need = []backend.Operation{backend.RSAPKCS1v15SHA256, backend.RSAPSSSHA256} // the certificate, then TLS 1.3's PSS
	}
	for _, op := range need {
		if !s.supports(op) {
			t.Skipf("the backend does not report %s, which a TLS 1.3 server with a %s key needs", op, alg)
		}
	}
	if alg.Family() == backend.FamilyRSA && !s.pssEqualsHash(sk, crypto.SHA256) {
		t.Skipf("the backend reports RSA-PSS salt %q; TLS 1.3 signs with a salt as long as the hash", s.caps.Details[backend.DetailPSSSalt])
	}
	signer, err := s.backend().Signer(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	cert, err := selfSigned(signer, x509.UnknownSignatureAlgorithm)
	if err != nil {
		t.Fatalf("x509.CreateCertificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	state, err := tlsEcho(t.Context(), tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: signer, Leaf: cert}, roots)
	if err != nil {
		t.Fatalf("TLS 1.3 with a %s server key: %v", alg, err)
	}
	if state.Version != tls.VersionTLS13 {
		t.Errorf("negotiated TLS version %x, want TLS 1.3", state.Version)
	}
}

// tlsEcho runs a TLS 1.3 handshake over an in-memory pipe between a
// server presenting cert and a client trusting roots (server name
// conformance.keyplane.test), sends "hello" and reads it echoed back, and
// returns the client's view of the connection.
func tlsEcho(ctx context.Context, cert tls.Certificate, roots *x509.CertPool) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	server := tls.Server(c1, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
	client := tls.Client(c2, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: "conformance.keyplane.test"})
	errc := make(chan error, 1)
	go func() {
		err := server.HandshakeContext(ctx)
		if err == nil {
			buf := make([]byte, 5)
			if _, err = server.Read(buf); err == nil {
				_, err = server.Write(buf)
			}
		}
		errc <- err
	}()
	if err := client.HandshakeContext(ctx); err != nil {
		c2.Close()
		return tls.ConnectionState{}, fmt.Errorf("client: %v (server: %v)", err, <-errc)
	}
	state := client.ConnectionState()
	if _, err := client.Write([]byte("hello")); err != nil {
		return state, fmt.Errorf("writing: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := client.Read(buf); err != nil || string(buf) != "hello" {
		return state, fmt.Errorf("reading: %q, %v", buf, err)
	}
	if err := <-errc; err != nil {
		return state, fmt.Errorf("server: %v", err)
	}
	return state, nil
}
