//go:build cgo && !nopkcs11

package pkcs11

// #include <stdlib.h>
import "C"

import (
	"unsafe"

	"github.com/miekg/pkcs11"
)

// initArgs is a module's module-init-args: the string, and its copy in C
// memory that C_Initialize receives as CK_C_INITIALIZE_ARGS.pReserved.
// The C copy is never freed: a module may keep the pointer (the PKCS#11
// standard says nothing about its lifetime), and modules are never
// unloaded. It is made once per module, so this is one small allocation
// per module path and process. The value may hold a secret for some
// modules: it is never logged or put in an error.
type initArgs struct {
	s string
	c unsafe.Pointer // NUL-terminated copy of s; nil when s is ""
}

func newInitArgs(s string) initArgs {
	if s == "" {
		return initArgs{}
	}
	return initArgs{s: s, c: unsafe.Pointer(C.CString(s))}
}

// options are the C_Initialize options: CKF_OS_LOCKING_OK (miekg's
// default) and, when there are init args, pReserved.
func (a initArgs) options() []pkcs11.InitializeOption {
	if a.c == nil {
		return nil
	}
	return []pkcs11.InitializeOption{pkcs11.InitializeWithReserved(a.c)}
}

// free releases the C copy of a module that failed to initialize (and
// was unloaded).
func (a initArgs) free() {
	if a.c != nil {
		C.free(a.c)
	}
}

// initArgsNote describes what a loaded module was initialized with, for
// the error about a second URI that asks for other init args. It never
// shows the value.
func initArgsNote(s string) string {
	if s == "" {
		return "no module-init-args"
	}
	return "other module-init-args"
}

// initArgsHint adds a hint to a C_Initialize failure: a module that
// refuses CK_C_INITIALIZE_ARGS without pReserved may need init args.
func initArgsHint(code uint, args string) string {
	if code == pkcs11.CKR_ARGUMENTS_BAD && args == "" {
		return " (some modules, such as NSS softokn, need their configuration in module-init-args)"
	}
	return ""
}
