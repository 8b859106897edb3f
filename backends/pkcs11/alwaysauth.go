//go:build cgo && !nopkcs11

package pkcs11

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// A private key marked CKA_ALWAYS_AUTHENTICATE needs the user's PIN again
// for each operation: after C_SignInit (C_DecryptInit) and before C_Sign
// (C_Decrypt), a C_Login with CKU_CONTEXT_SPECIFIC on the same session
// (PKCS#11 2.40 §5.6). SoftHSM2 2.6.1 enforces it: without that login
// C_Sign answers CKR_USER_NOT_LOGGED_IN and ends the operation, and one
// login covers one operation only (docs/backends/pkcs11.md).

// readAlwaysAuth reads CKA_ALWAYS_AUTHENTICATE of a private key, in a call
// of its own: a token that does not know the attribute (NSS softokn 3.87
// answers CKR_ATTRIBUTE_TYPE_INVALID) has no such keys, and its answer
// must not fail the read of the key's other attributes.
func (b *Backend) readAlwaysAuth(s *session, priv pkcs11.ObjectHandle) bool {
	a, err := b.p.GetAttributeValue(s.h, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil)})
	return err == nil && len(a) == 1 && boolAttr(a[0].Value)
}

// contextLogin logs in for the one operation just initialized on s with
// k (C_Login, CKU_CONTEXT_SPECIFIC), with a PIN from the PIN callback
// that is zeroed when C_Login returns; it does nothing for a key not
// marked CKA_ALWAYS_AUTHENTICATE. When the login fails, end is called to
// end the operation, so that the session goes back to the pool idle. A
// wrong PIN is backend.ErrAuthentication; unlike a wrong CKU_USER PIN it
// is not remembered: the callback (a prompt) may give the right one next
// time.
func (b *Backend) contextLogin(s *session, k *keyObject, end func()) error {
	if !k.alwaysAuth {
		return nil
	}
	if !b.hasPIN {
		end()
		return fmt.Errorf("pkcs11: key %q asks for the PIN at each use (CKA_ALWAYS_AUTHENTICATE) and the URI gives no PIN (pin-source=, or Config.PIN in code): %w", k.label, backend.ErrAuthentication)
	}
	pin, err := b.readPIN(b.tokenLabel())
	if err != nil {
		end()
		return fmt.Errorf("pkcs11: key %q (CKA_ALWAYS_AUTHENTICATE): %w", k.label, err)
	}
	if err := b.loginWith(s.h, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
		end()
		return fmt.Errorf("pkcs11: key %q (CKA_ALWAYS_AUTHENTICATE): %w", k.label, ckErr("C_Login(CKU_CONTEXT_SPECIFIC)", err))
	}
	return nil
}
