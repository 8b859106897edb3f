package oaep_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/oaep"
	"github.com/keyplane/keyplane/internal/wycheproof"
)

// TestDecodeWycheproof decodes every vector of every rsa_oaep_*_test.json
// file: raw RSA with math/big (the token's part, rawRSA) and then Decode.
// Every key size and hash of the files is run, SHA-512/224 and SHA-512/256
// included: Decode takes any hash linked into the program.
func TestDecodeWycheproof(t *testing.T) {
	total, rawRefused, decoded, failed, acceptable, acceptableDecoded := 0, 0, 0, 0, 0, 0
	errTexts := map[string]int{}
	for _, name := range wycheproof.Files(t, "rsa_oaep_*_test.json") {
		f := wycheproof.LoadRSAOAEP(t, name)
		for _, g := range f.TestGroups {
			key, err := x509.ParsePKCS8PrivateKey(g.PrivateKeyPKCS8)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			priv := key.(*rsa.PrivateKey)
			hash, mgfHash := hashOf(t, g.SHA), hashOf(t, g.MGFSHA)
			for _, tc := range g.Tests {
				total++
				em, ok := rawRSA(priv, tc.CT)
				var got []byte
				if ok {
					got, err = oaep.Decode(hash, mgfHash, tc.Label, em, priv.Size())
				} else {
					rawRefused++
					err = backend.ErrDecryption
				}
				if ok && err != nil {
					errTexts[fmt.Sprintf("%#v %q", err, err)]++
				}
				if err == nil {
					decoded++
				} else {
					failed++
				}
				where := fmt.Sprintf("%s tcId %d (%s, flags %v)", name, tc.TcID, tc.Comment, tc.Flags)
				switch tc.Result {
				case wycheproof.Valid:
					if err != nil || !bytes.Equal(got, tc.Msg) {
						t.Errorf("%s: valid vector: got %x, %v; want %x", where, got, err, tc.Msg)
					}
				case wycheproof.Invalid:
					if err != backend.ErrDecryption {
						t.Errorf("%s: invalid vector: got %x, %v; want ErrDecryption", where, got, err)
					}
				case wycheproof.Acceptable:
					acceptable++
					if err == nil {
						acceptableDecoded++
					}
					if err != nil && err != backend.ErrDecryption || err == nil && !bytes.Equal(got, tc.Msg) {
						t.Errorf("%s: acceptable vector: got %x, %v", where, got, err)
					}
				default:
					t.Errorf("%s: result %q", where, tc.Result)
				}
			}
		}
	}
	// Every failure that Decode itself returned is the same value with the
	// same text.
	if len(errTexts) != 1 {
		t.Errorf("Decode failed with %d different errors: %v", len(errTexts), errTexts)
	}
	t.Logf("%d vectors: %d decoded, %d failed (%d refused by raw RSA for their length or value, the rest by Decode), %d acceptable (%d of them decoded)",
		total, decoded, failed, rawRefused, acceptable, acceptableDecoded)
	if total < 1000 {
		t.Errorf("only %d OAEP vectors", total)
	}
}
