package pkcs11

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestParseURINeverShowsPINTail: a PIN holding an unencoded "&" splits
// the query, and what follows it (the PIN's tail) reads as the next
// attribute. Whatever that tail looks like — no "=", an unknown name, a
// known name with a bad value — the error names no part of it, and still
// wraps ErrInvalidInput. Attributes before pin-value keep their detailed
// errors.
func TestParseURINeverShowsPINTail(t *testing.T) {
	const tail = "tail7c3e"
	for _, in := range []string{
		"pkcs11:token=t?module-path=/m.so&pin-value=12&" + tail,
		"pkcs11:token=t?pin-value=12&" + tail + "&module-path=/m.so",
		"pkcs11:token=t?pin-value=12&" + tail + "=34",
		"pkcs11:token=t?pin-value=12&" + tail + "=%zz",
		"pkcs11:token=t?pin-value=12&max-sessions=" + tail,
		"pkcs11:token=t?pin-value=12&module-path=" + tail,
		"pkcs11:token=t?pin-value=12&oaep-fallback=" + tail,
		"pkcs11:token=t?pin-value=12&pin-source=" + tail,
		"pkcs11:token=t?pin-value=12&token=" + tail,
		"pkcs11:token=t?pin-value=12&" + tail + "&" + tail,
	} {
		_, err := ParseURI(in)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ParseURI(%q) = %v, want ErrInvalidInput", in, err)
			continue
		}
		if strings.Contains(err.Error(), tail) || strings.Contains(err.Error(), "12") {
			t.Errorf("ParseURI(%q) = %q: shows the PIN or its tail", in, err)
		}
		if !strings.Contains(err.Error(), "%26") {
			t.Errorf("ParseURI(%q) = %q: does not say to percent-encode \"&\" as %%26", in, err)
		}
	}
	// Before pin-value nothing is secret: the error says what is wrong.
	_, err := ParseURI("pkcs11:token=t?max-sessions=lots&pin-value=12")
	if err == nil || !strings.Contains(err.Error(), `max-sessions "lots"`) {
		t.Errorf("an error before pin-value lost its detail: %v", err)
	}
	// A known attribute after pin-value is named (its value is not).
	_, err = ParseURI("pkcs11:token=t?pin-value=12&max-sessions=lots")
	if err == nil || !strings.Contains(err.Error(), "max-sessions") || strings.Contains(err.Error(), "lots") {
		t.Errorf("a known attribute after pin-value: %v, want it named without its value", err)
	}
}
