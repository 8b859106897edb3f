// Package tlskey makes a crypto/tls certificate from a backend key and the
// certificate chain stored with it (backend.CertificateStore), so that a
// TLS server whose private key stays in a PKCS#11 token, a software
// keystore or a plugin takes three lines:
//
//	b, _ := backend.Open(ctx, "pkcs11:token=web?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin")
//	cert, _ := tlskey.Certificate(ctx, b, "web")
//	srv := &http.Server{Addr: ":443", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
//
// The chain gets there with `keyplane cert import --key web --in chain.pem`
// (or `keyplane selfsign --store`, or CertificateStore.StoreCertificates).
//
// The certificate's PrivateKey is the backend's crypto.Signer: each TLS
// handshake signs once with the key where it lives (ECDSA, Ed25519, or
// RSA-PSS for TLS 1.3; TLS 1.2 may ask RSA keys for PKCS#1 v1.5). Leaf is
// set, so crypto/tls does not parse the certificate again.
//
// # Concurrency
//
// Certificate is safe for concurrent use. The tls.Certificate it returns
// may serve any number of handshakes at once; its signer's concurrency is
// its backend's (a PKCS#11 backend signs on a pool of sessions).
//
// # Limitations
//
// The chain is read once, when Certificate is called: after storing a
// renewed chain, call it again (for example from tls.Config's
// GetCertificate, with a cache of your own). Certificate does not check
// validity periods, key usages or the chain's signatures; the peer does.
package tlskey
