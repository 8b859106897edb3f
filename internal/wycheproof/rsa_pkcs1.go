package wycheproof

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// schemaRSASigGen is the schema of rsa_pkcs1_<bits>_sig_gen_test.json,
// signature vectors that share the decryption files' name pattern.
const schemaRSASigGen = "rsassa_pkcs1_generate_schema_v1.json"

// RunRSAPKCS1Decrypt decrypts every vector of the rsa_pkcs1_<bits>_test.json
// files (PKCS#1 v1.5 decryption; the _sig_gen_ signature files are left
// out) with the vector's private key imported into b.
//
// Each vector is decrypted three ways through b's crypto.Decrypter:
//   - with nil options: valid vectors give their message, invalid ones the
//     vague backend.ErrDecryption;
//   - for a valid vector with a non-empty message, with
//     rsa.PKCS1v15DecryptOptions{SessionKeyLen: len(msg)}: the message;
//   - twice with a SessionKeyLen the message does not have: implicit
//     rejection, so no error and two different random keys of that length,
//     whether the vector is valid or not. Only a ciphertext that is
//     malformed in public (wrong length, not reduced mod n: flag
//     InvalidCiphertextFormat) may be refused, with ErrDecryption.
func RunRSAPKCS1Decrypt(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "pkcs1")
	var all []Stats
	for _, name := range Files(t, "rsa_pkcs1_*_test.json") {
		var h Header
		if err := json.Unmarshal(ReadFile(t, name), &h); err != nil {
			t.Fatalf("wycheproof: %s: %v", name, err)
		}
		if h.Schema == schemaRSASigGen {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f := LoadRSAPKCS1(t, name)
			st := runRSAPKCS1File(t, b, ring, name, f)
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	if len(all) == 0 && !t.Failed() {
		t.Errorf("wycheproof: no PKCS#1 v1.5 decryption file among rsa_pkcs1_*_test.json")
	}
	return all
}

func runRSAPKCS1File(t *testing.T, b backend.Backend, ring *keyring, name string, f *RSAPKCS1File) *Stats {
	st := newStats(name)
	texts := failureTexts{}
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		k, _, groupSkip, groupFail := ring.rsaGroupKey(t, g.PrivateKeyPKCS8)
		if groupFail != "" {
			t.Errorf("group %d: %s", gi, groupFail)
		}
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, pkcs1Flags, &tc.Case, groupFail, groupSkip) {
				continue
			}
			d := k.decrypter(t, b)
			if d == nil {
				continue
			}
			before := st.Passed
			got, err := d.Decrypt(rand.Reader, tc.CT, nil)
			st.BackendOps++
			judgeDecrypt(t, st, &tc.Case, tc.Msg, got, err, texts)
			if st.Passed == before {
				continue // already reported
			}
			if !checkSessionKey(t, st, d, tc, pkcs1Flags.publicReject(&tc.Case), texts) {
				st.Passed-- // the first decryption passed, the implicit rejection did not
				if tc.Result == Acceptable {
					st.Acceptable--
				}
			}
		}
	}
	texts.check(t, name)
	return st
}

// checkSessionKey runs the SessionKeyLen decryptions of one vector and
// reports whether they behaved; problems go to t.
func checkSessionKey(t *testing.T, st *Stats, d crypto.Decrypter, tc *RSADecryptCase, publicReject bool, texts failureTexts) bool {
	t.Helper()
	ok := true
	if tc.Result == Valid && len(tc.Msg) > 0 {
		got, err := d.Decrypt(rand.Reader, tc.CT, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: len(tc.Msg)})
		st.BackendOps++
		if err != nil || !bytes.Equal(got, tc.Msg) {
			t.Errorf("tcId %d (%s): SessionKeyLen %d: got %x, %v; want the message %x", tc.TcID, tc.Comment, len(tc.Msg), got, err, tc.Msg)
			ok = false
		}
	}
	keyLen := 16
	if len(tc.Msg) == keyLen {
		keyLen = 24
	}
	opts := &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}
	var keys [2][]byte
	for i := range keys {
		got, err := d.Decrypt(rand.Reader, tc.CT, opts)
		st.BackendOps++
		if err != nil {
			if problem := decryptionError(err); problem != nil {
				t.Errorf("tcId %d (%s): SessionKeyLen %d: %v", tc.TcID, tc.Comment, keyLen, problem)
				return false
			}
			texts.add(err)
			if !publicReject {
				t.Errorf("tcId %d (%s): SessionKeyLen %d: error %q, want implicit rejection (a random key, no error)", tc.TcID, tc.Comment, keyLen, err)
				return false
			}
			return ok // a publicly malformed ciphertext may be refused
		}
		if len(got) != keyLen {
			t.Errorf("tcId %d (%s): SessionKeyLen %d: got %d bytes", tc.TcID, tc.Comment, keyLen, len(got))
			return false
		}
		keys[i] = got
	}
	if bytes.Equal(keys[0], keys[1]) {
		t.Errorf("tcId %d (%s): SessionKeyLen %d: the same key %x twice, want fresh random keys (implicit rejection)", tc.TcID, tc.Comment, keyLen, keys[0])
		return false
	}
	return ok
}
