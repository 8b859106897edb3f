//go:build cgo && !nopkcs11

package pkcs11

import "github.com/miekg/pkcs11"

func (s *spyAPI) DeriveKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, base pkcs11.ObjectHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := s.hit("DeriveKey"); err != nil {
		return 0, err
	}
	return s.api.DeriveKey(sh, m, base, temp)
}

func (l *serialAPI) DeriveKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, base pkcs11.ObjectHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.DeriveKey(sh, m, base, temp)
}
