//go:build !cgo || nopkcs11

package pkcs11_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
)

// TestStubFailsWithErrNoCgo checks the build without PKCS#11 support: a
// well-formed URI opens to ErrNoCgo (an ErrUnsupported), through the
// package and through the registry; a malformed one is still reported as
// malformed; every method of a Backend fails with ErrNoCgo.
func TestStubFailsWithErrNoCgo(t *testing.T) {
	if !errors.Is(pkcs11.ErrNoCgo, backend.ErrUnsupported) {
		t.Errorf("ErrNoCgo %v does not wrap ErrUnsupported", pkcs11.ErrNoCgo)
	}
	const uri = "pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"
	if b, err := pkcs11.Open(t.Context(), uri); b != nil || !errors.Is(err, pkcs11.ErrNoCgo) {
		t.Errorf("pkcs11.Open = %v, %v; want nil, ErrNoCgo", b, err)
	}
	if b, err := backend.Open(t.Context(), uri); b != nil || !errors.Is(err, pkcs11.ErrNoCgo) {
		t.Errorf("backend.Open = %v, %v; want nil, ErrNoCgo", b, err)
	}
	_, err := pkcs11.Open(t.Context(), "pkcs11:token=t?colour=blue")
	if !errors.Is(err, backend.ErrInvalidInput) || errors.Is(err, pkcs11.ErrNoCgo) {
		t.Errorf("Open with an unknown attribute = %v, want ErrInvalidInput and not ErrNoCgo", err)
	}
	if _, err := pkcs11.Discover(t.Context(), "/usr/lib/softhsm/libsofthsm2.so", pkcs11.DiscoverOptions{}); !errors.Is(err, pkcs11.ErrNoCgo) {
		t.Errorf("Discover = %v, want ErrNoCgo", err)
	}

	var b pkcs11.Backend
	var _ backend.Backend = &b
	ctx := context.Background()
	calls := map[string]error{
		"Capabilities": second(b.Capabilities(ctx)),
		"Key":          second(b.Key(ctx, "k")),
		"Keys":         second(b.Keys(ctx)),
		"DeleteKey":    b.DeleteKey(ctx, "k"),
		"GenerateKey":  second(b.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256})),
		"ImportKey":    second(b.ImportKey(ctx, "k", backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)})),
		"Signer":       second(b.Signer(ctx, "k")),
		"Decrypter":    second(b.Decrypter(ctx, "k")),
		"AEAD":         second(b.AEAD(ctx, "k")),
		"Fernet":       second(b.Fernet(ctx, "k")),
		"Health":       b.Health(ctx),
	}
	for name, err := range calls {
		if !errors.Is(err, pkcs11.ErrNoCgo) {
			t.Errorf("Backend.%s = %v, want ErrNoCgo", name, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
