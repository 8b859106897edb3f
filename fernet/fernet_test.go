package fernet

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

func newFernet(t testing.TB) *Fernet { return New(mustSoftwareKey(t)) }

func TestRoundTrip(t *testing.T) {
	f := newFernet(t)
	ctx := t.Context()
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 1000, 1 << 16} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		tok, err := f.Encrypt(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.URLEncoding.DecodeString(string(tok))
		if err != nil {
			t.Fatalf("token is not padded base64url: %v", err)
		}
		if raw[0] != 0x80 {
			t.Errorf("version byte %#x", raw[0])
		}
		if want := 1 + 8 + 16 + (n/16+1)*16 + 32; len(raw) != want {
			t.Errorf("%d-byte message: token of %d bytes, want %d", n, len(raw), want)
		}
		got, err := f.Decrypt(ctx, tok, time.Minute)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%d bytes: round trip changed the message", n)
		}
		if got == nil {
			t.Errorf("%d bytes: nil message, want non-nil", n)
		}
	}
}

func TestTokensDiffer(t *testing.T) {
	f := newFernet(t)
	at := time.Unix(1700000000, 0)
	a, _ := f.EncryptAtTime(t.Context(), []byte("same"), at)
	b, _ := f.EncryptAtTime(t.Context(), []byte("same"), at)
	if bytes.Equal(a, b) {
		t.Error("two tokens of the same message at the same time are equal: the IV is not random")
	}
}

func TestTimestampAndTTL(t *testing.T) {
	f := newFernet(t)
	ctx := t.Context()
	at := time.Unix(1700000000, 0)
	tok, err := f.EncryptAtTime(ctx, []byte("m"), at)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := f.ExtractTimestamp(ctx, tok)
	if err != nil || !ts.Equal(at) {
		t.Fatalf("ExtractTimestamp = %v, %v; want %v", ts, err, at)
	}
	cases := []struct {
		name string
		ttl  time.Duration
		now  time.Time
		ok   bool
	}{
		{"fresh", time.Minute, at, true},
		{"exactly ttl old", time.Minute, at.Add(time.Minute), true},
		// pyca compares whole seconds of now: 60.9 s old is still 60.
		{"ttl old plus a fraction", time.Minute, at.Add(time.Minute + 900*time.Millisecond), true},
		{"one second past ttl", time.Minute, at.Add(61 * time.Second), false},
		{"very old", time.Hour, at.Add(100 * 365 * 24 * time.Hour), false},
		{"60 s in the future", time.Minute, at.Add(-60 * time.Second), true},
		{"61 s in the future", time.Minute, at.Add(-61 * time.Second), false},
		{"no ttl, very old", 0, at.Add(100 * 365 * 24 * time.Hour), true},
		{"no ttl, far future (pyca checks no skew without a ttl)", 0, at.Add(-24 * time.Hour), true},
		{"negative ttl is no ttl", -time.Second, at.Add(time.Hour), true},
		{"now before 1970", time.Minute, time.Unix(-1<<40, 0), false},
		{"sub-second ttl", 500 * time.Millisecond, at.Add(400 * time.Millisecond), true},
		{"sub-second ttl, one second later", 500 * time.Millisecond, at.Add(time.Second), false},
	}
	for _, c := range cases {
		msg, err := f.DecryptAtTime(ctx, tok, c.ttl, c.now)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			checkInvalidNamed(t, c.name, msg, err)
		}
		m, _ := NewMulti(f)
		_, merr := m.DecryptAtTime(ctx, tok, c.ttl, c.now)
		if (merr == nil) != c.ok {
			t.Errorf("%s: MultiFernet disagrees with Fernet: %v", c.name, merr)
		}
	}
}

func TestFreshExtremes(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, ts := range []uint64{1<<63 - 1, 1 << 63, 1<<64 - 1} {
		if fresh(ts, time.Hour, now) {
			t.Errorf("timestamp %d accepted at %v", ts, now)
		}
	}
	if !fresh(0, 1<<63-1, now) {
		t.Error("timestamp 0 refused with the longest ttl")
	}
	if fresh(0, time.Hour, now) {
		t.Error("timestamp 0 accepted with a 1 h ttl")
	}
}

func TestEncryptBefore1970(t *testing.T) {
	_, err := newFernet(t).EncryptAtTime(t.Context(), []byte("m"), time.Unix(-1, 0))
	if !errors.Is(err, backend.ErrInvalidInput) {
		t.Fatalf("err = %v, want ErrInvalidInput", err)
	}
}

// TestTamper flips every bit of a token's decoded bytes and checks that
// each change is refused with the one vague error.
func TestTamper(t *testing.T) {
	f := newFernet(t)
	ctx := t.Context()
	at := time.Unix(1700000000, 0)
	tok, err := f.EncryptAtTime(ctx, []byte("attack at dawn"), at)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.URLEncoding.DecodeString(string(tok))
	for i := range raw {
		for bit := range 8 {
			bad := bytes.Clone(raw)
			bad[i] ^= 1 << bit
			text := []byte(base64.URLEncoding.EncodeToString(bad))
			msg, err := f.DecryptAtTime(ctx, text, 0, at)
			checkInvalidNamed(t, fmt.Sprintf("byte %d bit %d", i, bit), msg, err)
		}
	}
	// Truncations and extensions.
	for n := range len(raw) {
		msg, err := f.DecryptAtTime(ctx, []byte(base64.URLEncoding.EncodeToString(raw[:n])), 0, at)
		checkInvalidNamed(t, fmt.Sprintf("truncated to %d bytes", n), msg, err)
	}
	for _, extra := range [][]byte{{0}, bytes.Repeat([]byte{0}, 16)} {
		msg, err := f.DecryptAtTime(ctx, []byte(base64.URLEncoding.EncodeToString(append(bytes.Clone(raw), extra...))), 0, at)
		checkInvalidNamed(t, fmt.Sprintf("%d bytes appended", len(extra)), msg, err)
	}
}

func TestTokenText(t *testing.T) {
	f := newFernet(t)
	ctx := t.Context()
	tok, err := f.Encrypt(ctx, []byte("text"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(tok)
	// White space around a token (a line read from a file) is ignored.
	for _, ok := range []string{s + "\n", "  " + s + "\r\n", "\t" + s} {
		if _, err := f.Decrypt(ctx, []byte(ok), 0); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	bad := map[string]string{
		"empty":             "",
		"unpadded":          strings.TrimRight(s, "="),
		"standard alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+/",
		"inner space":       s[:10] + " " + s[10:],
		"percent":           "%%%%" + s[4:],
		"not base64 at all": "not a token",
		"NUL":               s + "\x00",
		"non-ASCII":         s[:20] + "é" + s[22:],
	}
	for name, text := range bad {
		msg, err := f.Decrypt(ctx, []byte(text), 0)
		checkInvalidNamed(t, name, msg, err)
	}
}

func TestWrongKey(t *testing.T) {
	ctx := t.Context()
	tok, err := newFernet(t).Encrypt(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := newFernet(t).Decrypt(ctx, tok, 0)
	checkInvalidNamed(t, "another key", msg, err)
}

func TestMultiFernet(t *testing.T) {
	ctx := t.Context()
	k1, k2, k3 := newFernet(t), newFernet(t), newFernet(t)
	old, err := NewMulti(k1)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1600000000, 0)
	tok1, err := old.EncryptAtTime(ctx, []byte("rotate me"), at)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMulti(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	// Encrypts with the first key only.
	tok2, err := m.Encrypt(ctx, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Decrypt(ctx, tok2, 0); err != nil {
		t.Errorf("token from MultiFernet does not decrypt with its first key: %v", err)
	}
	if _, err := k1.Decrypt(ctx, tok2, 0); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token from MultiFernet decrypts with its second key: %v", err)
	}
	// Decrypts with any key.
	if msg, err := m.Decrypt(ctx, tok1, 0); err != nil || string(msg) != "rotate me" {
		t.Errorf("old token: %q, %v", msg, err)
	}
	// Rotate re-encrypts under the first key and keeps the timestamp.
	rot, err := m.Rotate(ctx, tok1)
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := k2.DecryptAtTime(ctx, rot, 0, at); err != nil || string(msg) != "rotate me" {
		t.Errorf("rotated token with the new key: %q, %v", msg, err)
	}
	if _, err := k1.Decrypt(ctx, rot, 0); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("rotated token still opens with the old key: %v", err)
	}
	if ts, err := k2.ExtractTimestamp(ctx, rot); err != nil || !ts.Equal(at) {
		t.Errorf("rotated timestamp %v, %v; want %v", ts, err, at)
	}
	// Rotate ignores age (an expired token can be rotated, as in pyca).
	if _, err := m.Rotate(ctx, tok1); err != nil {
		t.Errorf("rotating an old token: %v", err)
	}
	// A token under none of the keys.
	tok3, _ := k3.Encrypt(ctx, []byte("x"))
	msg, err := m.Decrypt(ctx, tok3, 0)
	checkInvalidNamed(t, "MultiFernet, unknown key", msg, err)
	msg, err = m.Rotate(ctx, tok3)
	checkInvalidNamed(t, "Rotate, unknown key", msg, err)
	msg, err = m.Rotate(ctx, []byte("garbage"))
	checkInvalidNamed(t, "Rotate, garbage", msg, err)
	// TTL through MultiFernet.
	msg, err = m.DecryptAtTime(ctx, tok1, time.Hour, at.Add(2*time.Hour))
	checkInvalidNamed(t, "MultiFernet, expired", msg, err)
}

func TestNewMultiErrors(t *testing.T) {
	if _, err := NewMulti(); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := NewMulti(newFernet(t), nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := NewMulti(New(nil)); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Fernet without key: %v", err)
	}
	var zero MultiFernet
	if _, err := zero.Encrypt(t.Context(), nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("zero MultiFernet: %v", err)
	}
	if _, err := New(nil).Encrypt(t.Context(), nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Fernet without key: %v", err)
	}
}

// flakyKey is a backend.FernetKey whose backend fails with err after
// working ok times: a token's verdict must not hide a backend failure.
type flakyKey struct {
	backend.FernetKey
	mu  sync.Mutex
	err error
	on  string // "mac" or "decrypt"
}

func (k *flakyKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.on == "mac" {
		return nil, k.err
	}
	return k.FernetKey.MAC(ctx, data)
}

func (k *flakyKey) DecryptCBC(ctx context.Context, iv, ct []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.on == "decrypt" {
		return nil, k.err
	}
	return k.FernetKey.DecryptCBC(ctx, iv, ct)
}

func TestBackendFailures(t *testing.T) {
	ctx := t.Context()
	inner := mustSoftwareKey(t)
	tok, err := New(inner).Encrypt(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	unavailable := fmt.Errorf("pkcs11: C_Sign: CKR_DEVICE_REMOVED: %w", backend.ErrUnavailable)
	for _, c := range []struct {
		on      string
		err     error
		want    error
		invalid bool
	}{
		{"mac", unavailable, backend.ErrUnavailable, false},
		{"decrypt", unavailable, backend.ErrUnavailable, false},
		{"mac", context.Canceled, context.Canceled, false},
		{"decrypt", backend.ErrClosed, backend.ErrClosed, false},
		// A padding failure reported by the backend is a bad token.
		{"decrypt", fmt.Errorf("CKR_ENCRYPTED_DATA_INVALID: %w", backend.ErrDecryption), ErrInvalidToken, true},
	} {
		k := &flakyKey{FernetKey: inner, on: c.on, err: c.err}
		msg, err := New(k).Decrypt(ctx, tok, 0)
		if c.invalid {
			checkInvalidNamed(t, c.on+" failing", msg, err)
			continue
		}
		if !errors.Is(err, c.want) || errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s failing with %v: got %v, want it passed on (not ErrInvalidToken)", c.on, c.err, err)
		}
		// MultiFernet: a later key's backend failure is reported when no key fits.
		m, _ := NewMulti(newFernet(t), New(k))
		if _, err := m.Decrypt(ctx, tok, 0); !errors.Is(err, c.want) {
			t.Errorf("MultiFernet with %s failing: %v, want %v", c.on, err, c.want)
		}
	}
	// An unrelated key that fails does not stop a good key from opening it.
	m, _ := NewMulti(New(&flakyKey{FernetKey: mustSoftwareKey(t), on: "mac", err: unavailable}), New(inner))
	if msg, err := m.Decrypt(ctx, tok, 0); err != nil || string(msg) != "m" {
		t.Errorf("MultiFernet past a failing key: %q, %v", msg, err)
	}
}

func TestConcurrent(t *testing.T) {
	f := newFernet(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				msg := fmt.Appendf(nil, "g%d-%d", g, i)
				tok, err := f.Encrypt(ctx, msg)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := f.Decrypt(ctx, tok, time.Minute)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("%q: %q, %v", msg, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func checkInvalidNamed(t *testing.T, name string, msg []byte, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: decrypted to %q, want ErrInvalidToken", name, msg)
		return
	}
	if msg != nil || !errors.Is(err, ErrInvalidToken) || !errors.Is(err, backend.ErrDecryption) || err.Error() != ErrInvalidToken.Error() {
		t.Errorf("%s: (%q, %v), want (nil, exactly ErrInvalidToken)", name, msg, err)
	}
}
