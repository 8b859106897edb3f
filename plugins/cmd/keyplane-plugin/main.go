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
	"os"
	"runtime"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"

	// The built-in backends this executable can run.
	_ "github.com/keyplane/keyplane/backends/awskms"
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
		return nil, fmt.Errorf("%s runs keyplane's built-in backends: open it as plugin+<scheme>:<rest> (plugin+software:memory, plugin+pkcs11:..., plugin+awskms:...), not plugin:<path>: %w", plugins.ExecutableName, backend.ErrInvalidInput)
	}
	if scheme == "pkcs11" {
		spareProcs()
	}
	return backend.Open(ctx, uri)
}

// spareProcs doubles GOMAXPROCS, unless the GOMAXPROCS variable sets it,
// for a PKCS#11 module. In this process nearly every goroutine is either
// blocked in read() on the direct channel or in C in the module, and each
// holds a P (a Go processor) while there. With every P held so, the
// runtime's monitor takes them back every 20 µs and a goroutine coming
// back from C finds no P free and moves to another thread: through
// plugin+pkcs11: on SoftHSM2, 2 callers' signing work ran on 5 threads in
// 110 µs slices, and RSA-2048 at 2 workers reached 0.70–0.82× of
// in-process; with twice the Ps, 0.85–0.88× (docs/performance.md). The
// software backend's work is Go code, for which spare Ps only hand the
// sharing of the CPUs to the kernel (0.86–0.90× with, 0.86–0.90× without),
// so it keeps the default.
func spareProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
}
