//go:build cgo && !nopkcs11

package pkcs11

/*
#cgo CFLAGS: -I${SRCDIR}/include
#define CK_PTR *
#define CK_DEFINE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

static CK_RV kp_encrypt(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE sh, CK_BYTE_PTR in, CK_ULONG inlen,
		CK_BYTE_PTR out, CK_ULONG_PTR outlen) {
	return f->C_Encrypt(sh, in, inlen, out, outlen);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/miekg/pkcs11"
)

// encryptSized is one C_Encrypt into a buffer of outLen bytes, without the
// size query (*pkcs11.Ctx).Encrypt makes first: for a mechanism whose
// output length the caller knows (AES-GCM: plaintext + tag), it does not
// depend on the token's answer to the query (NSS softokn 3.87 leaves the
// GCM tag out of it), and it is one C call instead of two (one round trip
// on a network HSM). A token that still wants more says
// CKR_BUFFER_TOO_SMALL with the length it needs, which the standard says
// leaves the operation active: encryptSized then tries once more with
// that length. The buffers are Go memory the module uses only during the
// call.
func (f *functionList) encryptSized(sh pkcs11.SessionHandle, message []byte, outLen int) ([]byte, error) {
	in := message
	if len(in) == 0 {
		in = []byte{0} // &in[0] must exist; the length passed is 0
	}
	for try := 0; ; try++ {
		out := make([]byte, max(outLen, 1))
		n := C.CK_ULONG(outLen)
		rv := C.kp_encrypt(f.p, C.CK_SESSION_HANDLE(sh), (*C.CK_BYTE)(unsafe.Pointer(&in[0])), C.CK_ULONG(len(message)),
			(*C.CK_BYTE)(unsafe.Pointer(&out[0])), &n)
		switch {
		case rv == C.CKR_OK && int(n) <= len(out):
			return out[:n], nil
		case rv == C.CKR_OK:
			return nil, fmt.Errorf("C_Encrypt says it wrote %d bytes into a buffer of %d", n, len(out))
		case rv == C.CKR_BUFFER_TOO_SMALL && try == 0 && int(n) > outLen && int(n) <= maxEncryptOutput(len(message)):
			outLen = int(n)
			continue
		}
		return nil, pkcs11.Error(rv)
	}
}

// maxEncryptOutput bounds the length a token may ask for after
// CKR_BUFFER_TOO_SMALL: more than this for n bytes is not a ciphertext.
func maxEncryptOutput(n int) int { return n + 1024 }
