package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// FuzzOpen: whatever bytes NewReader is given, opening them ends in an
// error wrapping one of the backend's sentinels (ErrDecryption for a
// damaged or foreign envelope; ErrNotFound, ErrKeyRetired,
// ErrUnsupported or ErrInvalidInput for a header naming a key that is not
// there or cannot unwrap) — never a panic, and never a plaintext that was
// not sealed. Seeds: real envelopes of 0, 1 and 320 bytes under an
// aes-256 key and of 1 byte under an RSA-2048 key in software:memory.
func FuzzOpen(f *testing.F) {
	tb := openBackend(f, "software")
	plaintexts := [][]byte{{}, {0x42}, bytes.Repeat([]byte("keyplane"), 40)}
	for _, pt := range plaintexts {
		f.Add(seal(f, tb.b, tb.keys[backend.AES256], pt))
	}
	f.Add(seal(f, tb.b, tb.keys[backend.RSA2048], plaintexts[1]))
	sentinels := []error{backend.ErrDecryption, backend.ErrNotFound, backend.ErrKeyRetired, backend.ErrUnsupported, backend.ErrInvalidInput}
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := open(t, tb.b, ct)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("refused without a backend sentinel: %v", err)
		}
		for _, sealed := range plaintexts {
			if bytes.Equal(pt, sealed) {
				return
			}
		}
		t.Fatalf("opened %d bytes of input to %d bytes of plaintext that were never sealed", len(ct), len(pt))
	})
}
