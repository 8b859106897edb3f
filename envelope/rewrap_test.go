package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/envelope"
)

// bodyOf returns the envelope's bytes after keyplane's header.
func bodyOf(t *testing.T, ct []byte) []byte {
	t.Helper()
	r := bytes.NewReader(ct)
	if _, err := envelope.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	return ct[len(ct)-r.Len():]
}

// TestRewrap: Rewrap gives a new wrapped data key and leaves the body
// bytes as they were; the result decrypts to the same plaintext.
func TestRewrap(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			tb := openBackend(t, name)
			for _, alg := range []backend.Algorithm{backend.AES256, backend.RSA2048} {
				t.Run(string(alg), func(t *testing.T) {
					pt := randomBytes(envelope.FirstSegmentPlaintext + 10)
					ct := seal(t, tb.b, tb.keys[alg], pt)
					var out bytes.Buffer
					old, updated, err := envelope.Rewrap(t.Context(), tb.b, &out, bytes.NewReader(ct))
					if err != nil {
						t.Fatalf("Rewrap: %v", err)
					}
					if !bytes.Equal(bodyOf(t, out.Bytes()), bodyOf(t, ct)) {
						t.Error("Rewrap changed the body's bytes")
					}
					if bytes.Equal(old.WrappedKey, updated.WrappedKey) {
						t.Error("Rewrap left the wrapped data key as it was")
					}
					got, err := open(t, tb.b, out.Bytes())
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("decrypting the rewrapped envelope: %v (same plaintext: %v)", err, bytes.Equal(got, pt))
					}
					if _, _, err := envelope.Rewrap(t.Context(), tb.b, &bytes.Buffer{}, bytes.NewReader(flipAt(ct, len(ct)-len(bodyOf(t, ct))-1))); !errors.Is(err, backend.ErrDecryption) {
						t.Errorf("Rewrap of an envelope with a damaged header MAC: %v, want ErrDecryption", err)
					}
				})
			}
		})
	}
}

// TestRotation: a file encrypted before a rotation decrypts after it;
// new files use the new primary version; Rewrap moves an old file onto
// the new primary without touching its body, and it still decrypts once
// the old version is retired. It runs on the backends that implement
// backend.KeyVersions.
func TestRotation(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			tb := openBackend(t, name)
			kv, ok := tb.b.(backend.KeyVersions)
			if !ok {
				t.Skipf("%s does not implement backend.KeyVersions (yet)", name)
			}
			for _, alg := range []backend.Algorithm{backend.AES256, backend.RSA2048} {
				t.Run(string(alg), func(t *testing.T) {
					ref := generate(t, tb.b, "envelope-rotate-"+string(alg), alg)
					pt := randomBytes(5000)
					before := seal(t, tb.b, ref, pt)
					v2, err := kv.Rotate(t.Context(), ref)
					if errors.Is(err, backend.ErrUnsupported) {
						t.Skipf("%s: Rotate of a %s key: %v", name, alg, err)
					}
					if err != nil {
						t.Fatalf("Rotate: %v", err)
					}
					if got, err := open(t, tb.b, before); err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("a file encrypted before the rotation, after it: %v", err)
					}
					after := seal(t, tb.b, ref, pt)
					h, err := envelope.ReadHeader(bytes.NewReader(after))
					if err != nil {
						t.Fatal(err)
					}
					if h.KeyVersion != v2.Version {
						t.Errorf("a new file names key version %d, want the new primary %d", h.KeyVersion, v2.Version)
					}
					var out bytes.Buffer
					old, updated, err := envelope.Rewrap(t.Context(), tb.b, &out, bytes.NewReader(before))
					if err != nil {
						t.Fatalf("Rewrap: %v", err)
					}
					if old.KeyVersion == updated.KeyVersion || updated.KeyVersion != v2.Version {
						t.Errorf("Rewrap from version %d to %d, want to %d", old.KeyVersion, updated.KeyVersion, v2.Version)
					}
					if !bytes.Equal(bodyOf(t, out.Bytes()), bodyOf(t, before)) {
						t.Error("Rewrap changed the body's bytes")
					}
					if err := kv.SetMinVersion(t.Context(), ref, v2.Version); err != nil {
						t.Fatalf("SetMinVersion: %v", err)
					}
					if got, err := open(t, tb.b, out.Bytes()); err != nil || !bytes.Equal(got, pt) {
						t.Errorf("the rewrapped file after the old version was retired: %v", err)
					}
					if _, err := open(t, tb.b, before); !errors.Is(err, backend.ErrKeyRetired) {
						t.Errorf("the old file after its version was retired: %v, want ErrKeyRetired", err)
					}
				})
			}
		})
	}
}

// aeadOnly is a backend with its AEAD but without DataKeyGenerator, as
// awskms is through a plugin.
type aeadOnly struct {
	backend.Backend
	backend.AEADBackend
}

// TestDataKeyWithoutGenerator: an envelope whose data key AWS KMS made
// opens through the key's AEAD where the backend does not offer
// DataKeyGenerator, and Rewrap records the AEAD wrapping it then uses.
func TestDataKeyWithoutGenerator(t *testing.T) {
	tb := openBackend(t, "awskms")
	pt := randomBytes(1000)
	ct := seal(t, tb.b, tb.keys[backend.AES256], pt)
	if h, _ := envelope.ReadHeader(bytes.NewReader(ct)); h.KEK != envelope.KEKDataKey {
		t.Fatalf("KEK %v, want %v", h.KEK, envelope.KEKDataKey)
	}
	plain := aeadOnly{tb.b, tb.b.(backend.AEADBackend)}
	if got, err := open(t, plain, ct); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("through the AEAD alone: %v", err)
	}
	var out bytes.Buffer
	_, updated, err := envelope.Rewrap(t.Context(), tb.b, &out, bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	if updated.KEK != envelope.KEKAES256GCM {
		t.Errorf("rewrapped KEK %v, want %v", updated.KEK, envelope.KEKAES256GCM)
	}
	if got, err := open(t, plain, out.Bytes()); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("the rewrapped envelope: %v", err)
	}
}

// unsupportedDataKeys is a wrapper that has DataKeyGenerator but answers
// ErrUnsupported, as observe's wrappers do for a backend without it.
type unsupportedDataKeys struct {
	aeadOnly
}

func (unsupportedDataKeys) GenerateDataKey(context.Context, string, int, []byte) ([]byte, []byte, error) {
	return nil, nil, backend.ErrUnsupported
}

func (unsupportedDataKeys) DecryptDataKey(context.Context, string, []byte, []byte) ([]byte, error) {
	return nil, backend.ErrUnsupported
}

// TestDataKeysUnsupported: a backend whose DataKeyGenerator answers
// ErrUnsupported gets the AEAD path, writing and reading.
func TestDataKeysUnsupported(t *testing.T) {
	tb := openBackend(t, "awskms")
	w := unsupportedDataKeys{aeadOnly{tb.b, tb.b.(backend.AEADBackend)}}
	pt := randomBytes(1000)
	ct := seal(t, w, tb.keys[backend.AES256], pt)
	if h, _ := envelope.ReadHeader(bytes.NewReader(ct)); h.KEK != envelope.KEKAES256GCM {
		t.Errorf("KEK %v, want %v", h.KEK, envelope.KEKAES256GCM)
	}
	if got, err := open(t, w, ct); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("reading it back: %v", err)
	}
	kms := seal(t, tb.b, tb.keys[backend.AES256], pt) // KEKDataKey
	if got, err := open(t, w, kms); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("a KMS data key through the wrapper: %v", err)
	}
}
