package wycheproof

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// legacyEdDSAKeys returns the Ed25519 private keys (seeds) of the pinned
// module's legacy testvectors/eddsa_test.json, by public key: the
// testvectors_v1 file holds only the public keys.
func legacyEdDSAKeys(t *testing.T) map[string][]byte {
	t.Helper()
	path := filepath.Join(moduleDir(t), "testvectors", "eddsa_test.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("wycheproof: %v", err)
	}
	var f struct {
		TestGroups []struct {
			Key struct {
				Curve string `json:"curve"`
				PK    Hex    `json:"pk"`
				SK    Hex    `json:"sk"`
			} `json:"key"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("wycheproof: %s: %v", path, err)
	}
	keys := map[string][]byte{}
	for _, g := range f.TestGroups {
		if g.Key.Curve == "edwards25519" && len(g.Key.SK) == ed25519.SeedSize {
			keys[string(g.Key.PK)] = g.Key.SK
		}
	}
	if len(keys) == 0 {
		t.Fatalf("wycheproof: no Ed25519 private key in %s", path)
	}
	return keys
}

// RunEd25519 runs ed25519_test.json. For each vector:
//   - the vector's signature is checked with crypto/ed25519.Verify (the
//     verification keyplane uses); the outcome must match the vector's
//     result;
//   - when the same module's legacy eddsa_test.json has the private key of
//     the vector's public key (all but one key), that key is imported into
//     b and b signs the message: the signature must verify, and for a valid
//     vector equal the vector's signature byte for byte (Ed25519 is
//     deterministic). If b refuses Ed25519 keys with ErrUnsupported, these
//     vectors are skipped. Vectors whose public key has no private key in
//     the legacy file pass on the verification check alone; a log line
//     counts them.
func RunEd25519(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "ed25519")
	var all []Stats
	for _, name := range Files(t, "ed25519_test.json") {
		t.Run(name, func(t *testing.T) {
			f := LoadEdDSA(t, name)
			st := runEd25519File(t, b, ring, legacyEdDSAKeys(t), name, f)
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func runEd25519File(t *testing.T, b backend.Backend, ring *keyring, seeds map[string][]byte, name string, f *EdDSAFile) *Stats {
	st := newStats(name)
	verifiedOnly := 0
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		pub := ed25519.PublicKey(g.PublicKey.PK)
		groupFail := ""
		var k *importedKey
		switch {
		case g.PublicKey.Curve != "edwards25519":
			groupFail = fmt.Sprintf("curve %q in an Ed25519 file", g.PublicKey.Curve)
		case len(pub) != ed25519.PublicKeySize:
			groupFail = fmt.Sprintf("public key of %d bytes", len(pub))
		}
		if seed := seeds[string(pub)]; seed != nil && groupFail == "" {
			priv := ed25519.NewKeyFromSeed(seed)
			if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
				groupFail = "the legacy file's private key does not match the public key"
			} else {
				k = ring.get(t, seed, string(backend.Ed25519), priv)
				if k.failed {
					groupFail = "key import failed"
				}
			}
		}
		if groupFail != "" {
			t.Errorf("group %d: %s", gi, groupFail)
		}
		signed := map[string][]byte{} // message → the backend's signature
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, ed25519Flags, &tc.Case, groupFail, "") {
				continue
			}
			verified := ed25519.Verify(pub, tc.Msg, tc.Sig)
			if !resultMatches(tc.Result, verified) {
				t.Errorf("tcId %d (%s, flags %v): signature verified = %t, want result %s", tc.TcID, tc.Comment, tc.Flags, verified, tc.Result)
				continue
			}
			switch {
			case k == nil:
				verifiedOnly++
			case k.skip != "":
				st.skip(k.skip)
				continue
			default:
				sig, done := signed[string(tc.Msg)]
				if !done {
					sig = backendSignsEd25519(t, st, k.signerFor(t, b), pub, tc.Msg)
					signed[string(tc.Msg)] = sig
				}
				if sig == nil {
					continue
				}
				if tc.Result == Valid && !bytes.Equal(sig, tc.Sig) {
					t.Errorf("tcId %d (%s): backend signature %x, the vector's is %x (Ed25519 is deterministic)", tc.TcID, tc.Comment, sig, tc.Sig)
					continue
				}
			}
			st.Passed++
			if tc.Result == Acceptable {
				st.Acceptable++
			}
		}
	}
	if verifiedOnly > 0 {
		t.Logf("%s: %d vectors have no private key in the legacy eddsa_test.json: their signatures were checked, the backend signed nothing for them", name, verifiedOnly)
	}
	return st
}

// backendSignsEd25519 has the backend sign msg and checks the signature; nil
// when it failed (reported on t).
func backendSignsEd25519(t *testing.T, st *Stats, s crypto.Signer, pub ed25519.PublicKey, msg []byte) []byte {
	t.Helper()
	if s == nil {
		return nil
	}
	sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
	st.BackendOps++
	if err != nil {
		t.Errorf("backend Ed25519 signature: %v", err)
		return nil
	}
	if !ed25519.Verify(pub, msg, sig) {
		t.Errorf("backend Ed25519 signature %x does not verify with crypto/ed25519", sig)
		return nil
	}
	return sig
}
