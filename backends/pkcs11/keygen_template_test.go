//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// usageCheckingAPI refuses, as tpm2-pkcs11 1.9 does, an EC key pair whose
// public template sets CKA_VERIFY or CKA_ENCRYPT: that module derives them
// from the TPM key's attributes (CKA_VERIFY from decrypt, CKA_ENCRYPT from
// sign) and fails C_GenerateKeyPair with CKR_GENERAL_ERROR when the
// template disagrees. It records the public templates it saw.
type usageCheckingAPI struct {
	pkcs11API
	mu        sync.Mutex
	templates [][]*pkcs11.Attribute
}

func (a *usageCheckingAPI) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	a.mu.Lock()
	a.templates = append(a.templates, pub)
	a.mu.Unlock()
	if m[0].Mechanism == pkcs11.CKM_EC_KEY_PAIR_GEN && (hasAttr(pub, pkcs11.CKA_VERIFY) || hasAttr(pub, pkcs11.CKA_ENCRYPT)) {
		return 0, 0, pkcs11.Error(pkcs11.CKR_GENERAL_ERROR)
	}
	return a.pkcs11API.GenerateKeyPair(sh, m, pub, priv)
}

func hasAttr(t []*pkcs11.Attribute, typ uint) bool {
	for _, a := range t {
		if a.Type == typ {
			return true
		}
	}
	return false
}

// TestECTemplateFromEvidence: a token that refuses keyplane's EC template
// gets one retry without the public key's usage attributes, the backend
// remembers it, and the key signs.
func TestECTemplateFromEvidence(t *testing.T) {
	var api *usageCheckingAPI
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		api = &usageCheckingAPI{pkcs11API: p}
		return api
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for i, alg := range []backend.Algorithm{backend.ECP256, backend.ECP384} {
		label := genKey(t, b, alg)
		s, err := b.Signer(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		sign(t, s, []byte("evidence"), crypto.SHA256)
		api.mu.Lock()
		n := len(api.templates)
		api.mu.Unlock()
		if want := []int{2, 3}[i]; n != want {
			t.Errorf("after %d EC keys, %d C_GenerateKeyPair calls, want %d (one refused, then the remembered template)", i+1, n, want)
		}
	}
	// RSA keys keep their usage attributes.
	genKey(t, b, backend.RSA2048)
	api.mu.Lock()
	last := api.templates[len(api.templates)-1]
	api.mu.Unlock()
	if !hasAttr(last, pkcs11.CKA_VERIFY) || !hasAttr(last, pkcs11.CKA_ENCRYPT) {
		t.Errorf("the RSA public template lost its usage attributes: %v", last)
	}
}
