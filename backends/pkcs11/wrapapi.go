//go:build cgo && !nopkcs11

package pkcs11

import "github.com/miekg/pkcs11"

// wrapAPI is the part of *pkcs11.Ctx that key wrapping and the security
// officer's set-up use, kept apart from pkcs11API so that the test
// wrappers of pkcs11API (spies, fault injectors) need not grow: a backend
// whose pkcs11API lacks it (one opened through such a wrapper) reports no
// wrap mechanisms, and WrapKey and UnwrapKey return ErrUnsupported.
type wrapAPI interface {
	WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, wrappingKey, key pkcs11.ObjectHandle) ([]byte, error)
	UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrapped []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)
	Logout(sh pkcs11.SessionHandle) error
}

var _ wrapAPI = guardedCtx{}

func (g guardedCtx) WrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, wrappingKey, key pkcs11.ObjectHandle) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.WrapKey(sh, m, wrappingKey, key)
}

// UnwrapKey creates an object, so it takes the object lock as
// CreateObject does.
func (g guardedCtx) UnwrapKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, unwrappingKey pkcs11.ObjectHandle, wrapped []byte, a []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.Lock()
	defer g.m.objects.Unlock()
	return g.ctx.UnwrapKey(sh, m, unwrappingKey, wrapped, a)
}

func (g guardedCtx) Logout(sh pkcs11.SessionHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.Logout(sh)
}
