// Package backend is keyplane's contract: the interfaces every key backend
// implements, the names of key algorithms and operations, the sentinel
// errors, and a registry that opens a backend from a URI the way
// database/sql opens a driver.
//
// A program asks for a key by reference and gets back standard Go handles:
//
//	b, err := backend.Open(ctx, "software:memory")
//	key, err := b.GenerateKey(ctx, backend.KeySpec{Label: "release", Algorithm: backend.ECP256})
//	signer, err := b.Signer(ctx, "release") // a crypto.Signer
//	sig, err := signer.Sign(rand.Reader, digest, crypto.SHA256)
//
// The same crypto.Signer plugs into crypto/tls, crypto/x509 and every
// library that accepts one.
//
// # Configuration in code
//
// Each backend package has ParseURI(string) (*Config, error) and
// OpenConfig(ctx, *Config); Open is the string convenience on top.
// Secrets a URI should not carry (a PIN, a passphrase) are Config fields of
// type [SecretFunc], called when the backend needs them; [StaticSecret]
// holds one a program already has. The library reads no environment
// variable by itself.
//
// # Key references
//
// Methods that take a key reference (ref) accept the key's label, or
// "id:" followed by the key's ID in hexadecimal. A backend may accept more
// forms (the PKCS#11 backend takes a full RFC 7512 key URI). See [ParseKeyRef].
//
// # Errors
//
// Every backend maps its failures onto the sentinels in errors.go
// ([ErrNotFound], [ErrDecryption], ...), wrapped with context using %w, so
// errors.Is works the same whatever the backend, and across the plugin
// boundary. Errors never contain PINs, passphrases or key material.
//
// # Concurrency
//
// Backends, and the crypto.Signer and crypto.Decrypter values they hand out,
// are safe for concurrent use by multiple goroutines.
//
// This package imports only the standard library.
package backend
