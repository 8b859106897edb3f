//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/tlskey"
)

func tlsServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
}

func tlsClientConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: "keyplane.test"}
}

// TestTLSChainFromToken: a TLS server on 127.0.0.1 whose key is in
// SoftHSM2 and whose certificate chain (leaf, intermediate) is read back
// from the token by tlskey.Certificate through a Backend opened after the
// chain was stored, checked by OpenSSL's s_client (-verify_return_error,
// trusting only the root) and by a Go client, with ECDSA P-256 and RSA
// keys.
func TestTLSChainFromToken(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	writer := openTest(t, "")
	ca := newTestChain(t)
	rootPEM := pemFile(t, ca.root)
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			label := genKey(t, writer, alg)
			leaf := ca.leaf(t, keyOf(t, writer, label).Public, "keyplane.test")
			if err := writer.StoreCertificates(t.Context(), label, []*x509.Certificate{leaf, ca.inter}); err != nil {
				t.Fatal(err)
			}

			b := openTest(t, "") // a fresh Backend: the chain comes from the token
			cert, err := tlskey.Certificate(t.Context(), b, label)
			if err != nil {
				t.Fatalf("tlskey.Certificate: %v", err)
			}
			if len(cert.Certificate) != 2 || !cert.Leaf.Equal(leaf) {
				t.Fatalf("tlskey.Certificate: %d certificates, leaf %v; want the stored leaf and intermediate", len(cert.Certificate), cert.Leaf.Subject)
			}
			addr := serveTLS(t, tlsServerConfig(cert))

			// OpenSSL.
			cmd := exec.Command(openssl, "s_client", "-connect", addr, "-servername", "keyplane.test",
				"-CAfile", rootPEM, "-verify_return_error", "-verify_hostname", "keyplane.test", "-showcerts")
			cmd.Stdin = strings.NewReader("")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl s_client -verify_return_error: %v\n%s\n%s", err, out, stderr.Bytes())
			}
			for _, want := range []string{"Verify return code: 0 (ok)", "1 s:CN = keyplane test intermediate", "0 s:CN = keyplane.test"} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("openssl s_client output lacks %q:\n%s", want, out)
				}
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "Verify return code") || strings.Contains(l, "Peer signature type") {
					t.Logf("openssl s_client: %s", strings.TrimSpace(l))
				}
			}

			// Go, over the network.
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, tlsClientConfig(rootPool(ca.root)))
			if err != nil {
				t.Fatalf("Go client: %v", err)
			}
			defer conn.Close()
			st := conn.ConnectionState()
			if len(st.VerifiedChains) != 1 || len(st.VerifiedChains[0]) != 3 || !st.VerifiedChains[0][2].Equal(ca.root) {
				t.Fatalf("Go client: %d verified chains, want one: leaf, intermediate, root", len(st.VerifiedChains))
			}
		})
	}
}

func rootPool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// serveTLS serves TLS handshakes on 127.0.0.1 until the test ends: each
// connection completes its handshake and is closed. It returns the
// address.
func serveTLS(t *testing.T, conf *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					t.Logf("TLS server: handshake: %v", err)
					return
				}
				buf := make([]byte, 1)
				c.Read(buf) // until the client closes
			})
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}
