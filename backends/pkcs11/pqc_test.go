//go:build cgo && !nopkcs11

package pkcs11

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// mechAdder lists mechanisms the token does not have: no CI token lists
// PKCS#11 3.2's ML-KEM or ML-DSA, so a listing is all a test can show.
type mechAdder struct {
	*spyAPI
	add []uint
}

func (f mechAdder) GetMechanismList(slot uint) ([]*pkcs11.Mechanism, error) {
	list, err := f.spyAPI.GetMechanismList(slot)
	for _, m := range f.add {
		list = append(list, pkcs11.NewMechanism(m, nil))
	}
	return list, err
}

func (f mechAdder) GetMechanismInfo(slot uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	if slices.Contains(f.add, m[0].Mechanism) {
		return pkcs11.MechanismInfo{Flags: pkcs11.CKF_GENERATE_KEY_PAIR | pkcs11.CKF_SIGN}, nil
	}
	return f.spyAPI.GetMechanismInfo(slot, m)
}

// TestPostQuantumReport: SoftHSM2 2.6.1 lists no ML-KEM or ML-DSA, and the
// report says so; a token that lists them is reported as such, untested,
// and still offers no ML-KEM or ML-DSA keys.
func TestPostQuantumReport(t *testing.T) {
	b := openTest(t, "")
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(caps.Details[detailMLKEM], "no (") || !strings.HasPrefix(caps.Details[detailMLDSA], "no (") {
		t.Errorf("SoftHSM2: ml-kem %q, ml-dsa %q; want no", caps.Details[detailMLKEM], caps.Details[detailMLDSA])
	}

	listing, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		return mechAdder{newSpy(p), []uint{ckmMLKEMKeyPairGen, ckmMLKEM, ckmMLDSAKeyPairGen, ckmMLDSA}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer listing.Close()
	caps, err = listing.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{detailMLKEM, detailMLDSA} {
		if d := caps.Details[k]; !strings.Contains(d, "listed by the token") || !strings.Contains(d, "untested") {
			t.Errorf("%s with the mechanisms listed: %q", k, d)
		}
	}
	for _, a := range []backend.Algorithm{backend.MLKEM768, backend.MLKEM1024, backend.MLDSA44, backend.MLDSA65, backend.MLDSA87} {
		if caps.SupportsAlgorithm(a) {
			t.Errorf("%s offered on a token that only lists the mechanism", a)
		}
	}
	if m := caps.Details["mechanisms"]; !strings.Contains(m, "ML-KEM") || !strings.Contains(m, "ML-DSA-KEY-PAIR-GEN") {
		t.Errorf("mechanisms %q do not name ML-KEM and ML-DSA", m)
	}
}
