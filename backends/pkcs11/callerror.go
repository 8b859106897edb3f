package pkcs11

// Error is a failed PKCS#11 call. It prints as "pkcs11: C_Sign:
// CKR_DEVICE_ERROR" and unwraps to the backend sentinel the code maps onto
// (see [Sentinel]), so errors.Is(err, backend.ErrUnavailable) works.
// Decryption failures are never an *Error: they are bare
// backend.ErrDecryption.
type Error struct {
	Func string // the PKCS#11 function, "C_Sign"
	Code uint   // the CKR_ value
}

func (e *Error) Error() string { return "pkcs11: " + e.Func + ": " + CodeName(e.Code) }

// Unwrap returns the backend sentinel for the code.
func (e *Error) Unwrap() error { return Sentinel(e.Code) }
