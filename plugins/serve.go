package plugins

import (
	"context"
	"fmt"
	"os"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/nocore"
)

// LogLevelEnv is the variable the host sets in the plugin's environment to
// the level of its own logger (trace, debug, info, warn, error), so that a
// plugin does not write lines the host would throw away.
const LogLevelEnv = "KEYPLANE_PLUGIN_LOG_LEVEL"

// Serve serves b as a keyplane plugin over go-plugin's gRPC transport, and
// returns when the host is done with it, after closing b. It is the whole
// main of a plugin that needs no configuration:
//
//	func main() {
//		b := mybackend.New()
//		plugins.Serve(b)
//	}
//
// The host's OpenBackend call must then carry no configuration (a
// plugin:/path URI with no query parameters besides the host's own);
// anything else is refused with ErrInvalidInput. Use ServeOpen for a plugin
// that takes configuration.
//
// Nothing may be written to standard output before Serve: go-plugin reads
// its handshake line from there. Run by hand (without the host's magic
// cookie), the executable prints a short explanation on stderr and exits 1.
func Serve(b backend.Backend) {
	ServeOpen(func(_ context.Context, uri string) (backend.Backend, error) {
		if uri != "" {
			return nil, fmt.Errorf("this plugin takes no configuration, got %q: %w", backend.Redact(uri), backend.ErrInvalidInput)
		}
		return b, nil
	})
}

// ServeOpen serves the backend that open returns for the configuration the
// host sends in its first call (OpenBackend): for plugin+<scheme>:<rest>
// that is the backend URI "<scheme>:<rest>"; for plugin:<path>?<query> it
// is the query without the host's own parameters. The configuration may
// hold a PIN or passphrase: it reaches the plugin only over the
// mutually-authenticated TLS channel, never through its command line or
// environment. open runs once per plugin process.
//
// A host whose program supplies a PIN or passphrase in code sends it with
// the configuration; a plugin built on ServeOpen refuses it
// (ErrUnsupported), one built on ServeOpenRequest takes it. The
// keyplane-plugin executable is built on ServeOpenRequest.
//
// ServeOpen first turns core dumps off for the process
// (internal/nocore: on Linux the core file limit to 0 and PR_SET_DUMPABLE
// 0, which also keeps same-user debuggers and /proc/<pid>/mem readers
// out), since the plugin's memory holds the backend's PINs, plaintexts
// and, for a software keystore, keys. A failure there is logged, not
// fatal: it only narrows what could leak.
func ServeOpen(open OpenFunc) { serve(newServer(open)) }

// serve is ServeOpen and ServeOpenRequest's body.
func serve(srv *server) {
	coreErr := nocore.Disable()
	logger := pluginLogger()
	if coreErr != nil {
		logger.Warn("core dumps not fully turned off", "error", coreErr)
	}
	defer srv.close()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins:         goplugin.PluginSet{pluginName: &grpcPlugin{srv: srv}},
		GRPCServer:      newGRPCServer,
		Logger:          logger,
	})
}

// pluginLogger writes hclog JSON lines on the process's real stderr, which
// the host reads and forwards to its slog logger.
func pluginLogger() hclog.Logger {
	level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "keyplane-plugin",
		Level:      level,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}
