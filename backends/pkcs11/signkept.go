//go:build cgo && !nopkcs11

package pkcs11

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>

#define CK_PTR *
#define CK_DEFINE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

// The first fields of miekg/pkcs11 v1.1.2's struct ctx (pkcs11.go): the
// library handle and the module's function list.
struct kp_miekg_ctx {
	void *handle;
	CK_FUNCTION_LIST_PTR sym;
};

static CK_FUNCTION_LIST_PTR kp_function_list(void *c) {
	return c ? ((struct kp_miekg_ctx *)c)->sym : NULL;
}

static CK_RV kp_get_info(CK_FUNCTION_LIST_PTR f, CK_INFO_PTR info) {
	return f->C_GetInfo(info);
}

// kp_sign_kept runs C_SignInit, then C_Sign for the length and C_Sign for
// the signature, with the mechanism and its parameter in C memory that is
// freed only after the last C_Sign has returned. *stage says how far it
// got: 0 C_SignInit, 1 C_Sign. *sig is malloc'd; the caller frees it.
static CK_RV kp_sign_kept(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE sh,
		CK_MECHANISM_TYPE mech, CK_BYTE_PTR param, CK_ULONG param_len,
		CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG data_len,
		CK_BYTE_PTR *sig, CK_ULONG_PTR sig_len, int *stage) {
	CK_RV rv;
	CK_MECHANISM *m = calloc(1, sizeof(CK_MECHANISM));
	void *p = NULL;
	*stage = 0;
	*sig = NULL;
	if (m == NULL) {
		return CKR_HOST_MEMORY;
	}
	if (param_len > 0) {
		p = malloc(param_len);
		if (p == NULL) {
			free(m);
			return CKR_HOST_MEMORY;
		}
		memcpy(p, param, param_len);
	}
	m->mechanism = mech;
	m->pParameter = p;
	m->ulParameterLen = param_len;
	rv = f->C_SignInit(sh, m, key);
	if (rv == CKR_OK) {
		*stage = 1;
		rv = f->C_Sign(sh, data, data_len, NULL, sig_len);
		if (rv == CKR_OK) {
			*sig = malloc(*sig_len > 0 ? *sig_len : 1);
			if (*sig == NULL) {
				rv = CKR_HOST_MEMORY;
			} else {
				rv = f->C_Sign(sh, data, data_len, *sig, sig_len);
			}
		}
	}
	free(p);
	free(m);
	return rv;
}
*/
import "C"

import (
	"bytes"
	"unsafe"

	"github.com/miekg/pkcs11"
)

// functionList is a module's CK_FUNCTION_LIST, for the calls keyplane
// makes itself rather than through miekg/pkcs11 (signKept).
type functionList struct{ p C.CK_FUNCTION_LIST_PTR }

// miekgCtx is the layout of miekg/pkcs11 v1.1.2's Ctx: one pointer to its C
// struct ctx.
type miekgCtx struct{ ctx unsafe.Pointer }

// functionListOf returns the function list inside ctx, or nil when what
// it finds there does not answer C_GetInfo as ctx does (another
// miekg/pkcs11 layout): the caller then goes through miekg/pkcs11 alone.
func functionListOf(ctx *pkcs11.Ctx) *functionList {
	if ctx == nil {
		return nil
	}
	p := C.kp_function_list((*miekgCtx)(unsafe.Pointer(ctx)).ctx)
	if p == nil {
		return nil
	}
	want, err := ctx.GetInfo()
	if err != nil {
		return nil
	}
	var info C.CK_INFO
	if C.kp_get_info(p, &info) != C.CKR_OK {
		return nil
	}
	desc := C.GoBytes(unsafe.Pointer(&info.libraryDescription[0]), C.int(len(info.libraryDescription)))
	manu := C.GoBytes(unsafe.Pointer(&info.manufacturerID[0]), C.int(len(info.manufacturerID)))
	if string(bytes.TrimRight(desc, " ")) != want.LibraryDescription || string(bytes.TrimRight(manu, " ")) != want.ManufacturerID ||
		uint(info.libraryVersion.major) != uint(want.LibraryVersion.Major) || uint(info.libraryVersion.minor) != uint(want.LibraryVersion.Minor) {
		return nil
	}
	return &functionList{p}
}

// signKept is C_SignInit and C_Sign (the length, then the signature) with
// m's parameter kept in C memory until the last C_Sign has returned.
// miekg/pkcs11 frees its C copy of a parameter when C_SignInit returns,
// but PKCS#11 lets a module keep the pointer for the whole operation, and
// tpm2-pkcs11 1.9 does: it copies the CK_MECHANISM at C_SignInit and reads
// the CK_RSA_PKCS_PSS_PARAMS behind it again at C_Sign, which then fails
// (CKR_MECHANISM_INVALID) or reads freed memory. Only byte-string
// parameters without pointers inside (CK_RSA_PKCS_PSS_PARAMS) are kept
// this way. Errors are an *Error naming C_SignInit or C_Sign.
func (f *functionList) signKept(sh pkcs11.SessionHandle, m *pkcs11.Mechanism, o pkcs11.ObjectHandle, data []byte) ([]byte, error) {
	var param, msg C.CK_BYTE_PTR
	if len(m.Parameter) > 0 {
		param = (C.CK_BYTE_PTR)(C.CBytes(m.Parameter))
		defer C.free(unsafe.Pointer(param))
	}
	if len(data) > 0 {
		msg = (C.CK_BYTE_PTR)(C.CBytes(data))
		defer C.free(unsafe.Pointer(msg))
	}
	var sig C.CK_BYTE_PTR
	var sigLen C.CK_ULONG
	var stage C.int
	rv := C.kp_sign_kept(f.p, C.CK_SESSION_HANDLE(sh), C.CK_MECHANISM_TYPE(m.Mechanism), param, C.CK_ULONG(len(m.Parameter)),
		C.CK_OBJECT_HANDLE(o), msg, C.CK_ULONG(len(data)), &sig, &sigLen, &stage)
	if sig != nil {
		defer C.free(unsafe.Pointer(sig))
	}
	if rv != C.CKR_OK {
		fn := "C_SignInit"
		if stage == 1 {
			fn = "C_Sign"
		}
		return nil, &Error{Func: fn, Code: uint(rv)}
	}
	return C.GoBytes(unsafe.Pointer(sig), C.int(sigLen)), nil
}
