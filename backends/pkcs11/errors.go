//go:build cgo && !nopkcs11

package pkcs11

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// CodeName returns the name of a CKR_ code ("CKR_PIN_INCORRECT"), or its
// value in hex for a code that has no name (vendor-defined codes).
func CodeName(code uint) string {
	s := pkcs11.Error(code).Error() // "pkcs11: 0xA0: CKR_PIN_INCORRECT"
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s[i+2:], "CKR_") {
		return s[i+2:]
	}
	return fmt.Sprintf("CKR_0x%X", code)
}

// Sentinel returns the backend sentinel a CKR_ code maps onto: PIN and
// login failures are ErrAuthentication; what the key, mechanism or token
// cannot do is ErrUnsupported; malformed arguments and data are
// ErrInvalidInput; session, device, token-presence and library state
// failures (and codes without a better home) are ErrUnavailable.
func Sentinel(code uint) error {
	switch code {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE,
		pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_USER_PIN_NOT_INITIALIZED,
		pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_USER_TYPE_INVALID,
		pkcs11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN, pkcs11.CKR_USER_TOO_MANY_TYPES:
		return backend.ErrAuthentication

	case pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_MECHANISM_INVALID,
		pkcs11.CKR_MECHANISM_PARAM_INVALID, pkcs11.CKR_KEY_TYPE_INCONSISTENT,
		pkcs11.CKR_FUNCTION_NOT_SUPPORTED, pkcs11.CKR_KEY_SIZE_RANGE,
		pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_ATTRIBUTE_SENSITIVE,
		pkcs11.CKR_KEY_UNEXTRACTABLE, pkcs11.CKR_KEY_NOT_WRAPPABLE,
		pkcs11.CKR_KEY_INDIGESTIBLE, pkcs11.CKR_CURVE_NOT_SUPPORTED,
		pkcs11.CKR_DOMAIN_PARAMS_INVALID, pkcs11.CKR_TOKEN_WRITE_PROTECTED,
		pkcs11.CKR_SESSION_READ_ONLY, pkcs11.CKR_INFORMATION_SENSITIVE,
		pkcs11.CKR_RANDOM_NO_RNG, pkcs11.CKR_FUNCTION_NOT_PARALLEL:
		return backend.ErrUnsupported

	case pkcs11.CKR_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ARGUMENTS_BAD,
		pkcs11.CKR_ATTRIBUTE_VALUE_INVALID, pkcs11.CKR_ATTRIBUTE_READ_ONLY,
		pkcs11.CKR_TEMPLATE_INCOMPLETE, pkcs11.CKR_TEMPLATE_INCONSISTENT,
		pkcs11.CKR_SIGNATURE_INVALID, pkcs11.CKR_SIGNATURE_LEN_RANGE,
		pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE,
		pkcs11.CKR_WRAPPED_KEY_INVALID, pkcs11.CKR_WRAPPED_KEY_LEN_RANGE,
		pkcs11.CKR_UNWRAPPING_KEY_HANDLE_INVALID, pkcs11.CKR_BUFFER_TOO_SMALL,
		pkcs11.CKR_SAVED_STATE_INVALID, pkcs11.CKR_KEY_NEEDED, pkcs11.CKR_KEY_NOT_NEEDED,
		pkcs11.CKR_KEY_CHANGED:
		return backend.ErrInvalidInput

	case pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID:
		// Reached only after the re-find: the object is gone.
		return backend.ErrNotFound
	}
	// CKR_SESSION_*, CKR_DEVICE_*, CKR_TOKEN_NOT_PRESENT,
	// CKR_TOKEN_NOT_RECOGNIZED, CKR_SLOT_ID_INVALID,
	// CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED,
	// CKR_HOST_MEMORY, CKR_DEVICE_MEMORY, CKR_OPERATION_*, CKR_CANT_LOCK,
	// CKR_FUNCTION_CANCELED, vendor codes.
	return backend.ErrUnavailable
}

// ckErr turns what a pkcs11API method returned into an *Error for fn. An
// error that is not a CKR code (miekg's own failures) wraps ErrUnavailable.
func ckErr(fn string, err error) error {
	if err == nil {
		return nil
	}
	var e pkcs11.Error
	if errors.As(err, &e) {
		return &Error{Func: fn, Code: uint(e)}
	}
	var ours *Error
	if errors.As(err, &ours) {
		return err
	}
	return fmt.Errorf("pkcs11: %s: %v: %w", fn, err, backend.ErrUnavailable)
}

// codeOf returns the CKR code inside err, or 0 (CKR_OK) when there is none.
func codeOf(err error) uint {
	var ours *Error
	if errors.As(err, &ours) {
		return ours.Code
	}
	var e pkcs11.Error
	if errors.As(err, &e) {
		return uint(e)
	}
	return pkcs11.CKR_OK
}

// Fault classes that drive recovery.
func sessionGone(code uint) bool {
	return code == pkcs11.CKR_SESSION_HANDLE_INVALID || code == pkcs11.CKR_SESSION_CLOSED
}

func handleStale(code uint) bool {
	return code == pkcs11.CKR_OBJECT_HANDLE_INVALID || code == pkcs11.CKR_KEY_HANDLE_INVALID
}

// tokenGone: the token, the device or the library is in trouble; every
// session is suspect and the backend must recover before the next use.
// CKR_FUNCTION_FAILED and CKR_GENERAL_ERROR are not here: they have two
// meanings (twoMeanings), and the backend asks the token which one holds
// (diagnose).
func tokenGone(code uint) bool {
	switch code {
	case pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_DEVICE_MEMORY,
		pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_SLOT_ID_INVALID, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return true
	}
	return false
}

// twoMeanings: codes that tokens return both for an operation that failed
// on a healthy token and for a token, device or library in trouble.
// opencryptoki 3.8 answers a tampered OAEP ciphertext, an OAEP label and
// an oversized PKCS#1 v1.5 ciphertext with CKR_FUNCTION_FAILED; SoftHSM2
// answers bad OAEP or PKCS#1 v1.5 data with CKR_GENERAL_ERROR, and an
// operation caught by a C_Logout too; tpm2-pkcs11 and network HSMs use
// them for real faults.
func twoMeanings(code uint) bool {
	return code == pkcs11.CKR_FUNCTION_FAILED || code == pkcs11.CKR_GENERAL_ERROR
}

// decryptFailure: a code C_Decrypt returns for a ciphertext it will not
// decrypt (bad padding, wrong length, tampering). These become the bare
// backend.ErrDecryption. (A code of two meanings from C_Decrypt becomes
// ErrDecryption too, once diagnose found the token well.)
func decryptFailure(code uint) bool {
	switch code {
	case pkcs11.CKR_ENCRYPTED_DATA_INVALID,
		pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID,
		pkcs11.CKR_DATA_LEN_RANGE, pkcs11.CKR_ARGUMENTS_BAD:
		return true
	}
	return false
}
