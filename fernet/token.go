package fernet

import (
	"bytes"
	"crypto/aes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"time"
)

// Token layout (Spec.md, "Token Format").
const (
	version       = 0x80
	versionLen    = 1
	timestampLen  = 8
	ivLen         = aes.BlockSize
	macLen        = sha256.Size
	headerLen     = versionLen + timestampLen + ivLen // 25
	minTokenLen   = headerLen + aes.BlockSize + macLen
	maxClockSkew  = 60 // seconds; pyca's _MAX_CLOCK_SKEW
	internalEpoch = 62135596800
)

// token is a decoded, structurally valid token whose MAC is not yet checked.
type token struct {
	raw []byte // the decoded token
	ts  uint64
}

func (t *token) signed() []byte     { return t.raw[:len(t.raw)-macLen] }
func (t *token) mac() []byte        { return t.raw[len(t.raw)-macLen:] }
func (t *token) iv() []byte         { return t.raw[versionLen+timestampLen : headerLen] }
func (t *token) ciphertext() []byte { return t.raw[headerLen : len(t.raw)-macLen] }

// parseToken decodes a token's text and checks what can be checked
// without the key: base64url, the version byte, and the lengths (a
// ciphertext of one or more whole AES blocks). Every failure is
// ErrInvalidToken.
func parseToken(text []byte) (*token, error) {
	text = bytes.TrimSpace(text)
	raw := make([]byte, base64.URLEncoding.DecodedLen(len(text)))
	n, err := base64.URLEncoding.Decode(raw, text)
	if err != nil {
		return nil, ErrInvalidToken
	}
	raw = raw[:n]
	if len(raw) < minTokenLen || (len(raw)-headerLen-macLen)%aes.BlockSize != 0 || raw[0] != version {
		return nil, ErrInvalidToken
	}
	return &token{raw: raw, ts: binary.BigEndian.Uint64(raw[versionLen:])}, nil
}

// parseFreshToken is parseToken for Decrypt: with ttl > 0 the token must
// also be fresh at now. Every failure is ErrInvalidToken.
func parseFreshToken(text []byte, ttl time.Duration, now time.Time) (*token, error) {
	tok, err := parseToken(text)
	if err != nil {
		return nil, err
	}
	if ttl > 0 && !fresh(tok.ts, ttl, now) {
		return nil, ErrInvalidToken
	}
	return tok, nil
}

// fresh applies pyca's time rules to a token made at ts seconds, read at
// now with a time-to-live of ttl (> 0): refuse it when ts + ttl < now
// (now in whole seconds, rounded down) or when ts is more than 60 seconds
// ahead of now. The arithmetic cannot overflow for any ts.
func fresh(ts uint64, ttl time.Duration, now time.Time) bool {
	if ts > math.MaxInt64 {
		return false // billions of years ahead
	}
	t, nowSec := int64(ts), now.Unix()
	if t-maxClockSkew > nowSec {
		return false // too far in the future
	}
	// Here t <= nowSec+60 and t >= 0, so age >= -60 and does not overflow.
	age := nowSec - t
	if age > int64(math.MaxInt64/time.Second) {
		return false // older than the longest Duration
	}
	return time.Duration(age)*time.Second <= ttl
}

// timestampTime converts a token's timestamp to a time.Time, reporting
// false when time.Time cannot represent it.
func timestampTime(ts uint64) (time.Time, bool) {
	if ts > math.MaxInt64-internalEpoch {
		return time.Time{}, false
	}
	return time.Unix(int64(ts), 0), true
}
