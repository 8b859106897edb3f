package software

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestParseURIHidesSecretTail: a passphrase written into the URI by
// mistake (passphrase=, pin=) and holding an unencoded "&" splits the
// query; the error names the mistaken parameter but nothing after it,
// which may be the passphrase's tail.
func TestParseURIHidesSecretTail(t *testing.T) {
	const tail = "tail7c3e"
	for _, uri := range []string{
		"software:/k?passphrase=hunter&" + tail,
		"software:/k?passphrase=hunter&" + tail + "=x",
		"software:/k?pin=hunter&" + tail + "&passphrase-source=file:/p",
		"software:/k?foo=1&Passphrase=hunter&" + tail,
	} {
		_, err := ParseURI(uri)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ParseURI(%q) = %v, want ErrInvalidInput", uri, err)
			continue
		}
		if strings.Contains(err.Error(), tail) || strings.Contains(err.Error(), "hunter") {
			t.Errorf("ParseURI(%q) = %q: shows the secret or its tail", uri, err)
		}
		if !strings.Contains(strings.ToLower(err.Error()), `"passphrase"`) && !strings.Contains(err.Error(), `"pin"`) {
			t.Errorf("ParseURI(%q) = %q: does not name the mistaken parameter", uri, err)
		}
	}
	// Names before the secret are still listed.
	_, err := ParseURI("software:/k?foo=1&passphrase=hunter&" + tail)
	if err == nil || !strings.Contains(err.Error(), `"foo"`) {
		t.Errorf("an unknown name before the secret is not named: %v", err)
	}
}
