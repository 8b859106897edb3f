package plugins_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestURIHidesSecretTail: in a plugin: URI, a secret parameter for the
// plugin (pin=, pin-value=, passphrase=) holding an unencoded "&" splits
// the query; when what follows reads as the host's own timeout= or
// sha256= and is refused, the error does not repeat it.
func TestURIHidesSecretTail(t *testing.T) {
	const tail = "tail7c3e"
	for _, uri := range []string{
		"plugin:" + exampleExe + "?pin=12&timeout=" + tail,
		"plugin:" + exampleExe + "?pin-value=12&sha256=" + tail,
		"plugin:" + exampleExe + "?passphrase=12&timeout=" + tail + "&x=1",
	} {
		_, err := backend.Open(t.Context(), uri)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("Open(%q) = %v, want ErrInvalidInput", uri, err)
			continue
		}
		if strings.Contains(err.Error(), tail) {
			t.Errorf("Open(%q) = %q: repeats what may be the secret's tail", uri, err)
		}
	}
	// Without a secret before it, the bad value is shown.
	_, err := backend.Open(t.Context(), "plugin:"+exampleExe+"?timeout=soon")
	if err == nil || !strings.Contains(err.Error(), "soon") {
		t.Errorf("timeout=soon: %v, want the value named", err)
	}
	waitChildren(t)
}
