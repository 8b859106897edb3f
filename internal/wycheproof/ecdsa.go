package wycheproof

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

// ecCurves are the curves keyplane has keys on, by their Wycheproof names.
var ecCurves = map[string]elliptic.Curve{
	"secp256r1": elliptic.P256(),
	"secp384r1": elliptic.P384(),
	"secp521r1": elliptic.P521(),
}

// RunECDSA runs every ecdsa_*_test.json file, of the DER
// (ecdsa_verify_schema_v1) and P1363 (ecdsa_p1363_verify_schema_v1)
// schemas, on the curves and hashes keyplane offers (P-256/384/521 with
// SHA-1/SHA-2); other curves and hashes are skipped, and so is the Bitcoin
// variant's file (its extra low-S rule is not keyplane's verification).
//
// For each vector:
//   - the vector's signature is checked with the verification path keyplane
//     uses: crypto/ecdsa.VerifyASN1, after ecsig.P1363ToASN1 for r ‖ s
//     signatures; the outcome must match the vector's result;
//   - the backend signs the vector's message (hashed with the file's hash)
//     with a key imported for its curve (the files hold no private keys; one
//     freshly generated key per curve), and the signature must verify with
//     crypto/ecdsa and survive ecsig.ASN1ToP1363 → ecsig.P1363ToASN1
//     unchanged. Each distinct message is signed once per file.
func RunECDSA(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "ecdsa")
	signKeys := map[elliptic.Curve]*ecdsa.PrivateKey{}
	var all []Stats
	for _, name := range Files(t, "ecdsa_*_test.json") {
		var h Header
		if err := json.Unmarshal(ReadFile(t, name), &h); err != nil {
			t.Fatalf("wycheproof: %s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			var st *Stats
			switch h.Schema {
			case schemaECDSABitcoin:
				st = newStats(name)
				for range h.NumberOfTests {
					st.Total++
					st.skip("Bitcoin variant (low-S rule): not keyplane's ECDSA verification")
				}
			case SchemaECDSA, SchemaECDSAP1363:
				f := LoadECDSA(t, name)
				st = runECDSAFile(t, b, ring, signKeys, name, f)
			default:
				t.Fatalf("wycheproof: %s: unknown schema %q for an ECDSA file", name, h.Schema)
			}
			st.finish(t, h.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func runECDSAFile(t *testing.T, b backend.Backend, ring *keyring, signKeys map[elliptic.Curve]*ecdsa.PrivateKey, name string, f *ECDSAFile) *Stats {
	st := newStats(name)
	p1363 := f.Schema == SchemaECDSAP1363
	signed := map[string]bool{} // hash ‖ message → the backend's signature checked out
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		curve := ecCurves[g.PublicKey.Curve]
		hash := hashByName(g.SHA)
		groupSkip, groupFail := "", ""
		var pub *ecdsa.PublicKey
		var k *importedKey
		var signPub *ecdsa.PublicKey
		switch {
		case curve == nil:
			groupSkip = fmt.Sprintf("curve %s: not a keyplane curve", g.PublicKey.Curve)
		case !keyplaneHash(hash):
			groupSkip = fmt.Sprintf("hash %s: keyplane signs and verifies with SHA-1/SHA-2 only", g.SHA)
		default:
			key, err := x509.ParsePKIXPublicKey(g.PublicKeyDER)
			p, ok := key.(*ecdsa.PublicKey)
			switch {
			case err != nil:
				groupFail = fmt.Sprintf("parsing publicKeyDer: %v", err)
			case !ok || p.Curve != curve:
				groupFail = fmt.Sprintf("publicKeyDer holds %T, want a %s key", key, g.PublicKey.Curve)
			default:
				pub = p
			}
			priv := signKeys[curve]
			if priv == nil {
				priv, err = ecdsa.GenerateKey(curve, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				signKeys[curve] = priv
			}
			signPub = &priv.PublicKey
			alg, _ := backend.AlgorithmOf(signPub)
			k = ring.get(t, []byte("generated "+curve.Params().Name), string(alg), priv)
			if k.failed {
				groupFail = "key import failed"
			}
		}
		if groupFail != "" {
			t.Errorf("group %d (%s): %s", gi, g.PublicKey.Curve, groupFail)
		}
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, ecdsaFlags, &tc.Case, groupFail, groupSkip) {
				continue
			}
			d := hash.New()
			d.Write(tc.Msg)
			digest := d.Sum(nil)

			der := []byte(tc.Sig)
			var convErr error
			if p1363 {
				der, convErr = ecsig.P1363ToASN1(tc.Sig, ecsig.ScalarSize(curve))
			}
			verified := convErr == nil && ecdsa.VerifyASN1(pub, digest, der)
			if !resultMatches(tc.Result, verified) {
				t.Errorf("tcId %d (%s, flags %v): signature verified = %t, want result %s", tc.TcID, tc.Comment, tc.Flags, verified, tc.Result)
				continue
			}

			if k.skip != "" {
				// The vector's signature was checked; the backend cannot
				// hold a key on this curve, so it signed nothing.
				st.skip(k.skip)
				continue
			}
			sk := hash.String() + "\x00" + string(tc.Msg)
			ok, done := signed[sk]
			if !done {
				ok = backendSignsECDSA(t, st, k.signerFor(t, b), signPub, hash, digest, curve)
				signed[sk] = ok
			}
			if !ok {
				continue
			}
			st.Passed++
			if tc.Result == Acceptable {
				st.Acceptable++
			}
		}
	}
	return st
}

// resultMatches says whether a verification outcome agrees with a vector's
// result; an acceptable vector agrees with both.
func resultMatches(result string, verified bool) bool {
	switch result {
	case Valid:
		return verified
	case Invalid:
		return !verified
	}
	return result == Acceptable
}

// backendSignsECDSA has the backend sign digest and checks the signature.
func backendSignsECDSA(t *testing.T, st *Stats, s crypto.Signer, pub *ecdsa.PublicKey, hash crypto.Hash, digest []byte, curve elliptic.Curve) bool {
	t.Helper()
	if s == nil {
		return false
	}
	sig, err := s.Sign(rand.Reader, digest, hash)
	st.BackendOps++
	if err != nil {
		t.Errorf("backend ECDSA %s signature with %v: %v", curve.Params().Name, hash, err)
		return false
	}
	if !ecdsa.VerifyASN1(pub, digest, sig) {
		t.Errorf("backend ECDSA %s signature with %v does not verify with crypto/ecdsa: %x", curve.Params().Name, hash, sig)
		return false
	}
	size := ecsig.ScalarSize(curve)
	rs, err := ecsig.ASN1ToP1363(sig, size)
	if err != nil {
		t.Errorf("backend ECDSA signature %x: %v", sig, err)
		return false
	}
	back, err := ecsig.P1363ToASN1(rs, size)
	if err != nil || !bytes.Equal(back, sig) {
		t.Errorf("backend ECDSA signature %x: DER → P1363 → DER gave %x, %v", sig, back, err)
		return false
	}
	return true
}
