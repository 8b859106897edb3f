package plugins

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The direct channel: Sign and Decrypt, the calls that run per operation,
// go over a pool of plain TLS 1.3 connections on a Unix socket, one call at
// a time per connection, written and read by the calling goroutine itself.
// gRPC hands each call through several goroutines on each side (the
// caller, the HTTP/2 writer, the reader, the handler), and on a busy
// machine every hand-off between threads costs a wake-up; the direct
// channel has none. It is set up through the gRPC channel (OpenDirect),
// which authenticates both one-time certificates, so it is as well
// protected as the gRPC channel itself.

// directVersion is the framing version of the direct channel.
const directVersion = 1

// Direct operations.
const (
	directSign    byte = 1
	directDecrypt byte = 2
)

// Direct answer status bytes.
const (
	directOK    byte = 0
	directError byte = 1
)

// maxDirectFrame bounds a direct frame; larger requests (an Ed25519
// signature over a big message) go over gRPC.
const maxDirectFrame = 16 << 20

// maxDirectRequest is the largest request payload the host sends directly.
const maxDirectRequest = 1 << 20

// oneTimeCert makes a self-signed P-256 certificate for one direct
// channel; its peer pins it by its exact bytes.
func oneTimeCert(cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"localhost"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour), // lives as long as the process
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// pinPeer returns a VerifyPeerCertificate function that accepts exactly
// the certificate der.
func pinPeer(der []byte) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 || string(raw[0]) != string(der) {
			return errors.New("direct channel: peer certificate is not the pinned one")
		}
		return nil
	}
}

// directTLS is the TLS configuration of either end: TLS 1.3, our one-time
// certificate, the peer's pinned.
func directTLS(own tls.Certificate, peer []byte, server bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{own},
		VerifyPeerCertificate: pinPeer(peer),
		ServerName:            "localhost",
	}
	if server {
		// The pin is the verification: the certificates are self-signed
		// one-time ones, exchanged over the authenticated gRPC channel.
		cfg.ClientAuth = tls.RequireAnyClientCert
	} else {
		cfg.InsecureSkipVerify = true // replaced by pinPeer, which always runs
	}
	return cfg
}

// directTransportError is a failure of a direct connection itself, not of
// the plugin's backend.
type directTransportError struct {
	err     error
	timeout bool
}

func (e *directTransportError) Error() string {
	return fmt.Sprintf("direct channel: %v", e.err)
}

func (e *directTransportError) Unwrap() error { return e.err }
