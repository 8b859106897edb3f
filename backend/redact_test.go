package backend_test

import (
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Query parameters.
		{"pkcs11:token=a?module-path=/m.so&pin-value=1234", "pkcs11:token=a?module-path=/m.so&pin-value=REDACTED"},
		{"pkcs11:token=a?pin-value=1234&module-path=/m.so", "pkcs11:token=a?pin-value=REDACTED&module-path=/m.so"},
		{"pkcs11:token=a?PIN-VALUE=1234", "pkcs11:token=a?PIN-VALUE=REDACTED"},
		{"pkcs11:token=a?pin-value=", "pkcs11:token=a?pin-value=REDACTED"},
		// "c" after the PIN may be its tail ("a=b&c"): dropped.
		{"pkcs11:token=a?pin-value=a=b&c", "pkcs11:token=a?pin-value=REDACTED"},
		{"pkcs11:token=a?pin-value=1&pin-value=2", "pkcs11:token=a?pin-value=REDACTED&pin-value=REDACTED"},
		{"software:/keys?passphrase=hunter2", "software:/keys?passphrase=REDACTED"},
		{"plugin+pkcs11:token=a?pin=0000", "plugin+pkcs11:token=a?pin=REDACTED"},
		// Path attributes (RFC 7512 allows pin-value there too).
		{"pkcs11:token=a;pin-value=1234", "pkcs11:token=a;pin-value=REDACTED"},
		{"pkcs11:pin-value=1234;token=a", "pkcs11:pin-value=REDACTED;token=a"},
		{"pkcs11:pin-value=1234", "pkcs11:pin-value=REDACTED"},
		{"pkcs11:token=a;pin-value=1234?module-path=/m.so", "pkcs11:token=a;pin-value=REDACTED?module-path=/m.so"},
		{"plugin+pkcs11:pin-value=99;token=a?pin-value=98", "plugin+pkcs11:pin-value=REDACTED;token=a?pin-value=REDACTED"},
		// Nothing secret: unchanged.
		{"software:memory", "software:memory"},
		{"pkcs11:token=a?pin-source=file:/run/pin", "pkcs11:token=a?pin-source=file:/run/pin"},
		{"pkcs11:token=pin-value?module-path=/m.so", "pkcs11:token=pin-value?module-path=/m.so"},
		{"", ""},
		{"no scheme at all", "no scheme at all"},
	} {
		if got := backend.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestRedactNeverShowsSecret(t *testing.T) {
	const secret = "s3cr3t-9d4e"
	for _, uri := range []string{
		"pkcs11:token=a;object=b;pin-value=" + secret,
		"pkcs11:token=a?module-path=/usr/lib/m.so&pin-value=" + secret + "&x=y",
		"software:relative/dir?passphrase=" + secret,
		"software:/dir?x=1&Passphrase=" + secret,
		"plugin+software:memory?pin=" + secret,
	} {
		if got := backend.Redact(uri); strings.Contains(got, secret) {
			t.Errorf("Redact(%q) = %q still shows the secret", uri, got)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("pkcs11:token=a;pin-value=1234?module-path=/m&pin-value=1234")
	f.Add("software:/x?passphrase=abc")
	f.Fuzz(func(t *testing.T, uri string) {
		got := backend.Redact(uri) // never panics
		if backend.Redact(got) != got {
			t.Fatalf("Redact is not idempotent on %q: %q then %q", uri, got, backend.Redact(got))
		}
	})
}
