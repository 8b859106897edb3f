//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// importState is what the backend learnt about the token and key import.
type importState int32

const (
	importUnknown importState = iota
	importWorks
	importRefused
)

// probeImport learns, once per backend, whether the token takes private
// key material through C_CreateObject, by creating the private half of a
// key made here — a session object, or a token object labelled
// keyplane-probe-import-… where the token refuses session objects — and
// destroying it at once. tpm2-pkcs11 1.9 takes public keys, certificates
// and data objects only (CKR_ATTRIBUTE_VALUE_INVALID for a private key):
// Capabilities.Import is then false and ImportKey says why. A failure
// that says nothing about the template (the token is away) leaves it
// unknown, to try again later.
func (b *Backend) probeImport(ctx context.Context) importState {
	if st := importState(b.importProbe.Load()); st != importUnknown {
		return st
	}
	b.importProbeMu.Lock()
	defer b.importProbeMu.Unlock()
	if st := importState(b.importProbe.Load()); st != importUnknown {
		return st
	}
	var key any
	var alg backend.Algorithm
	var err error
	switch {
	case b.supportsAlgorithm(backend.ECP256):
		alg = backend.ECP256
		key, err = ecdsa.GenerateKey(alg.Curve(), rand.Reader)
	case b.supportsAlgorithm(backend.RSA2048):
		alg = backend.RSA2048
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return importUnknown // nothing to import that the token could hold anyway
	}
	if err != nil {
		return importUnknown
	}
	label := "keyplane-probe-import-" + fmt.Sprintf("%x", newID()[:6])
	_, privT, err := pairObjects(alg, key, label, newID())
	if err != nil {
		return importUnknown
	}
	st := importUnknown
	_ = b.withSession(ctx, func(s *session) error {
		session := append([]*pkcs11.Attribute(nil), privT...)
		setAttr(session, pkcs11.CKA_TOKEN, false)
		h, err := b.p.CreateObject(s.h, session)
		if err != nil && refusedTemplate(codeOf(ckErr("C_CreateObject", err))) {
			h, err = b.p.CreateObject(s.h, privT)
		}
		if err != nil {
			err = ckErr("C_CreateObject", err)
			if refusedTemplate(codeOf(err)) {
				st = importRefused
				return nil
			}
			return err
		}
		st = importWorks
		_ = b.p.DestroyObject(s.h, h)
		return nil
	})
	b.importProbe.Store(int32(st))
	return st
}

// refusedTemplate: a code C_CreateObject gives for an object the token
// will not make from the template (as opposed to a session, login or
// device fault).
func refusedTemplate(code uint) bool {
	switch code {
	case pkcs11.CKR_ATTRIBUTE_VALUE_INVALID, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_ATTRIBUTE_READ_ONLY,
		pkcs11.CKR_TEMPLATE_INCONSISTENT, pkcs11.CKR_TEMPLATE_INCOMPLETE, pkcs11.CKR_FUNCTION_NOT_SUPPORTED,
		pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_DOMAIN_PARAMS_INVALID, pkcs11.CKR_CURVE_NOT_SUPPORTED,
		pkcs11.CKR_GENERAL_ERROR:
		return true
	}
	return false
}
