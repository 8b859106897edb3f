package backend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestStaticSecretCopiesAndZeroes(t *testing.T) {
	src := []byte("4321-pin")
	s := backend.NewStaticSecret(src)
	clear(src) // the caller's copy is gone; the StaticSecret's is not
	a, err := s.Secret(t.Context())
	if err != nil || string(a) != "4321-pin" {
		t.Fatalf("Secret = %q, %v; want the secret", a, err)
	}
	clear(a) // a backend zeroes what it got: the next call is unaffected
	b, err := s.Secret(t.Context())
	if err != nil || string(b) != "4321-pin" {
		t.Fatalf("second Secret = %q, %v; want a fresh copy", b, err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		if out := fmt.Sprintf(verb, s); strings.Contains(out, "4321") || strings.Contains(out, fmt.Sprintf("%x", "4321")) {
			t.Errorf("Sprintf(%s) shows the secret: %s", verb, out)
		}
	}
	s.Zero()
	if got, err := s.Secret(t.Context()); !errors.Is(err, backend.ErrClosed) || got != nil {
		t.Errorf("Secret after Zero = %q, %v; want ErrClosed", got, err)
	}
}

func TestReadSecret(t *testing.T) {
	ctx := t.Context()
	if _, err := backend.ReadSecret(ctx, "PIN", nil); !errors.Is(err, backend.ErrNoSecret) || !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("nil func: %v, want ErrNoSecret wrapping ErrAuthentication", err)
	}
	empty := func(context.Context) ([]byte, error) { return []byte{}, nil }
	if _, err := backend.ReadSecret(ctx, "PIN", empty); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("empty secret: %v, want ErrAuthentication", err)
	}
	boom := errors.New("vault sealed")
	failing := func(context.Context) ([]byte, error) { return nil, boom }
	if _, err := backend.ReadSecret(ctx, "PIN", failing); !errors.Is(err, boom) || !strings.Contains(err.Error(), "PIN") {
		t.Errorf("failing func: %v, want it wrapped and naming the PIN", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	f := func(context.Context) ([]byte, error) { called = true; return []byte("x"), nil }
	if _, err := backend.ReadSecret(done, "PIN", f); !errors.Is(err, backend.ErrUnavailable) || called {
		t.Errorf("done context: %v (called %v), want ErrUnavailable without a call", err, called)
	}
}
