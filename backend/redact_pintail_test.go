package backend_test

import (
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestRedactHidesSecretTail: a secret holding an unencoded "&" (or ";" in
// a path) splits the list there; what follows may be the secret's tail.
// Redact hides every part after a secret one that is not a known
// attribute name, and keeps the known ones.
func TestRedactHidesSecretTail(t *testing.T) {
	const tail = "tail7c3e"
	for _, c := range []struct{ in, want string }{
		{"pkcs11:token=a?pin-value=12&" + tail, "pkcs11:token=a?pin-value=REDACTED"},
		{"pkcs11:token=a?pin-value=12&" + tail + "&module-path=/m.so", "pkcs11:token=a?pin-value=REDACTED&module-path=/m.so"},
		{"pkcs11:token=a?pin-value=12&" + tail + "=x&max-sessions=4", "pkcs11:token=a?pin-value=REDACTED&max-sessions=4"},
		{"pkcs11:token=a?pin-value=12&x-" + tail + "=1", "pkcs11:token=a?pin-value=REDACTED"},
		{"pkcs11:token=a;pin-value=12;" + tail + ";object=k", "pkcs11:token=a;pin-value=REDACTED;object=k"},
		{"plugin:/p?pin=12&" + tail + "&sha256=ab", "plugin:/p?pin=REDACTED&sha256=ab"},
		{"software:/k?passphrase=12&" + tail, "software:/k?passphrase=REDACTED"},
		// Before the secret nothing is hidden.
		{"pkcs11:token=a?" + tail + "=1&pin-value=12", "pkcs11:token=a?" + tail + "=1&pin-value=REDACTED"},
	} {
		got := backend.Redact(c.in)
		if got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if strings.Contains(got, "12") {
			t.Errorf("Redact(%q) = %q shows the secret", c.in, got)
		}
		if backend.Redact(got) != got {
			t.Errorf("Redact is not idempotent on %q", got)
		}
	}
}
