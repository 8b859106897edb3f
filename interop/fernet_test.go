package interop

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
)

// fernetMessages covers the padding edge cases: empty, one byte, exactly one
// block, one block and a byte, several blocks, binary.
var fernetMessages = [][]byte{
	{},
	[]byte("x"),
	[]byte("exactly 16 bytes"),
	[]byte("seventeen bytes!!"),
	[]byte("A really secret message. Not for prying eyes."),
	{0x00, 0xff, 0x80, 0x0a, 0x0d},
}

func hexList(msgs [][]byte) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = hex.EncodeToString(m)
	}
	return out
}

func tokenStrings(toks [][]byte) []string {
	out := make([]string, len(toks))
	for i, tok := range toks {
		out[i] = string(tok)
	}
	return out
}

type fernetResult struct {
	Message string `json:"message_hex"`
	Invalid bool   `json:"invalid"`
}

// pycaFernetDecrypt asks pyca to decrypt tokens with keys (a MultiFernet
// when more than one); ttl and now are pyca's (nil: not given).
func pycaFernetDecrypt(t *testing.T, keys []string, tokens []string, ttl, now any) []fernetResult {
	t.Helper()
	var resp struct {
		Results []fernetResult `json:"results"`
	}
	pyca(t, map[string]any{"op": "fernet-decrypt", "keys": keys, "tokens": tokens, "ttl": ttl, "now": now}, &resp)
	if len(resp.Results) != len(tokens) {
		t.Fatalf("pyca answered %d results for %d tokens", len(resp.Results), len(tokens))
	}
	return resp.Results
}

func pycaFernetEncrypt(t *testing.T, keys []string, msgs [][]byte, at any) [][]byte {
	t.Helper()
	var resp struct {
		Tokens []string `json:"tokens"`
	}
	pyca(t, map[string]any{"op": "fernet-encrypt", "keys": keys, "messages_hex": hexList(msgs), "at": at}, &resp)
	out := make([][]byte, len(resp.Tokens))
	for i, tok := range resp.Tokens {
		out[i] = []byte(tok)
	}
	return out
}

func pycaFernetKey(t *testing.T) string {
	t.Helper()
	var resp struct {
		Key string `json:"key"`
	}
	pyca(t, map[string]any{"op": "fernet-generate-key"}, &resp)
	return resp.Key
}

// importFernet imports pyca's key text into the backend and returns the
// Fernet over the backend-held key.
func importFernet(t *testing.T, b backend.Backend, keyText string) *fernet.Fernet {
	t.Helper()
	ctx := t.Context()
	sk, err := fernet.ParseKey(keyText)
	if err != nil {
		t.Fatal(err)
	}
	imp, ok := b.(backend.Importer)
	if !ok {
		t.Fatal("backend does not implement backend.Importer")
	}
	key, err := imp.ImportKey(ctx, label("fernet"), sk)
	if err != nil {
		t.Fatalf("importing a Fernet key: %v", err)
	}
	if key.Algorithm != backend.Fernet || key.Public != nil {
		t.Errorf("imported Fernet key: algorithm %s, public %T", key.Algorithm, key.Public)
	}
	fb, ok := b.(backend.FernetBackend)
	if !ok {
		t.Fatal("backend does not implement backend.FernetBackend")
	}
	fk, err := fb.Fernet(ctx, key.Label)
	if err != nil {
		t.Fatal(err)
	}
	return fernet.New(fk)
}

// TestFernetFromPyca: tokens pyca makes decrypt in keyplane with the key
// imported into the backend, with pyca's TTL rules.
func TestFernetFromPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		keyText := pycaFernetKey(t)
		f := importFernet(t, b, keyText)

		// Tokens made now.
		for i, tok := range pycaFernetEncrypt(t, []string{keyText}, fernetMessages, nil) {
			got, err := f.Decrypt(ctx, tok, time.Minute)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !bytes.Equal(got, fernetMessages[i]) {
				t.Errorf("message %d: got %q, want %q", i, got, fernetMessages[i])
			}
		}
		// A token made at a fixed time: its age decides with a TTL.
		at := int64(1700000000)
		toks := pycaFernetEncrypt(t, []string{keyText}, [][]byte{[]byte("timed")}, at)
		ts, err := f.ExtractTimestamp(ctx, toks[0])
		if err != nil || ts.Unix() != at {
			t.Errorf("timestamp of pyca's token: %v, %v; want %d", ts, err, at)
		}
		if _, err := f.DecryptAtTime(ctx, toks[0], time.Minute, time.Unix(at+60, 0)); err != nil {
			t.Errorf("60 s old with ttl 60 s: %v", err)
		}
		if _, err := f.DecryptAtTime(ctx, toks[0], time.Minute, time.Unix(at+61, 0)); !errors.Is(err, fernet.ErrInvalidToken) {
			t.Errorf("61 s old with ttl 60 s: %v, want ErrInvalidToken", err)
		}
		if _, err := f.Decrypt(ctx, toks[0], 0); err != nil {
			t.Errorf("old token without ttl: %v", err)
		}
		// Another key's token is refused with the vague error.
		other := pycaFernetEncrypt(t, []string{pycaFernetKey(t)}, [][]byte{[]byte("x")}, nil)
		if _, err := f.Decrypt(ctx, other[0], 0); !errors.Is(err, fernet.ErrInvalidToken) || !errors.Is(err, backend.ErrDecryption) {
			t.Errorf("another key's token: %v", err)
		}
	})
}

// TestFernetToPyca: tokens keyplane makes with the backend-held key decrypt
// in pyca, and pyca applies the same TTL and clock-skew rules keyplane does.
func TestFernetToPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		keyText := pycaFernetKey(t)
		f := importFernet(t, b, keyText)

		var toks [][]byte
		for _, m := range fernetMessages {
			tok, err := f.Encrypt(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, tok)
		}
		for i, r := range pycaFernetDecrypt(t, []string{keyText}, tokenStrings(toks), 60, nil) {
			if r.Invalid || r.Message != hex.EncodeToString(fernetMessages[i]) {
				t.Errorf("message %d: pyca got %+v, want %x", i, r, fernetMessages[i])
			}
		}

		// Time rules, compared case by case with keyplane's own answer.
		at := int64(1700000000)
		tok, err := f.EncryptAtTime(ctx, []byte("timed"), time.Unix(at, 0))
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			ttl   any // seconds, or nil for none
			now   int64
			valid bool
		}{
			{"fresh", 60, at, true},
			{"ttl old", 60, at + 60, true},
			{"expired", 60, at + 61, false},
			{"60 s ahead", 60, at - 60, true},
			{"61 s ahead (clock skew)", 60, at - 61, false},
		}
		var nowTokens []string
		for range cases {
			nowTokens = append(nowTokens, string(tok))
		}
		for i, c := range cases {
			r := pycaFernetDecrypt(t, []string{keyText}, nowTokens[i:i+1], c.ttl, c.now)[0]
			if r.Invalid == c.valid {
				t.Errorf("%s: pyca says invalid=%v, want valid=%v", c.name, r.Invalid, c.valid)
			}
			_, err := f.DecryptAtTime(ctx, tok, time.Duration(c.ttl.(int))*time.Second, time.Unix(c.now, 0))
			if (err == nil) != c.valid {
				t.Errorf("%s: keyplane says %v, want valid=%v", c.name, err, c.valid)
			}
		}
		// Without a ttl pyca checks no time at all; neither does keyplane.
		future, err := f.EncryptAtTime(ctx, []byte("future"), time.Now().Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if r := pycaFernetDecrypt(t, []string{keyText}, []string{string(future)}, nil, nil)[0]; r.Invalid {
			t.Error("pyca refuses a future token without a ttl")
		}
		if _, err := f.Decrypt(ctx, future, 0); err != nil {
			t.Errorf("keyplane refuses a future token without a ttl: %v", err)
		}
		if r := pycaFernetDecrypt(t, []string{keyText}, []string{string(future)}, 3600, nil)[0]; !r.Invalid {
			t.Error("pyca accepts a token 24 h in the future with a ttl")
		}
		// A tampered token is invalid in pyca too.
		bad := bytes.Clone(toks[4])
		bad[len(bad)/2] ^= 0x01
		if r := pycaFernetDecrypt(t, []string{keyText}, []string{string(bad)}, nil, nil)[0]; !r.Invalid {
			t.Error("pyca accepts a tampered token")
		}
	})
}

// TestMultiFernetRotationAcross: rotation in each library moves tokens made
// by the other to the new key, keeping their timestamps.
func TestMultiFernetRotationAcross(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		oldText, newText := pycaFernetKey(t), pycaFernetKey(t)
		oldF, newF := importFernet(t, b, oldText), importFernet(t, b, newText)
		m, err := fernet.NewMulti(newF, oldF)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(1650000000, 0)

		// keyplane's old-key tokens, rotated by pyca's MultiFernet([new, old]).
		var kpTokens [][]byte
		for _, msg := range fernetMessages {
			tok, err := oldF.EncryptAtTime(ctx, msg, at)
			if err != nil {
				t.Fatal(err)
			}
			kpTokens = append(kpTokens, tok)
		}
		var rot struct {
			Tokens []string `json:"tokens"`
		}
		pyca(t, map[string]any{"op": "fernet-rotate", "keys": []string{newText, oldText}, "tokens": tokenStrings(kpTokens)}, &rot)
		if len(rot.Tokens) != len(kpTokens) {
			t.Fatalf("pyca rotated %d of %d tokens", len(rot.Tokens), len(kpTokens))
		}
		for i, tok := range rot.Tokens {
			got, err := newF.Decrypt(ctx, []byte(tok), 0)
			if err != nil || !bytes.Equal(got, fernetMessages[i]) {
				t.Errorf("pyca-rotated token %d with the new key: %q, %v", i, got, err)
			}
			if _, err := oldF.Decrypt(ctx, []byte(tok), 0); !errors.Is(err, fernet.ErrInvalidToken) {
				t.Errorf("pyca-rotated token %d still opens with the old key: %v", i, err)
			}
			if ts, err := newF.ExtractTimestamp(ctx, []byte(tok)); err != nil || !ts.Equal(at) {
				t.Errorf("pyca-rotated token %d: timestamp %v, %v; want %v", i, ts, err, at)
			}
		}

		// pyca's old-key tokens, rotated by keyplane's MultiFernet(new, old).
		pyTokens := pycaFernetEncrypt(t, []string{oldText}, fernetMessages, at.Unix())
		var rotated [][]byte
		for i, tok := range pyTokens {
			// MultiFernet decrypts either key's tokens.
			if got, err := m.Decrypt(ctx, tok, 0); err != nil || !bytes.Equal(got, fernetMessages[i]) {
				t.Errorf("MultiFernet on pyca's token %d: %q, %v", i, got, err)
			}
			r, err := m.Rotate(ctx, tok)
			if err != nil {
				t.Fatalf("Rotate pyca's token %d: %v", i, err)
			}
			rotated = append(rotated, r)
		}
		for i, r := range pycaFernetDecrypt(t, []string{newText}, tokenStrings(rotated), nil, nil) {
			if r.Invalid || r.Message != hex.EncodeToString(fernetMessages[i]) {
				t.Errorf("keyplane-rotated token %d in pyca with the new key: %+v", i, r)
			}
		}
		for i, r := range pycaFernetDecrypt(t, []string{oldText}, tokenStrings(rotated), nil, nil) {
			if !r.Invalid {
				t.Errorf("keyplane-rotated token %d still opens in pyca with the old key", i)
			}
		}
		var stamps struct {
			Timestamps []int64 `json:"timestamps"`
		}
		pyca(t, map[string]any{"op": "fernet-timestamp", "keys": []string{newText}, "tokens": tokenStrings(rotated)}, &stamps)
		for i, ts := range stamps.Timestamps {
			if ts != at.Unix() {
				t.Errorf("keyplane-rotated token %d: pyca reads timestamp %d, want %d", i, ts, at.Unix())
			}
		}
		// pyca's MultiFernet encrypts with its first key; keyplane's new key opens it.
		both := pycaFernetEncrypt(t, []string{newText, oldText}, [][]byte{[]byte("multi")}, nil)
		if got, err := newF.Decrypt(ctx, both[0], time.Minute); err != nil || string(got) != "multi" {
			t.Errorf("pyca MultiFernet token with keyplane's new key: %q, %v", got, err)
		}
	})
}
