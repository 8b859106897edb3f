package plugins

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// ChildEnvNames returns the names of the host environment variables a
// plugin process inherits (when set): what programs and PKCS#11 modules need
// to run and find their configuration. Nothing else of the host's
// environment reaches the child: no PIN or passphrase variable
// (KEYPLANE_PASSPHRASE is never passed), no cloud credentials.
// Options.ForwardEnv adds names for one backend.
//
// The slice is a fresh copy: the allow-list itself cannot be changed by an
// importer, so no package linked into the program can widen what every
// plugin inherits.
func ChildEnvNames() []string { return slices.Clone(childEnvNames) }

// childEnvNames is the allow-list ChildEnvNames returns a copy of.
var childEnvNames = []string{
	"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ",
	"SOFTHSM2_CONF",                 // SoftHSM2's configuration file
	"P11_KIT_SERVER_ADDRESS",        // p11-kit-client.so's server socket
	"PKCS11SPY", "PKCS11SPY_OUTPUT", // OpenSC's pkcs11-spy.so, for tracing
}

// secretWords mark environment variable names that must never be passed
// to a plugin, even when asked.
var secretWords = []string{"PIN", "PASSPHRASE", "PASSWORD", "PASSWD", "SECRET"}

// checkForwardEnv refuses names that look like they hold a secret.
func checkForwardEnv(names []string) error {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "=\x00") {
			return fmt.Errorf("plugin: ForwardEnv name %q is not a variable name: %w", n, backend.ErrInvalidInput)
		}
		up := strings.ToUpper(n)
		for _, w := range secretWords {
			if strings.Contains(up, w) {
				return fmt.Errorf("plugin: refusing to pass %s to a plugin's environment: it looks like a secret (send secrets in the backend URI, which goes over the TLS channel, or point the URI at a file): %w", n, backend.ErrInvalidInput)
			}
		}
	}
	return nil
}

// childEnv builds the plugin's environment from the host's, at start time.
func childEnv(forward []string, logger *slog.Logger) []string {
	var env []string
	for _, n := range slices.Concat(childEnvNames, forward) {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return append(env, LogLevelEnv+"="+levelName(logger))
}
