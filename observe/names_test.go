package observe

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists (docs/decisions.md); its options must be named

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestOutcome(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("C_Sign: %w", backend.ErrNotFound), "not-found"},
		{backend.ErrAlreadyExists, "already-exists"},
		{backend.ErrUnsupported, "unsupported"},
		{backend.ErrInvalidInput, "invalid-input"},
		{fmt.Errorf("x: %w", backend.ErrDecryption), "decryption-failed"},
		{backend.ErrAuthentication, "authentication-failed"},
		{backend.ErrUnavailable, "unavailable"},
		{backend.ErrClosed, "closed"},
		{fmt.Errorf("waiting: %w", context.Canceled), "canceled"},
		{context.DeadlineExceeded, "deadline-exceeded"},
		{fmt.Errorf("waiting: %w: %w", context.DeadlineExceeded, backend.ErrUnavailable), "unavailable"},
		{errors.New("something else"), "error"},
	} {
		if got := Outcome(tt.err); got != tt.want {
			t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestOperationNames(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		pub  crypto.PublicKey
		opts crypto.SignerOpts
		want string
	}{
		{&rk.PublicKey, crypto.SHA256, "rsa-pkcs1v15-sha256"},
		{&rk.PublicKey, crypto.SHA512, "rsa-pkcs1v15-sha512"},
		{&rk.PublicKey, &rsa.PSSOptions{Hash: crypto.SHA384}, "rsa-pss-sha384"},
		{&ek.PublicKey, crypto.SHA256, "ecdsa-sha256"},
		{&ek.PublicKey, crypto.SHA224, "sign"}, // no operation name for it
		{&ek.PublicKey, crypto.SHA1, "sign"},
		{edPub, crypto.Hash(0), "ed25519"},
		{edPub, &ed25519.Options{}, "ed25519"},
		{edPub, &ed25519.Options{Hash: crypto.SHA512}, "sign"},
		{&ek.PublicKey, nil, "sign"},
	} {
		if got := signOperation(tt.pub, tt.opts); got != tt.want {
			t.Errorf("signOperation(%T, %v) = %q, want %q", tt.pub, tt.opts, got, tt.want)
		}
	}
	for _, tt := range []struct {
		opts crypto.DecrypterOpts
		want string
	}{
		{nil, "rsa-pkcs1v15"},
		{&rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16}, "rsa-pkcs1v15"},
		{&rsa.OAEPOptions{Hash: crypto.SHA256}, "rsa-oaep-sha256"},
		{&rsa.OAEPOptions{Hash: crypto.SHA1}, "rsa-oaep-sha1"},
		{&rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA1}, "decrypt"},
		{&rsa.OAEPOptions{Hash: crypto.SHA224}, "decrypt"},
		{"other", "decrypt"},
	} {
		if got := decryptOperation(tt.opts); got != tt.want {
			t.Errorf("decryptOperation(%v) = %q, want %q", tt.opts, got, tt.want)
		}
	}
}

func TestRefKey(t *testing.T) {
	for _, tt := range []struct {
		ref  string
		want keyInfo
	}{
		{"signing", keyInfo{label: "signing"}},
		{"id:0a0b", keyInfo{id: "0a0b"}},
		{"pkcs11:object=k?pin-value=1234", keyInfo{ref: "pkcs11:object=k?pin-value=REDACTED"}},
	} {
		if got := refKey(tt.ref); got != tt.want {
			t.Errorf("refKey(%q) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}
