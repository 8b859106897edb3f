// Command keyplane-plugin runs keyplane's built-in backends in a child
// process: a host that opens plugin+<scheme>:<rest> starts it, and it opens
// the backend URI <scheme>:<rest> that the host sends over the plugin's
// mutually authenticated TLS channel (never on its command line or in its
// environment, since a PKCS#11 URI may carry a PIN).
//
// It is not meant to be run by hand: without the host's handshake it prints
// an explanation on stderr and exits 1. See docs/plugins.md.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"

	// The built-in backends this executable can run.
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
)

func main() {
	plugins.ServeOpen(open)
}

// open opens the backend URI the host sent. A host that ran this
// executable as a third-party plugin (plugin:/path/keyplane-plugin) sends a
// bare query instead, which is refused with the right way to say it.
func open(ctx context.Context, uri string) (backend.Backend, error) {
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "=&?/") {
		return nil, fmt.Errorf("%s runs keyplane's built-in backends: open it as plugin+<scheme>:<rest> (plugin+software:memory, plugin+pkcs11:...), not plugin:<path>: %w", plugins.ExecutableName, backend.ErrInvalidInput)
	}
	return backend.Open(ctx, uri)
}
