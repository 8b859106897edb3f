package fernet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// MultiFernet holds several keys for rotation, like pyca's MultiFernet: it
// encrypts with the first key and decrypts with whichever key fits.
type MultiFernet struct {
	keys []*Fernet
}

// NewMulti returns a MultiFernet over keys, the first being the one that
// encrypts. It needs at least one key, and no nil ones.
func NewMulti(keys ...*Fernet) (*MultiFernet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("fernet: MultiFernet needs at least one key: %w", backend.ErrInvalidInput)
	}
	for i, k := range keys {
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("fernet: MultiFernet key %d: %w", i, err)
		}
	}
	return &MultiFernet{keys: append([]*Fernet(nil), keys...)}, nil
}

func (m *MultiFernet) check() error {
	if m == nil || len(m.keys) == 0 {
		return fmt.Errorf("fernet: empty MultiFernet (use fernet.NewMulti): %w", backend.ErrInvalidInput)
	}
	return nil
}

// Encrypt makes a token with the first key.
func (m *MultiFernet) Encrypt(ctx context.Context, msg []byte) ([]byte, error) {
	return m.EncryptAtTime(ctx, msg, time.Now())
}

// EncryptAtTime makes a token with the first key, stamped with at.
func (m *MultiFernet) EncryptAtTime(ctx context.Context, msg []byte, at time.Time) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return m.keys[0].EncryptAtTime(ctx, msg, at)
}

// Decrypt returns the message in a token made with any of the keys; ttl
// is as for Fernet.Decrypt.
func (m *MultiFernet) Decrypt(ctx context.Context, token []byte, ttl time.Duration) ([]byte, error) {
	return m.DecryptAtTime(ctx, token, ttl, time.Now())
}

// DecryptAtTime is Decrypt with now as the current time.
func (m *MultiFernet) DecryptAtTime(ctx context.Context, token []byte, ttl time.Duration, now time.Time) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	tok, err := parseFreshToken(token, ttl, now)
	if err != nil {
		return nil, err
	}
	return m.open(ctx, tok)
}

// open tries every key in order. When no key opens the token and some key's
// backend failed (rather than finding the token invalid), that failure is
// returned: the token may be good under the key that could not be asked.
func (m *MultiFernet) open(ctx context.Context, tok *token) ([]byte, error) {
	var failure error
	for _, f := range m.keys {
		msg, err := f.open(ctx, tok)
		if err == nil {
			return msg, nil
		}
		if !errors.Is(err, ErrInvalidToken) && failure == nil {
			failure = err
		}
	}
	if failure != nil {
		return nil, failure
	}
	return nil, ErrInvalidToken
}

// Rotate re-encrypts a token made with any of the keys under the first
// key, keeping its original timestamp, like pyca's MultiFernet.rotate. The
// token's age is not checked.
func (m *MultiFernet) Rotate(ctx context.Context, token []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	tok, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	msg, err := m.open(ctx, tok)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, ivLen)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("fernet: reading randomness for the IV: %v: %w", err, backend.ErrUnavailable)
	}
	return m.keys[0].seal(ctx, msg, tok.ts, iv)
}
