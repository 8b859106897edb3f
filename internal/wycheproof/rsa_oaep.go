package wycheproof

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// RunRSAOAEPDecrypt decrypts every vector of every rsa_oaep_*_test.json
// file (including rsa_oaep_misc_test.json) with the vector's private key
// imported into b, through b's crypto.Decrypter with *rsa.OAEPOptions.
//
// Valid vectors must decrypt to their message; invalid ones must fail with
// the vague backend.ErrDecryption (see the package doc); acceptable ones may
// do either. Keys b refuses with ErrUnsupported (RSA sizes other than
// 2048/3072/4096) and hashes keyplane does not offer for OAEP (SHA-512/224,
// SHA-512/256) are skipped. A backend may refuse OAEP parameters with
// ErrUnsupported (vectors skipped), but only for every vector with the same
// hash, MGF1 hash, key size and label presence: refusing some ciphertexts and not
// others would be an oracle, and fails the test.
func RunRSAOAEPDecrypt(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "oaep")
	var all []Stats
	for _, name := range Files(t, "rsa_oaep_*_test.json") {
		t.Run(name, func(t *testing.T) {
			f := LoadRSAOAEP(t, name)
			st := runRSAOAEPFile(t, b, ring, name, f)
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func runRSAOAEPFile(t *testing.T, b backend.Backend, ring *keyring, name string, f *RSAOAEPFile) *Stats {
	st := newStats(name)
	texts := failureTexts{}
	// params → [refused with ErrUnsupported, answered otherwise]
	unsupported := map[string]*[2]int{}
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		hash, mgfHash := hashByName(g.SHA), hashByName(g.MGFSHA)
		groupSkip := ""
		groupFail := ""
		switch {
		case g.MGF != "MGF1":
			groupFail = fmt.Sprintf("mask generation function %q (only MGF1 exists in OAEP)", g.MGF)
		case !keyplaneHash(hash) || !keyplaneHash(mgfHash):
			groupSkip = fmt.Sprintf("OAEP %s/MGF1-%s: not a keyplane OAEP hash (SHA-1, SHA-224/256/384/512)", g.SHA, g.MGFSHA)
		}
		var k *importedKey
		bits := 0
		if groupFail == "" && groupSkip == "" {
			k, bits, groupSkip, groupFail = ring.rsaGroupKey(t, g.PrivateKeyPKCS8)
		}
		if groupFail != "" {
			t.Errorf("group %d (%s): %s", gi, g.SHA, groupFail)
		}
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, oaepFlags, &tc.Case, groupFail, groupSkip) {
				continue
			}
			d := k.decrypter(t, b)
			if d == nil {
				continue
			}
			got, err := d.Decrypt(rand.Reader, tc.CT, &rsa.OAEPOptions{Hash: hash, MGFHash: mgfHash, Label: tc.Label})
			st.BackendOps++
			params := fmt.Sprintf("OAEP %s/MGF1-%s with rsa-%d, label: %t", g.SHA, g.MGFSHA, bits, len(tc.Label) > 0)
			if unsupported[params] == nil {
				unsupported[params] = new([2]int)
			}
			if errors.Is(err, backend.ErrUnsupported) {
				unsupported[params][0]++
				st.skip("backend refused " + params + " (unsupported)")
				continue
			}
			unsupported[params][1]++
			judgeDecrypt(t, st, &tc.Case, tc.Msg, got, err, texts)
		}
	}
	for params, n := range unsupported {
		if n[0] > 0 && n[1] > 0 {
			t.Errorf("%s: the backend refused %s as unsupported for %d ciphertexts and answered %d others: support must not depend on the ciphertext", name, params, n[0], n[1])
		}
	}
	texts.check(t, name)
	return st
}
