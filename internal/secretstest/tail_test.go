package secretstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/backends/software"
)

// TestSecretTailsNeverLeak (issue 12, B.5): a PIN or passphrase holding an
// unencoded "&" splits a URI's query, and its tail reads as the next
// attribute — with no "=", as an unknown name, or as a known name's bad
// value. The tail must not appear in the parsers' errors, or in what the
// CLI prints; backend.Redact drops it too, except as the value of a known
// attribute (a PIN holding "&max-sessions=" unencoded is read as that
// attribute by every parser: it cannot be told from one).
func TestSecretTailsNeverLeak(t *testing.T) {
	chk := newChecker()
	var uris []string
	for _, q := range []string{
		"pin-value=" + pin + "&" + pinTail,
		"pin-value=" + pin + "&" + pinTail + "=1",
		"pin-value=" + pin + "&" + pinTail + "&max-sessions=2",
		"pin-value=" + pin + "&max-sessions=" + pinTail,
		"pin-value=" + pin + "&oaep-fallback=" + pinTail,
		"pin-value=" + pin + "&module-name=" + pinTail + "/x",
		"pin-value=" + pin + "&" + pinTail + "=%zz",
	} {
		uris = append(uris, "pkcs11:token=t?module-path=/usr/lib/m.so&"+q)
	}
	for i, u := range uris {
		if i < 3 || i == len(uris)-1 {
			chk.text(t, kindString, "backend.Redact", backend.Redact(u))
		}
		_, err := pkcs11.ParseURI(u)
		chk.fails(t, "pkcs11.ParseURI", err, backend.ErrInvalidInput)
		_, err = backend.Open(t.Context(), u)
		chk.fails(t, "backend.Open", err, backend.ErrInvalidInput)
	}
	for _, u := range []string{
		"software:/srv/keys?passphrase=" + pass + "&" + pinTail,
		"software:/srv/keys?pin=" + pin + "&" + pinTail + "=1&passphrase-source=file:/p",
	} {
		chk.text(t, kindString, "backend.Redact", backend.Redact(u))
		_, err := software.ParseURI(u)
		chk.fails(t, "software.ParseURI", err, backend.ErrInvalidInput)
	}

	// The CLI, given such a URI with --backend and in KEYPLANE_BACKEND.
	_, exe := executables(t)
	work := t.TempDir()
	c := &keyplaneCLI{t: t, chk: chk, exe: exe, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + work,
		"XDG_DATA_HOME=" + filepath.Join(work, "data"),
	}}
	for _, u := range uris[:3] {
		c.run(exitError, nil, []string{"invalid input", "%26"}, "--backend", u, "list")
		c.run(exitError, []string{"KEYPLANE_BACKEND=" + u}, []string{"invalid input"}, "list")
	}
	t.Logf("checked: %v", chk.counts())
}
