// Package trustedkey sets up, for tests and the token matrix, the AES-256
// wrapping key the conformance suite's wrap checks need
// (conformance.Config.TrustedWrappingKey and UnwrappingKey) on a PKCS#11
// token: its trusted, wrap-only half made by the token's security officer
// (pkcs11.CreateTrustedWrappingKey) and its unwrap-only half, under
// another label, in the same token or others (ImportUnwrappingKey).
//
// # Security
//
// The key's 32 bytes are random, exist in this process only while Make
// runs, and are zeroed before it returns. The SO PIN comes from a
// backend.SecretFunc and is handled as pkcs11 handles it.
package trustedkey

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
)

// Make creates, in the token uri names, the trusted wrapping key label
// (the SO logs in with soPIN; uri's user PIN, when it has one, checks
// that no private object has the label), and the unwrapping half
// label+"-unwrap" in the same token and in each token of unwrapIn. It
// returns the two labels. The application must not be logged in to
// uri's token as its user while Make runs (see CreateTrustedWrappingKey).
func Make(ctx context.Context, uri string, soPIN backend.SecretFunc, label string, unwrapIn ...string) (wrapping, unwrapping string, err error) {
	value := make([]byte, 32)
	defer clear(value)
	_, _ = rand.Read(value) // crypto/rand.Read never fails
	key := backend.SecretKey{Algorithm: backend.AES256, Value: value}
	if _, err := pkcs11.CreateTrustedWrappingKey(ctx, uri, soPIN, label, key); err != nil {
		return "", "", err
	}
	unwrapping = label + "-unwrap"
	for _, u := range append([]string{uri}, unwrapIn...) {
		b, err := pkcs11.Open(ctx, u)
		if err != nil {
			return "", "", err
		}
		_, err = b.ImportUnwrappingKey(ctx, unwrapping, key)
		b.Close()
		if err != nil {
			return "", "", fmt.Errorf("the unwrapping half in %s: %w", backend.Redact(u), err)
		}
	}
	return label, unwrapping, nil
}

// StaticPIN is a SecretFunc for a PIN the test knows: a fresh copy on
// every call.
func StaticPIN(pin string) backend.SecretFunc {
	return func(context.Context) ([]byte, error) { return []byte(pin), nil }
}
