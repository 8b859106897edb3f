//go:build cgo && !nopkcs11

package pkcs11

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// mechFilter hides mechanisms from C_GetMechanismList, as a token without
// them would.
type mechFilter struct {
	*spyAPI
	hide map[uint]bool
}

func (f mechFilter) GetMechanismList(slot uint) ([]*pkcs11.Mechanism, error) {
	list, err := f.spyAPI.GetMechanismList(slot)
	var out []*pkcs11.Mechanism
	for _, m := range list {
		if !f.hide[m.Mechanism] {
			out = append(out, m)
		}
	}
	return out, err
}

func TestCapabilitiesFollowMechanisms(t *testing.T) {
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		return mechFilter{newSpy(p), map[uint]bool{ckmEdDSA: true, pkcs11.CKM_RSA_X_509: true, pkcs11.CKM_AES_GCM: true}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []backend.Algorithm{backend.Ed25519, backend.AES256} {
		if caps.SupportsAlgorithm(a) {
			t.Errorf("%s reported without its mechanism", a)
		}
	}
	for _, op := range []backend.Operation{backend.PureEd25519, backend.AES256GCM, backend.RSAOAEPSHA256} {
		if caps.SupportsOperation(op) {
			t.Errorf("%s reported without its mechanism", op)
		}
	}
	if !caps.SupportsAlgorithm(backend.ECP256) || !caps.SupportsOperation(backend.RSAOAEPSHA1) {
		t.Errorf("capabilities lost what the token has: %v %v", caps.Algorithms, caps.Operations)
	}
	if !strings.HasPrefix(caps.Details["oaep-fallback"], "unavailable") || strings.Contains(caps.Details["mechanisms"], "EDDSA") {
		t.Errorf("details: %q / %q", caps.Details["oaep-fallback"], caps.Details["mechanisms"])
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: uniqueLabel(t, "no-eddsa"), Algorithm: backend.Ed25519}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateKey(ed25519) without CKM_EDDSA: %v, want ErrUnsupported", err)
	}
	if want := "SoftHSM project SoftHSM v2 token 'keyplane' (slot "; !strings.HasPrefix(caps.Description, want) {
		t.Errorf("description %q", caps.Description)
	}
}

// TestCapabilitiesOAEPProbe: with the fallback off, a fresh backend learns
// from a throwaway session key which OAEP hashes the token takes, before
// any decryption, and reports only those.
func TestCapabilitiesOAEPProbe(t *testing.T) {
	b, spy := openSpy(t, "oaep-fallback=off")
	b.probeCurves(t.Context()) // their own objects, not counted here
	b.probeImport(t.Context())
	b.probeAgreement(t.Context())
	spy.snapshot()
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if caps.SupportsOperation(backend.RSAOAEPSHA256) || !caps.SupportsOperation(backend.RSAOAEPSHA1) {
		t.Errorf("operations %v: want rsa-oaep-sha1 and not rsa-oaep-sha256 (SoftHSM2 2.6.1 refuses it)", caps.Operations)
	}
	if !strings.Contains(caps.Details["oaep-native"], "sha256 refused") {
		t.Errorf("oaep-native %q", caps.Details["oaep-native"])
	}
	calls := spy.snapshot()
	if calls["GenerateKeyPair"] != 1 || calls["DestroyObject"] != 2 {
		t.Errorf("probe calls %v: want one session key pair, destroyed", calls)
	}
	// Once per backend.
	b.Capabilities(t.Context())
	if calls := spy.snapshot(); calls["GenerateKeyPair"] != 0 {
		t.Errorf("second Capabilities probed again: %v", calls)
	}
	// With the fallback on, no OAEP probe is needed; the session key pair
	// is still made once, for the PKCS#1 v1.5 padding probe alone: one
	// decryption of the ciphertext 1.
	b2, spy2 := openSpy(t, "")
	b2.probeCurves(t.Context())
	b2.probeImport(t.Context())
	b2.probeAgreement(t.Context())
	spy2.snapshot()
	_, err = b2.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if calls := spy2.snapshot(); calls["GenerateKeyPair"] != 1 || calls["Decrypt"] != 1 || calls["DestroyObject"] != 2 {
		t.Errorf("probe with the fallback on: %v, want one key pair, one decryption", calls)
	}
}

// TestCapabilitiesPKCS1v15Padding: SoftHSM2 refuses bad PKCS#1 v1.5
// padding with an error, and the probe says so (NSS softokn's implicit
// rejection is tested in tokens/nss).
func TestCapabilitiesPKCS1v15Padding(t *testing.T) {
	b := openTest(t, "")
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if caps.PKCS1v15ImplicitRejection || caps.Details["pkcs1v15-bad-padding"] != "error" {
		t.Errorf("PKCS1v15ImplicitRejection %v, pkcs1v15-bad-padding %q; want false, \"error\"", caps.PKCS1v15ImplicitRejection, caps.Details["pkcs1v15-bad-padding"])
	}
}
