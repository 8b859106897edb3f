package wycheproof

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// keyplane's AEAD layout: nonce ‖ ciphertext ‖ tag.
const (
	gcmNonceBits = 96
	gcmTagBits   = 128
	aesKeyBits   = 256
)

// RunAESGCM runs aes_gcm_test.json through b's backend.AEADBackend with each
// vector's key imported as a backend.SecretKey{Algorithm: backend.AES256}.
//
// keyplane's sealed format is fixed (96-bit nonce ‖ ciphertext ‖ 128-bit
// tag), so only vectors with that IV and tag size can be opened; the others
// are skipped with the reason "layout: iv N bits / tag M bits". keyplane's
// AES keys are 256-bit; 128- and 192-bit keys are skipped too. Every other
// vector is opened: valid ones must give their message, invalid ones the
// vague backend.ErrDecryption. With each key, the first valid vector's
// message is also sealed by the backend, opened again by the backend, and
// opened by crypto/cipher's AES-GCM under the vector's key, which shows the
// backend used that key and the documented layout.
//
// A backend that does not implement backend.AEADBackend has every vector
// skipped.
func RunAESGCM(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "aesgcm")
	var all []Stats
	for _, name := range Files(t, "aes_gcm_test.json") {
		t.Run(name, func(t *testing.T) {
			f := LoadAEAD(t, name)
			st := runAESGCMFile(t, b, ring, name, f)
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func runAESGCMFile(t *testing.T, b backend.Backend, ring *keyring, name string, f *AEADFile) *Stats {
	st := newStats(name)
	texts := failureTexts{}
	ab, hasAEAD := b.(backend.AEADBackend)
	roundTripped := map[string]bool{}
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		groupSkip := ""
		switch {
		case !hasAEAD:
			groupSkip = fmt.Sprintf("backend %T has no AEAD (backend.AEADBackend)", b)
		case g.IVSize != gcmNonceBits || g.TagSize != gcmTagBits:
			groupSkip = fmt.Sprintf("layout: iv %d bits / tag %d bits", g.IVSize, g.TagSize)
		case g.KeySize != aesKeyBits:
			groupSkip = fmt.Sprintf("key aes-%d: keyplane AES keys are 256 bits", g.KeySize)
		}
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, aesGCMFlags, &tc.Case, "", groupSkip) {
				continue
			}
			if len(tc.Key)*8 != g.KeySize || len(tc.IV)*8 != g.IVSize || len(tc.Tag)*8 != g.TagSize {
				t.Errorf("tcId %d: key/iv/tag lengths do not match the group's sizes", tc.TcID)
				continue
			}
			k := ring.get(t, tc.Key, string(backend.AES256), backend.SecretKey{Algorithm: backend.AES256, Value: bytes.Clone(tc.Key)})
			if k.skip != "" {
				st.skip(k.skip)
				continue
			}
			a := k.aeadFor(t, ab)
			if a == nil {
				continue
			}
			sealed := append(append(bytes.Clone(tc.IV), tc.CT...), tc.Tag...)
			got, err := a.Open(t.Context(), sealed, tc.AAD)
			st.BackendOps++
			before := st.Passed
			judgeDecrypt(t, st, &tc.Case, tc.Msg, got, err, texts)
			if st.Passed == before || tc.Result != Valid || roundTripped[string(tc.Key)] {
				continue
			}
			roundTripped[string(tc.Key)] = true
			if !sealRoundTrip(t, st, a, tc) {
				st.Passed--
			}
		}
	}
	texts.check(t, name)
	return st
}

func (k *importedKey) aeadFor(t *testing.T, ab backend.AEADBackend) backend.AEAD {
	t.Helper()
	if k.aead == nil && !k.failed {
		a, err := ab.AEAD(t.Context(), k.label)
		if err != nil {
			k.failed = true
			t.Errorf("wycheproof: AEAD(%s): %v", k.label, err)
			return nil
		}
		if a.NonceSize() != gcmNonceBits/8 || a.Overhead() != (gcmNonceBits+gcmTagBits)/8 {
			k.failed = true
			t.Errorf("wycheproof: AEAD(%s): NonceSize %d, Overhead %d; keyplane's AES-GCM layout is 12 and 28", k.label, a.NonceSize(), a.Overhead())
			return nil
		}
		k.aead = a
	}
	return k.aead
}

// sealRoundTrip seals the vector's message with the backend and opens the
// result with the backend and with crypto/cipher under the vector's key.
func sealRoundTrip(t *testing.T, st *Stats, a backend.AEAD, tc *AEADCase) bool {
	t.Helper()
	sealed, err := a.Seal(t.Context(), tc.Msg, tc.AAD)
	st.BackendOps++
	if err != nil {
		t.Errorf("tcId %d: Seal: %v", tc.TcID, err)
		return false
	}
	if len(sealed) != len(tc.Msg)+a.Overhead() {
		t.Errorf("tcId %d: Seal gave %d bytes for a %d-byte message, want %d more", tc.TcID, len(sealed), len(tc.Msg), a.Overhead())
		return false
	}
	opened, err := a.Open(t.Context(), sealed, tc.AAD)
	st.BackendOps++
	if err != nil || !bytes.Equal(opened, tc.Msg) {
		t.Errorf("tcId %d: backend Open of its own Seal: %x, %v", tc.TcID, opened, err)
		return false
	}
	block, err := aes.NewCipher(tc.Key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	n := gcm.NonceSize()
	std, err := gcm.Open(nil, sealed[:n], sealed[n:], tc.AAD)
	if err != nil || !bytes.Equal(std, tc.Msg) {
		t.Errorf("tcId %d: crypto/cipher cannot open the backend's Seal under the vector's key: %v", tc.TcID, err)
		return false
	}
	return true
}
