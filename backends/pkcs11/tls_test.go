//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// TestTLS13 runs TLS 1.3 handshakes through crypto/tls whose server key
// lives in SoftHSM2: a self-signed certificate made with the backend's
// crypto.Signer, the server signing its CertificateVerify with it (ECDSA
// P-256 with SHA-256; RSA-PSS with SHA-256 for the RSA key, the only RSA
// scheme TLS 1.3 allows), the client verifying against the certificate.
func TestTLS13(t *testing.T) {
	b := openTest(t, "")
	for _, tc := range []struct {
		alg    backend.Algorithm
		scheme string // what the server's signer must be asked for
	}{
		{backend.ECP256, "ecdsa-sha256"},
		{backend.RSA2048, "rsa-pss-sha256"},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			label := genKey(t, b, tc.alg)
			s, err := b.Signer(t.Context(), label)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingSigner{Signer: s}
			cert := selfSigned(t, rec, "keyplane.test")
			rec.reset() // only the handshake's signatures from here on

			roots := x509.NewCertPool()
			roots.AddCert(cert)
			server := &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: rec, Leaf: cert}},
			}
			client := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: "keyplane.test"}
			for i := range 3 { // new handshakes, new signatures
				st := handshake(t, server, client)
				if st.Version != tls.VersionTLS13 || !st.HandshakeComplete || st.DidResume {
					t.Fatalf("handshake %d: version 0x%x complete %v resumed %v, want a full TLS 1.3 handshake", i, st.Version, st.HandshakeComplete, st.DidResume)
				}
				if len(st.VerifiedChains) != 1 || !st.PeerCertificates[0].Equal(cert) {
					t.Fatalf("handshake %d: the client did not verify the server's certificate", i)
				}
			}
			got := rec.schemes()
			if len(got) != 3 {
				t.Fatalf("server signed %d times during 3 handshakes, want 3: %v", len(got), got)
			}
			for _, g := range got {
				if g != tc.scheme {
					t.Errorf("server signed with %s, want %s", g, tc.scheme)
				}
			}
			t.Logf("3 TLS 1.3 handshakes, server key in SoftHSM2, signature scheme %s", got[0])
		})
	}
}

// handshake connects client and server over a pipe, exchanges a line and
// returns the client's view of the connection.
func handshake(t *testing.T, server, client *tls.Config) tls.ConnectionState {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	deadline := time.Now().Add(30 * time.Second)
	c1.SetDeadline(deadline)
	c2.SetDeadline(deadline)
	srv := tls.Server(c1, server)
	var wg sync.WaitGroup
	var srvErr error
	wg.Go(func() {
		if srvErr = srv.Handshake(); srvErr != nil {
			return
		}
		_, srvErr = io.Copy(srv, io.LimitReader(srv, 6)) // echo
	})
	cli := tls.Client(c2, client)
	if err := cli.Handshake(); err != nil {
		c2.Close()
		wg.Wait()
		t.Fatalf("client handshake: %v (server: %v)", err, srvErr)
	}
	if _, err := cli.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(cli, buf); err != nil || string(buf) != "hello\n" {
		t.Fatalf("echo over TLS: %q, %v", buf, err)
	}
	wg.Wait()
	if srvErr != nil {
		t.Fatalf("server: %v", srvErr)
	}
	return cli.ConnectionState()
}

// selfSigned makes a certificate for name signed by s.
func selfSigned(t *testing.T, s crypto.Signer, name string) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatalf("x509.CreateCertificate with the token's key: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Fatalf("self-signed certificate does not verify: %v", err)
	}
	return cert
}

// recordingSigner passes every Sign to the token's signer and records the
// scheme it was asked for.
type recordingSigner struct {
	crypto.Signer
	mu  sync.Mutex
	got []string
}

func (r *recordingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	scheme := "ecdsa-" + hashName(opts.HashFunc())
	if o, ok := opts.(*rsa.PSSOptions); ok {
		scheme = "rsa-pss-" + hashName(o.Hash)
	} else if _, ok := r.Public().(*rsa.PublicKey); ok {
		scheme = "rsa-pkcs1v15-" + hashName(opts.HashFunc())
	}
	r.mu.Lock()
	r.got = append(r.got, scheme)
	r.mu.Unlock()
	return r.Signer.Sign(rnd, digest, opts)
}

func (r *recordingSigner) reset() { r.mu.Lock(); r.got = nil; r.mu.Unlock() }

func (r *recordingSigner) schemes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}
