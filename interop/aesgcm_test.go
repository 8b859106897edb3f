package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestAESGCMInterop: keyplane's sealed messages (nonce ‖ ciphertext ‖ tag)
// open in pyca's AESGCM with the nonce split off, and pyca's nonce +
// AESGCM.encrypt output opens in the backend, with associated data. The
// key is imported into the backend, as it must be to be shared.
func TestAESGCMInterop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		imp, ok := b.(backend.Importer)
		if !ok {
			t.Fatal("backend does not implement backend.Importer")
		}
		key, err := imp.ImportKey(ctx, label("aes"), backend.SecretKey{Algorithm: backend.AES256, Value: raw})
		if err != nil {
			t.Fatalf("importing an aes-256 key: %v", err)
		}
		ab, ok := b.(backend.AEADBackend)
		if !ok {
			t.Fatal("backend does not implement backend.AEADBackend")
		}
		aead, err := ab.AEAD(ctx, key.Label)
		if err != nil {
			t.Fatal(err)
		}
		aad := []byte("authenticated but unencrypted data")
		var sealed []string
		for _, m := range fernetMessages {
			s, err := aead.Seal(ctx, m, aad)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) != len(m)+aead.Overhead() || aead.NonceSize() != 12 {
				t.Fatalf("sealed %d bytes for %d (overhead %d, nonce %d)", len(s), len(m), aead.Overhead(), aead.NonceSize())
			}
			sealed = append(sealed, hex.EncodeToString(s))
		}
		tampered, _ := hex.DecodeString(sealed[1])
		tampered[len(tampered)-1] ^= 1 // the last byte of the tag
		var resp struct {
			Opened []fernetResult `json:"opened"`
			Sealed []string       `json:"sealed_hex"`
		}
		pyca(t, map[string]any{
			"op": "aesgcm", "key_hex": hex.EncodeToString(raw), "aad_hex": hex.EncodeToString(aad),
			"open_hex": append(sealed, hex.EncodeToString(tampered)), "seal_hex": hexList(fernetMessages),
		}, &resp)
		if len(resp.Opened) != len(sealed)+1 || len(resp.Sealed) != len(fernetMessages) {
			t.Fatalf("pyca answered %d opened, %d sealed", len(resp.Opened), len(resp.Sealed))
		}
		for i, r := range resp.Opened[:len(sealed)] {
			if r.Invalid || r.Message != hex.EncodeToString(fernetMessages[i]) {
				t.Errorf("message %d: pyca opened %+v", i, r)
			}
		}
		if !resp.Opened[len(sealed)].Invalid {
			t.Error("pyca opened a tampered message")
		}
		for i, s := range resp.Sealed {
			data, _ := hex.DecodeString(s)
			m, err := aead.Open(ctx, data, aad)
			if err != nil || !bytes.Equal(m, fernetMessages[i]) {
				t.Errorf("pyca's message %d: (%q, %v)", i, m, err)
			}
			if _, err := aead.Open(ctx, data, []byte("other aad")); !errors.Is(err, backend.ErrDecryption) {
				t.Errorf("pyca's message %d with other associated data: %v, want ErrDecryption", i, err)
			}
		}
	})
}
