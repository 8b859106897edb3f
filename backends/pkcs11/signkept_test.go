//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// TestSignKeptInUse: the module's function list is found inside
// miekg/pkcs11's context (so the PSS parameter outlives C_SignInit, see
// signKept), and a PSS signature goes through it: one SignKeepingParams,
// no separate C_SignInit. If a new miekg/pkcs11 changes its layout,
// functionListOf returns nil and this test says so.
func TestSignKeptInUse(t *testing.T) {
	b, spy := openSpy(t, "")
	if b.mod.funcs == nil {
		t.Fatal("functionListOf found no function list in miekg/pkcs11's context: PSS parameters are freed after C_SignInit again")
	}
	label := genKey(t, b, backend.RSA2048)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	spy.snapshot()
	d := sha256.Sum256([]byte("kept"))
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := s.Sign(rand.Reader, d[:], opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig, opts); err != nil {
		t.Fatal(err)
	}
	if got := spy.snapshot(); got["SignKeepingParams"] != 1 || got["SignInit"] != 0 || got["Sign"] != 0 {
		t.Errorf("calls for a PSS signature: %v, want one SignKeepingParams", got)
	}
}

// TestSignKeepingParamsErrors: the shim's errors name the call that
// failed, and the fallback through miekg/pkcs11 (no function list) signs.
func TestSignKeepingParamsErrors(t *testing.T) {
	b := openTest(t, "")
	label := genKey(t, b, backend.RSA2048)
	err := b.withSession(t.Context(), func(s *session) error {
		k, err := b.lookup(s, label)
		if err != nil {
			return err
		}
		h := hashMechs[crypto.SHA256]
		pss := pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(h.mech, h.mgf, 32))
		d := sha256.Sum256([]byte("x"))
		// An object that is no key: C_SignInit refuses.
		if _, err := b.p.SignKeepingParams(s.h, pss, 0xFFFFFF, d[:]); codeOf(err) == 0 || err.(*Error).Func != "C_SignInit" {
			t.Errorf("SignKeepingParams with a bad handle: %v, want an *Error naming C_SignInit", err)
		}
		// The same through miekg/pkcs11's calls.
		noList := guardedCtx{&module{path: b.mod.path, ctx: b.mod.ctx}, b.mod.ctx}
		sig, err := noList.SignKeepingParams(s.h, pss, k.priv, d[:])
		if err != nil {
			return err
		}
		return rsa.VerifyPSS(k.pub.(*rsa.PublicKey), crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32})
	})
	if err != nil {
		t.Fatal(err)
	}
}
