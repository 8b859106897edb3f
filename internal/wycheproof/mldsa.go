package wycheproof

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// mldsaCase is a vector of mldsa_sign_seed_schema.json,
// mldsa_sign_noseed_schema.json or mldsa_verify_schema.json. Ctx is nil
// when the vector has no "ctx" field (the empty context).
type mldsaCase struct {
	Case
	Msg Hex  `json:"msg"`
	Ctx *Hex `json:"ctx"`
	Sig Hex  `json:"sig"`
}

type mldsaFile struct {
	Header
	TestGroups []struct {
		Type        string      `json:"type"`
		PrivateSeed Hex         `json:"privateSeed"`
		PrivateKey  Hex         `json:"privateKey"`
		PublicKey   Hex         `json:"publicKey"`
		Source      any         `json:"source"`
		Tests       []mldsaCase `json:"tests"`
	} `json:"testGroups"`
}

var mldsaFlags = flagTable{
	"ValidSignature":            {allow: allowValid},
	"BoundaryCondition":         {allow: allowValid},
	"ManySteps":                 {allow: allowValid},
	"ZeroPublicKey":             {allow: allowValid},
	"InvalidContext":            {allow: allowInvalid},
	"IncorrectPrivateKeyLength": {allow: allowInvalid},
	"IncorrectPublicKeyLength":  {allow: allowInvalid},
	"IncorrectSignatureLength":  {allow: allowInvalid},
	"InvalidHintsEncoding":      {allow: allowInvalid},
	"ModifiedSignature":         {allow: allowInvalid},
	// A valid signature under a public key whose private key is out of
	// range (verify files), or a refused private key (noseed files).
	"InvalidPrivateKey": {allow: allowValid | allowInvalid},
}

var (
	oidMLDSA = map[string]asn1.ObjectIdentifier{
		"44": {2, 16, 840, 1, 101, 3, 4, 3, 17},
		"65": {2, 16, 840, 1, 101, 3, 4, 3, 18},
		"87": {2, 16, 840, 1, 101, 3, 4, 3, 19},
	}
	mldsaParams = map[string]mldsa.Parameters{"44": mldsa.MLDSA44(), "65": mldsa.MLDSA65(), "87": mldsa.MLDSA87()}
)

// RunMLDSA runs mldsa_{44,65,87}_{sign_seed,sign_noseed,verify}_test.json.
//
// sign_seed: each group's 32-byte seed is imported into b as an
// *mldsa.PrivateKey and b's crypto.Signer signs each valid vector's
// message with its context (*backend.MLDSAOptions); the signature must
// verify under the vector's key, and the vector's own (deterministic)
// signature under the backend key's public key. keyplane signs hedged, so
// signatures are not compared byte for byte. A context over 255 bytes
// must be refused with ErrInvalidInput. sign_noseed: every vector is
// skipped, since keyplane keeps ML-DSA keys as seeds (RFC 9881 seed-only)
// and the expanded keys of these files have none. verify: keyplane's
// verification path (pkcs8.ParsePublicKey of the key's SPKI, then
// mldsa.Verify) must accept exactly the valid vectors.
func RunMLDSA(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "mldsa")
	var all []Stats
	for _, name := range Files(t, "mldsa_*_test.json") {
		t.Run(name, func(t *testing.T) {
			var f mldsaFile
			if err := json.Unmarshal(ReadFile(t, name), &f); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			st := runMLDSAFile(t, b, ring, name, &f)
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func runMLDSAFile(t *testing.T, b backend.Backend, ring *keyring, name string, f *mldsaFile) *Stats {
	st := newStats(name)
	set := strings.SplitN(strings.TrimPrefix(name, "mldsa_"), "_", 2)[0]
	params, ok := mldsaParams[set]
	if !ok {
		t.Fatalf("%s: unknown ML-DSA parameter set %q", name, set)
	}
	for gi := range f.TestGroups {
		g := &f.TestGroups[gi]
		for i := range g.Tests {
			tc := &g.Tests[i]
			if !st.admit(t, mldsaFlags, &tc.Case, "", "") {
				continue
			}
			var ctx string
			if tc.Ctx != nil {
				ctx = string(*tc.Ctx)
			}
			var ok bool
			switch {
			case strings.Contains(name, "_sign_noseed_"):
				st.skip("expanded private key: keyplane keeps ML-DSA keys as seeds (RFC 9881 seed-only)")
				continue
			case strings.Contains(name, "_sign_seed_"):
				ok = mldsaSignCase(t, b, ring, st, params, g.PrivateSeed, tc, ctx)
			default:
				ok = mldsaVerifyCase(t, oidMLDSA[set], g.PublicKey, tc, ctx)
			}
			if ok {
				st.Passed++
			}
		}
	}
	return st
}

func mldsaSignCase(t *testing.T, b backend.Backend, ring *keyring, st *Stats, params mldsa.Parameters, seed Hex, tc *mldsaCase, ctx string) bool {
	t.Helper()
	key, err := mldsa.NewPrivateKey(params, seed)
	if err != nil {
		if tc.Result == Invalid {
			return true
		}
		t.Errorf("tcId %d: seed: %v", tc.TcID, err)
		return false
	}
	k := ring.get(t, append([]byte(params.String()), seed...), params.String()+" seed", key)
	if k.skip != "" {
		st.skip(k.skip)
		return false
	}
	s := k.signerFor(t, b)
	if s == nil {
		return false
	}
	st.BackendOps++
	sig, err := s.Sign(rand.Reader, tc.Msg, &backend.MLDSAOptions{Context: ctx})
	if tc.Result == Invalid {
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("tcId %d (%s): Sign: %v, want ErrInvalidInput", tc.TcID, tc.Comment, err)
			return false
		}
		return true
	}
	if err != nil {
		t.Errorf("tcId %d (%s): Sign: %v", tc.TcID, tc.Comment, err)
		return false
	}
	opts := &mldsa.Options{Context: ctx}
	if err := mldsa.Verify(key.PublicKey(), tc.Msg, sig, opts); err != nil {
		t.Errorf("tcId %d (%s): the backend's signature does not verify under the vector's key: %v", tc.TcID, tc.Comment, err)
		return false
	}
	pub, ok := s.Public().(*mldsa.PublicKey)
	if !ok || mldsa.Verify(pub, tc.Msg, tc.Sig, opts) != nil {
		t.Errorf("tcId %d (%s): the vector's signature does not verify under the backend key's public key (%T)", tc.TcID, tc.Comment, s.Public())
		return false
	}
	return true
}

func mldsaVerifyCase(t *testing.T, oid asn1.ObjectIdentifier, rawPub Hex, tc *mldsaCase, ctx string) bool {
	t.Helper()
	spki, err := asn1.Marshal(struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: oid}, asn1.BitString{Bytes: rawPub, BitLength: 8 * len(rawPub)}})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pkcs8.ParsePublicKey(spki)
	if err != nil {
		if tc.Result == Invalid && errors.Is(err, backend.ErrInvalidInput) {
			return true
		}
		t.Errorf("tcId %d (%s): pkcs8.ParsePublicKey: %v (result %s)", tc.TcID, tc.Comment, err, tc.Result)
		return false
	}
	err = mldsa.Verify(pub.(*mldsa.PublicKey), tc.Msg, tc.Sig, &mldsa.Options{Context: ctx})
	if (err == nil) != (tc.Result == Valid) {
		t.Errorf("tcId %d (%s): Verify: %v, want result %s", tc.TcID, tc.Comment, err, tc.Result)
		return false
	}
	return true
}
