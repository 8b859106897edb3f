package wycheproof

import (
	"bytes"
	"crypto"
	"crypto/mlkem"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// mlkemCase is a vector of mlkem_test_schema.json: MLKEMTest (seed, ek,
// c, K: decapsulation) or MLKEMEncapsTest (m, ek, c, K: encapsulation to
// a possibly invalid key).
type mlkemCase struct {
	Case
	Seed Hex `json:"seed"`
	M    Hex `json:"m"`
	EK   Hex `json:"ek"`
	C    Hex `json:"c"`
	K    Hex `json:"K"`
}

type mlkemFile struct {
	Header
	TestGroups []struct {
		Type         string      `json:"type"`
		ParameterSet string      `json:"parameterSet"`
		Source       any         `json:"source"`
		Tests        []mlkemCase `json:"tests"`
	} `json:"testGroups"`
}

var mlkemFlags = flagTable{
	"Strcmp":          {allow: allowValid},
	"ModulusOverflow": {allow: allowInvalid},
}

var oidMLKEM = map[string]asn1.ObjectIdentifier{
	"ML-KEM-768":  {2, 16, 840, 1, 101, 3, 4, 4, 2},
	"ML-KEM-1024": {2, 16, 840, 1, 101, 3, 4, 4, 3},
}

// RunMLKEM runs mlkem_test.json through b: each MLKEMTest seed is
// imported (an *mlkem.DecapsulationKey768/1024), the imported key's
// public key must be the vector's ek, and b's Decapsulator must give K for
// c. MLKEMEncapsTest keys (ek with coefficients not reduced modulo q) must
// be refused by keyplane's reading of a recipient's SPKI
// (pkcs8.ParsePublicKey) with ErrInvalidInput. ML-KEM-512 vectors are
// skipped: keyplane has ml-kem-768 and ml-kem-1024.
func RunMLKEM(t *testing.T, b backend.Backend) []Stats {
	t.Helper()
	ring := newKeyring(t, b, "mlkem")
	kem, _ := b.(backend.KEM)
	var all []Stats
	for _, name := range Files(t, "mlkem_test.json") {
		t.Run(name, func(t *testing.T) {
			var f mlkemFile
			if err := json.Unmarshal(ReadFile(t, name), &f); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			st := newStats(name)
			for gi := range f.TestGroups {
				g := &f.TestGroups[gi]
				for i := range g.Tests {
					tc := &g.Tests[i]
					if !st.admit(t, mlkemFlags, &tc.Case, "", "") {
						continue
					}
					oid, known := oidMLKEM[g.ParameterSet]
					switch {
					case !known:
						st.skip(g.ParameterSet + ": keyplane has ml-kem-768 and ml-kem-1024")
					case g.Type == "MLKEMTest" && kem == nil:
						st.skip("backend has no KEM (backend.KEM)")
					case g.Type == "MLKEMTest":
						if mlkemDecapsCase(t, b, kem, ring, st, g.ParameterSet, tc) {
							st.Passed++
						}
					case g.Type == "MLKEMEncapsTest":
						if mlkemEncapsKeyCase(t, oid, tc) {
							st.Passed++
						}
					default:
						t.Errorf("tcId %d: unknown group type %q", tc.TcID, g.Type)
					}
				}
			}
			st.finish(t, f.NumberOfTests)
			all = append(all, *st)
		})
	}
	return all
}

func mlkemDecapsCase(t *testing.T, b backend.Backend, kem backend.KEM, ring *keyring, st *Stats, set string, tc *mlkemCase) bool {
	t.Helper()
	var key any
	var err error
	if set == "ML-KEM-768" {
		key, err = mlkem.NewDecapsulationKey768(tc.Seed)
	} else {
		key, err = mlkem.NewDecapsulationKey1024(tc.Seed)
	}
	if err != nil {
		t.Errorf("tcId %d: seed: %v", tc.TcID, err)
		return false
	}
	k := ring.get(t, append([]byte(set), tc.Seed...), set+" seed", key)
	if k.skip != "" {
		st.skip(k.skip)
		return false
	}
	if k.failed {
		return false
	}
	desc, err := b.Key(t.Context(), k.label)
	if err != nil {
		t.Errorf("tcId %d: Key: %v", tc.TcID, err)
		return false
	}
	if e, ok := desc.Public.(crypto.Encapsulator); !ok || !bytes.Equal(e.Bytes(), tc.EK) {
		t.Errorf("tcId %d: the imported key's public key (%T) is not the vector's ek", tc.TcID, desc.Public)
		return false
	}
	d, err := kem.Decapsulator(t.Context(), k.label)
	if err != nil {
		t.Errorf("tcId %d: Decapsulator: %v", tc.TcID, err)
		return false
	}
	st.BackendOps++
	got, err := d.Decapsulate(tc.C)
	if err != nil || !bytes.Equal(got, tc.K) {
		t.Errorf("tcId %d: Decapsulate: %v (or another shared key)", tc.TcID, err)
		return false
	}
	return true
}

func mlkemEncapsKeyCase(t *testing.T, oid asn1.ObjectIdentifier, tc *mlkemCase) bool {
	t.Helper()
	spki, err := asn1.Marshal(struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: oid}, asn1.BitString{Bytes: tc.EK, BitLength: 8 * len(tc.EK)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pkcs8.ParsePublicKey(spki)
	if tc.Result == Valid {
		if err != nil {
			t.Errorf("tcId %d: pkcs8.ParsePublicKey of a valid ek: %v", tc.TcID, err)
			return false
		}
		return true
	}
	if !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("tcId %d (%v): pkcs8.ParsePublicKey: %v, want ErrInvalidInput", tc.TcID, tc.Flags, err)
		return false
	}
	return true
}
