package fernet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// Fernet makes and reads Fernet tokens with one key, which any backend may
// hold.
type Fernet struct {
	key backend.FernetKey
}

// New returns a Fernet that uses k: a key from a backend's
// FernetBackend.Fernet, or from NewSoftwareKey.
func New(k backend.FernetKey) *Fernet {
	return &Fernet{key: k}
}

func (f *Fernet) check() error {
	if f == nil || f.key == nil {
		return fmt.Errorf("fernet: no key (use fernet.New with a backend.FernetKey): %w", backend.ErrInvalidInput)
	}
	return nil
}

// Encrypt returns a token (base64url text, ASCII) holding msg, stamped with
// the current time.
func (f *Fernet) Encrypt(ctx context.Context, msg []byte) ([]byte, error) {
	return f.EncryptAtTime(ctx, msg, time.Now())
}

// EncryptAtTime is Encrypt with the token's timestamp set to at (whole
// seconds), like pyca's encrypt_at_time. Times before 1970 cannot be
// encoded and give an error wrapping backend.ErrInvalidInput.
func (f *Fernet) EncryptAtTime(ctx context.Context, msg []byte, at time.Time) ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	ts := at.Unix()
	if ts < 0 {
		return nil, fmt.Errorf("fernet: timestamp %s is before 1970, which a token cannot hold: %w", at.UTC().Format(time.RFC3339), backend.ErrInvalidInput)
	}
	iv := make([]byte, ivLen)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("fernet: reading randomness for the IV: %v: %w", err, backend.ErrUnavailable)
	}
	return f.seal(ctx, msg, uint64(ts), iv)
}

// seal builds the token from its parts (pyca's _encrypt_from_parts).
func (f *Fernet) seal(ctx context.Context, msg []byte, ts uint64, iv []byte) ([]byte, error) {
	ct, err := f.key.EncryptCBC(ctx, iv, msg)
	if err != nil {
		return nil, fmt.Errorf("fernet: encrypting: %w", err)
	}
	if want := (len(msg)/ivLen + 1) * ivLen; len(ct) != want {
		return nil, fmt.Errorf("fernet: the backend returned a CBC ciphertext of %d bytes for a %d-byte message, want %d: %w", len(ct), len(msg), want, backend.ErrUnavailable)
	}
	raw := make([]byte, 0, headerLen+len(ct)+macLen)
	raw = append(raw, version)
	raw = binary.BigEndian.AppendUint64(raw, ts)
	raw = append(raw, iv...)
	raw = append(raw, ct...)
	mac, err := f.key.MAC(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("fernet: computing the MAC: %w", err)
	}
	if len(mac) != macLen {
		return nil, fmt.Errorf("fernet: the backend returned a MAC of %d bytes, want %d: %w", len(mac), macLen, backend.ErrUnavailable)
	}
	raw = append(raw, mac...)
	out := make([]byte, base64.URLEncoding.EncodedLen(len(raw)))
	base64.URLEncoding.Encode(out, raw)
	return out, nil
}

// Decrypt checks a token and returns the message in it. With ttl > 0 the
// token must be at most ttl old and at most 60 seconds in the future; with
// ttl <= 0 its age is not checked (pyca's ttl=None). A bad token of any kind
// gives ErrInvalidToken; failures of the backend are returned wrapped.
func (f *Fernet) Decrypt(ctx context.Context, token []byte, ttl time.Duration) ([]byte, error) {
	return f.DecryptAtTime(ctx, token, ttl, time.Now())
}

// DecryptAtTime is Decrypt with now as the current time, like pyca's
// decrypt_at_time.
func (f *Fernet) DecryptAtTime(ctx context.Context, token []byte, ttl time.Duration, now time.Time) ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	tok, err := parseFreshToken(token, ttl, now)
	if err != nil {
		return nil, err
	}
	return f.open(ctx, tok)
}

// ExtractTimestamp returns the time a token was made, after checking its
// MAC (not its age), like pyca's extract_timestamp.
func (f *Fernet) ExtractTimestamp(ctx context.Context, token []byte) (time.Time, error) {
	if err := f.check(); err != nil {
		return time.Time{}, err
	}
	tok, err := parseToken(token)
	if err != nil {
		return time.Time{}, err
	}
	if err := f.verify(ctx, tok); err != nil {
		return time.Time{}, err
	}
	t, ok := timestampTime(tok.ts)
	if !ok {
		return time.Time{}, ErrInvalidToken
	}
	return t, nil
}

// verify recomputes the token's MAC with the backend and compares it in
// constant time.
func (f *Fernet) verify(ctx context.Context, tok *token) error {
	mac, err := f.key.MAC(ctx, tok.signed())
	if err != nil {
		if backendFailure(err) {
			return fmt.Errorf("fernet: computing the MAC: %w", err)
		}
		return ErrInvalidToken
	}
	if !hmac.Equal(mac, tok.mac()) {
		return ErrInvalidToken
	}
	return nil
}

// open verifies the MAC, then (only then) decrypts.
func (f *Fernet) open(ctx context.Context, tok *token) ([]byte, error) {
	if err := f.verify(ctx, tok); err != nil {
		return nil, err
	}
	msg, err := f.key.DecryptCBC(ctx, tok.iv(), tok.ciphertext())
	if err != nil {
		if backendFailure(err) && !errors.Is(err, backend.ErrDecryption) {
			return nil, fmt.Errorf("fernet: decrypting: %w", err)
		}
		return nil, ErrInvalidToken
	}
	if msg == nil {
		msg = []byte{}
	}
	return msg, nil
}
