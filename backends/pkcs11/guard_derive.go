//go:build cgo && !nopkcs11

package pkcs11

import "github.com/miekg/pkcs11"

// DeriveKey takes the call lock only: keyplane derives session objects
// (CKA_TOKEN false, for key agreement), which never reach SoftHSM2's file
// object store, so it need not wait for searches as token-object creation
// does (module.objects).
func (g guardedCtx) DeriveKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, base pkcs11.ObjectHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.DeriveKey(sh, m, base, temp)
}
