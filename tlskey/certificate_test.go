package tlskey_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/tlskey"
)

// TestCertificateErrors: the errors say what is missing and keep their
// sentinels.
func TestCertificateErrors(t *testing.T) {
	ctx := context.Background()
	b, err := backend.Open(ctx, "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "bare", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "aes", Algorithm: backend.AES256}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		b    backend.Signer
		ref  string
		want error
		says string
	}{
		{"a key without certificates", b, "bare", backend.ErrNotFound, "no certificate stored"},
		{"an unknown key", b, "missing", backend.ErrNotFound, `"missing"`},
		{"a secret key", b, "aes", backend.ErrUnsupported, "secret key"},
		{"a backend without CertificateStore", struct{ backend.Backend }{b}, "bare", backend.ErrUnsupported, "stores no certificates"},
	} {
		_, err := tlskey.Certificate(ctx, tc.b, tc.ref)
		if err == nil {
			t.Errorf("%s: no error", tc.what)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %q does not say %q", tc.what, err, tc.says)
		}
	}
}
