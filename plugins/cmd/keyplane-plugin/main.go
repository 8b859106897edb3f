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
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/backends/software"
)

func main() {
	plugins.ServeOpenRequest(open)
}

// open opens the backend URI the host sent, with the PIN or passphrase the
// host's program supplied in code, if any, set in the backend's Config. A
// host that ran this executable as a third-party plugin
// (plugin:/path/keyplane-plugin) sends a bare query instead, which is
// refused with the right way to say it.
func open(ctx context.Context, req *plugins.OpenRequest) (backend.Backend, error) {
	uri := req.URI
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "=&?/") {
		return nil, fmt.Errorf("%s runs keyplane's built-in backends: open it as plugin+<scheme>:<rest> (plugin+software:memory, plugin+pkcs11:..., plugin+awskms:...), not plugin:<path>: %w", plugins.ExecutableName, backend.ErrInvalidInput)
	}
	if scheme == "pkcs11" {
		spareProcs()
	}
	switch {
	case scheme == "pkcs11" && req.PIN != nil:
		c, err := pkcs11.ParseURI(uri)
		if err != nil {
			return nil, err
		}
		c.PIN = req.PIN
		return openedPKCS11(pkcs11.OpenConfig(ctx, c))
	case scheme == software.Scheme && req.Passphrase != nil:
		c, err := software.ParseURI(uri)
		if err != nil {
			return nil, err
		}
		c.Passphrase = req.Passphrase
		ks, err := software.OpenConfig(ctx, c)
		if err != nil {
			return nil, err
		}
		return ks, nil
	case req.PIN != nil || req.Passphrase != nil:
		return nil, fmt.Errorf("%s: the host sent a PIN or passphrase that a %s: backend does not take (a PIN goes with pkcs11:, a passphrase with software:<dir>): %w", plugins.ExecutableName, scheme, backend.ErrInvalidInput)
	}
	return backend.Open(ctx, uri)
}

// openedPKCS11 returns b as a backend.Backend, never a typed nil.
func openedPKCS11(b *pkcs11.Backend, err error) (backend.Backend, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
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
