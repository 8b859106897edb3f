package fernet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// FuzzDecrypt feeds arbitrary token text to Decrypt, MultiFernet.Decrypt,
// Rotate and ExtractTimestamp under the specification's key. None may
// panic; every failure is exactly ErrInvalidToken; a token that opens must
// be well-formed and open the same way everywhere.
func FuzzDecrypt(f *testing.F) {
	cases := loadSpecCases(f)
	for _, c := range cases {
		f.Add([]byte(c.Token), int64(c.TTLSeconds))
	}
	key, err := ParseKey(cases[0].Key)
	if err != nil {
		f.Fatal(err)
	}
	fk, err := NewSoftwareKey(key)
	if err != nil {
		f.Fatal(err)
	}
	fern := New(fk)
	at := time.Unix(499162800, 0)
	for _, msg := range []string{"", "x", "sixteen bytes!!!", "a longer message spanning blocks"} {
		tok, err := fern.EncryptAtTime(f.Context(), []byte(msg), at)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok, int64(0))
		f.Add(tok[:len(tok)/2], int64(60))
	}
	f.Add([]byte(""), int64(0))
	f.Add([]byte("===="), int64(1))
	f.Add([]byte("gA=="), int64(0))
	f.Add([]byte(base64.URLEncoding.EncodeToString(append([]byte{0x80}, make([]byte, 72)...))), int64(0))

	other, err := NewSoftwareKey(backend.SecretKey{Algorithm: backend.Fernet, Value: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	multi, err := NewMulti(New(other), fern)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token []byte, ttlSec int64) {
		ctx := t.Context()
		ttl := time.Duration(ttlSec) * time.Second
		now := at.Add(time.Second)
		msg, err := fern.DecryptAtTime(ctx, token, ttl, now)
		mmsg, merr := multi.DecryptAtTime(ctx, token, ttl, now)
		if (err == nil) != (merr == nil) || !bytes.Equal(msg, mmsg) {
			t.Fatalf("Fernet (%q, %v) and MultiFernet (%q, %v) disagree", msg, err, mmsg, merr)
		}
		_, terr := fern.ExtractTimestamp(ctx, token)
		rot, rerr := multi.Rotate(ctx, token)
		if err != nil {
			if err != ErrInvalidToken || merr != ErrInvalidToken {
				t.Fatalf("errors %v / %v, want exactly ErrInvalidToken", err, merr)
			}
			if rerr != nil && !errors.Is(rerr, ErrInvalidToken) {
				t.Fatalf("Rotate: %v", rerr)
			}
			return
		}
		// It opened: it must be a well-formed token with a good MAC.
		if terr != nil || rerr != nil {
			t.Fatalf("token opens, but ExtractTimestamp: %v, Rotate: %v", terr, rerr)
		}
		if _, perr := parseToken(token); perr != nil {
			t.Fatalf("token opens but does not parse: %v", perr)
		}
		// Rotation moved it to the first key and kept the message.
		if got, err := New(other).Decrypt(ctx, rot, 0); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("rotated token: %q, %v; want %q", got, err, msg)
		}
	})
}

// FuzzParseKey: no panic, and only 32-byte base64url keys are accepted.
func FuzzParseKey(f *testing.F) {
	f.Add("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	f.Add("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4")
	f.Add("")
	f.Add(" \n")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKey(text)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			return
		}
		if len(k.Value) != KeySize || k.Algorithm != backend.Fernet {
			t.Fatalf("accepted a key of %d bytes, algorithm %q", len(k.Value), k.Algorithm)
		}
		if _, err := NewSoftwareKey(k); err != nil {
			t.Fatalf("parsed key refused by NewSoftwareKey: %v", err)
		}
	})
}
