//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// soPIN is a SecretFunc that hands out a fresh copy of pin on each call.
func soPIN(pin string) backend.SecretFunc {
	return func(context.Context) ([]byte, error) { return []byte(pin), nil }
}

// recordedSecret is a SecretFunc that keeps the slices it handed out, to
// check that the caller zeroed them.
type recordedSecret struct {
	value string
	given [][]byte
}

func (r *recordedSecret) secret(context.Context) ([]byte, error) {
	b := []byte(r.value)
	r.given = append(r.given, b)
	return b, nil
}

// zeroed fails t unless the callback was called exactly once and the
// slice it returned holds only zero bytes now.
func (r *recordedSecret) zeroed(t *testing.T, what string) {
	t.Helper()
	if len(r.given) != 1 {
		t.Fatalf("%s: the SO PIN callback was called %d times, want 1", what, len(r.given))
	}
	for i, c := range r.given[0] {
		if c != 0 {
			t.Fatalf("%s: byte %d of the SO PIN the callback returned is not zeroed", what, i)
		}
	}
}

// TestTrustedKeySOPIN: CreateTrustedWrappingKey takes the SO PIN from a
// backend.SecretFunc, calls it once, and zeroes the bytes it returned
// once C_Login returned, after a right PIN and after a wrong one; a nil
// callback and a failing one are refused before any login, and no error
// shows the PIN. Token wrap-b, with no user PIN in the URI (no user
// login, so the SO can log in whatever other tests left open).
func TestTrustedKeySOPIN(t *testing.T) {
	ctx := t.Context()
	tok := token(t)
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s", wrapTokenLabels[1], tok.Module)
	key := backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}

	right := &recordedSecret{value: tok.SOPIN}
	k, err := CreateTrustedWrappingKey(ctx, uri, right.secret, "so-pin-callback", key)
	if err != nil {
		t.Fatalf("CreateTrustedWrappingKey: %v", err)
	}
	if k.Label != "so-pin-callback" || k.Algorithm != backend.AES256 {
		t.Fatalf("key = %+v", k)
	}
	right.zeroed(t, "right SO PIN")

	const wrongPIN = "so-wrong-8c3d"
	wrong := &recordedSecret{value: wrongPIN}
	_, err = CreateTrustedWrappingKey(ctx, uri, wrong.secret, "so-pin-wrong", key)
	if !errors.Is(err, backend.ErrAuthentication) || codeOf(err) != pkcs11.CKR_PIN_INCORRECT {
		t.Fatalf("wrong SO PIN: %v, want ErrAuthentication, CKR_PIN_INCORRECT", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, wrongPIN) {
		t.Fatalf("the error shows the SO PIN: %s", s)
	}
	if !strings.Contains(err.Error(), "security officer") {
		t.Errorf("wrong SO PIN: %v, want the error to say the security officer's login failed", err)
	}
	wrong.zeroed(t, "wrong SO PIN")

	_, err = CreateTrustedWrappingKey(ctx, uri, nil, "so-pin-nil", key)
	if !errors.Is(err, backend.ErrNoSecret) || !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "security officer's PIN") {
		t.Fatalf("nil SO PIN callback: %v, want ErrNoSecret naming the security officer's PIN", err)
	}

	failing := func(context.Context) ([]byte, error) {
		return nil, fmt.Errorf("secret manager unreachable: %w", backend.ErrUnavailable)
	}
	_, err = CreateTrustedWrappingKey(ctx, uri, failing, "so-pin-failing", key)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "secret manager unreachable") || !strings.Contains(err.Error(), "security officer's PIN") {
		t.Fatalf("failing SO PIN callback: %v, want its error, wrapped, naming the security officer's PIN", err)
	}

	empty := func(context.Context) ([]byte, error) { return []byte{}, nil }
	if _, err := CreateTrustedWrappingKey(ctx, uri, empty, "so-pin-empty", key); !errors.Is(err, backend.ErrAuthentication) {
		t.Fatalf("empty SO PIN: %v, want ErrAuthentication", err)
	}
}
