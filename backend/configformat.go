package backend

import (
	"fmt"
	"strconv"
)

// ConfigGoString is the %#v form of a backend's configuration that may
// hold secrets: typ, the redacted URI, and the names of the secret
// callbacks that are set ("pkcs11.URI(\"pkcs11:token=t\", PIN: set)"),
// never their values.
func ConfigGoString(typ, redacted string, set ...string) string {
	s := typ + "(" + strconv.Quote(redacted)
	for _, name := range set {
		s += ", " + name + ": set"
	}
	return s + ")"
}

// FormatConfig is the Format method of a configuration that may hold
// secrets: goString for %#v and str for every other verb, so that no verb
// (%d, %x, %+v) prints it field by field.
func FormatConfig(f fmt.State, verb rune, str, goString string) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, goString)
		return
	}
	fmt.Fprint(f, str)
}
