package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// SecretFunc supplies a secret — a token's PIN, a keystore's passphrase —
// when a backend needs it, so that a secret fetched from a secret manager,
// a prompt or a hardware store never passes through a URI, a file or an
// environment variable:
//
//	cfg, err := pkcs11.ParseURI("pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so")
//	cfg.PIN = func(ctx context.Context) ([]byte, error) {
//		return vault.Read(ctx, "hsm/signing/pin") // your secret manager
//	}
//	b, err := pkcs11.OpenConfig(ctx, cfg)
//
// The backend calls it each time it needs the secret (a PKCS#11 backend:
// at each login, which happens again after a token comes back from a
// fault, and before each use of a key that demands its own login), with a
// context that bounds the call. It owns the returned slice: it zeroes it
// once used, where it can (each backend's documentation says what it
// keeps), so a SecretFunc must return a fresh slice on every call — never
// one it keeps and hands out again. An error from it fails the operation
// that needed the secret, wrapped; it should not contain the secret.
//
// A nil SecretFunc means the secret was not supplied.
type SecretFunc func(ctx context.Context) ([]byte, error)

// StaticSecret holds a secret the program already has, for a backend
// that wants a SecretFunc: pass its Secret method.
//
//	pin := backend.NewStaticSecret(pinBytes) // copies; zero pinBytes now
//	clear(pinBytes)
//	cfg.PIN = pin.Secret
//	...
//	pin.Zero() // when no backend will need it again
//
// It holds the secret in a byte slice, never a string, so that Zero can
// wipe it. A secret kept elsewhere (a secret manager, a prompt) is better
// fetched by a SecretFunc of its own, when it is needed. It is safe for
// concurrent use. Its String and Format never show the secret.
type StaticSecret struct {
	mu sync.Mutex
	b  []byte // nil once zeroed
}

// NewStaticSecret returns a StaticSecret holding a copy of secret: the
// caller may (and should) zero its own slice once it has returned.
func NewStaticSecret(secret []byte) *StaticSecret {
	return &StaticSecret{b: append([]byte{}, secret...)}
}

// Secret is the StaticSecret as a SecretFunc: it returns a fresh copy of
// the secret on every call (the caller zeroes it), or an error wrapping
// ErrClosed after Zero.
func (s *StaticSecret) Secret(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		return nil, fmt.Errorf("the secret was zeroed: %w", ErrClosed)
	}
	return append([]byte{}, s.b...), nil
}

// Zero wipes the held secret; Secret fails from then on.
func (s *StaticSecret) Zero() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.b)
	s.b = nil
}

// String never shows the secret.
func (s *StaticSecret) String() string { return "backend.StaticSecret(REDACTED)" }

// Format never shows the secret, whatever the verb.
func (s *StaticSecret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// ErrNoSecret is what ReadSecret returns for a nil SecretFunc. It wraps
// ErrAuthentication: a backend that needs a secret nobody supplied cannot
// authenticate.
var ErrNoSecret = fmt.Errorf("no secret supplied: %w", ErrAuthentication)

// ReadSecret calls f and checks its answer: a nil f gives ErrNoSecret, an
// error from f comes back wrapped with what (the secret's name, "PIN"),
// and an empty secret is refused with ErrAuthentication (an empty PIN is
// almost always a mistake: an unset variable, an empty file). A context
// already done is not passed to f.
func ReadSecret(ctx context.Context, what string, f SecretFunc) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("%s: %w", what, ErrNoSecret)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, err, ErrUnavailable)
	}
	b, err := f(ctx)
	if err != nil {
		clear(b)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: %w: %w", what, err, ErrUnavailable)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: the secret callback returned an empty secret: %w", what, ErrAuthentication)
	}
	return b, nil
}
