package pkcs11

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestParseModuleInitArgs: module-init-args is percent-decoded into
// ModuleInitArgs, exactly, and never shown: not by String, GoString,
// encoding/json, backend.Redact, nor by any parse error.
func TestParseModuleInitArgs(t *testing.T) {
	const args = "configdir='sql:/tmp/my db' certPrefix='' keyPrefix='' secmod='secmod.db' flags= dbTokenDescription='keyplane' password=hunter2"
	u, err := ParseURI("pkcs11:token=keyplane?module-path=/usr/lib/x86_64-linux-gnu/libsoftokn3.so&module-init-args=" + escape(args, true) + "&pin-source=/run/pin")
	if err != nil {
		t.Fatal(err)
	}
	if u.ModuleInitArgs != args {
		t.Errorf("ModuleInitArgs = %q, want %q", u.ModuleInitArgs, args)
	}
	j, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"String": u.String(), "GoString": fmt.Sprintf("%#v", *u), "%v": fmt.Sprintf("%v", u), "JSON": string(j)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "module-init-args") || strings.Contains(s, "configdir") {
			t.Errorf("%s shows the init args: %s", what, s)
		}
	}
	if want := "pkcs11:token=keyplane?module-path=/usr/lib/x86_64-linux-gnu/libsoftokn3.so&pin-source=/run/pin"; u.String() != want {
		t.Errorf("String() = %q, want %q", u.String(), want)
	}
	if r := backend.Redact("pkcs11:token=t?module-init-args=password%3Dhunter2&module-path=/m.so"); strings.Contains(r, "hunter2") {
		t.Errorf("Redact shows the init args: %s", r)
	}
}

func TestParseModuleInitArgsErrors(t *testing.T) {
	const secret = "hunter2"
	for in, want := range map[string]string{
		"pkcs11:?module-init-args=":                                          "module-init-args is empty",
		"pkcs11:?module-init-args=a%00" + secret:                             "NUL",
		"pkcs11:?module-init-args=" + secret + "%zz":                         "malformed percent-encoding",
		"pkcs11:?module-init-args=" + secret + "%4":                          "malformed percent-encoding",
		"pkcs11:?module-init-args=" + secret + "&module-init-args=" + secret: "given twice",
		"pkcs11:module-init-args=" + secret:                                  "belongs in the query",
	} {
		_, err := ParseURI(in)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded, want an error containing %q", in, want)
			continue
		}
		if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURI(%q) = %v, want ErrInvalidInput containing %q", in, err, want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURI(%q) error shows the value: %v", in, err)
		}
	}
}
