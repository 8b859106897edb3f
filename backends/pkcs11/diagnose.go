//go:build cgo && !nopkcs11

package pkcs11

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// diagnose asks the token what a failure with a code of two meanings
// (twoMeanings) was, before the backend acts on it: C_GetSessionInfo on
// the session the operation used, then C_GetTokenInfo on the slot. It
// returns the code to act on, whether the token is in trouble, and the
// error of the call that failed, if one did:
//
//   - C_GetSessionInfo says the session is gone: that code (the session
//     is dropped and the operation tried once more on another);
//   - either call fails otherwise: its code, gone (the token, device or
//     library is in trouble: the pool is reset and the next call recovers);
//   - the session lost its login (public state, or another goroutine
//     logged in again since the operation began at login generation gen):
//     CKR_USER_NOT_LOGGED_IN (SoftHSM2 answers an operation caught by a
//     C_Logout with CKR_GENERAL_ERROR);
//   - the token answers both: code itself, not gone — the operation
//     failed on a healthy token (bad data, a mechanism parameter it does
//     not do), and the session stays in the pool.
//
// It costs two calls, and runs only after a failure with such a code.
func (b *Backend) diagnose(s *session, code uint, gen uint64) (uint, bool, error) {
	info, err := b.p.GetSessionInfo(s.h)
	if err != nil {
		e := ckErr("C_GetSessionInfo", err)
		c := codeOf(e)
		return c, !sessionGone(c), e
	}
	b.mu.Lock()
	slot := b.slot
	b.mu.Unlock()
	if _, err := b.p.GetTokenInfo(slot); err != nil {
		e := ckErr("C_GetTokenInfo", err)
		if c := codeOf(e); c != pkcs11.CKR_OK {
			return c, true, e
		}
		return pkcs11.CKR_DEVICE_ERROR, true, e // not a CKR code: miekg's own failure
	}
	if b.hasPIN && (b.loginGen.Load() != gen ||
		info.State != pkcs11.CKS_RW_USER_FUNCTIONS && info.State != pkcs11.CKS_RO_USER_FUNCTIONS) {
		return pkcs11.CKR_USER_NOT_LOGGED_IN, false, nil
	}
	return code, false, nil
}

// operationFailed is what withSession returns for a failure with a code of
// two meanings when diagnose found the token well: the operation's own
// error, marked so that a decryption can tell it is the data's fault.
type operationFailed struct{ err error }

func (e *operationFailed) Error() string { return e.err.Error() }
func (e *operationFailed) Unwrap() error { return e.err }

// failedOnHealthyToken reports whether err is fn's failure with a code of
// two meanings on a token that answered diagnose.
func failedOnHealthyToken(err error, fn string) bool {
	var op *operationFailed
	var e *Error
	return errors.As(err, &op) && errors.As(op.err, &e) && e.Func == fn
}

// withCheck adds the error of diagnose's failed call to the operation's.
func withCheck(err, check error) error {
	if check == nil {
		return err
	}
	return fmt.Errorf("%w (then, checking the token: %v)", err, check)
}
