package plugins

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// Options configure the host side of a plugin. The zero value is the
// default that backend.Open uses.
type Options struct {
	// Path is the plugin executable for plugin+<scheme>: URIs; empty means
	// FindExecutable's search. plugin: URIs name their executable
	// themselves and ignore it. (The keyplane CLI sets it from
	// $KEYPLANE_PLUGIN_PATH.)
	Path string
	// SHA256 pins the executable's SHA-256 (32 bytes). For plugin: URIs the
	// sha256= parameter sets it. (The keyplane CLI sets it from
	// $KEYPLANE_PLUGIN_SHA256 for plugin+<scheme>: URIs; this package
	// reads no variable.)
	SHA256 []byte
	// Logger receives go-plugin's messages and everything the plugin writes
	// on stdout and stderr; the default is slog.Default().
	Logger *slog.Logger
	// CallTimeout is the host's deadline on each call to the plugin:
	// Sign and Decrypt of the crypto.Signer and crypto.Decrypter values
	// (which take no context), and every other call as well as its
	// context's own deadline (GenerateKey and ImportKey get at least 2
	// minutes). A call still unanswered at this deadline returns
	// ErrUnavailable and the child is killed and replaced (its backend is
	// taken to be stuck); a call cut short by the caller's own context is
	// not. The timeout= parameter of a plugin: URI sets it. The default
	// is the child's own call-timeout= plus 2 seconds when the backend URI
	// of a plugin+<scheme>: URI has one (so that the child answers
	// ErrUnavailable first, and the host kills it only when even that
	// does not come), else 30 seconds.
	CallTimeout time.Duration
	// StartTimeout bounds starting the plugin process up to its handshake;
	// the default is 20 seconds.
	StartTimeout time.Duration
	// ForwardEnv names more host environment variables to pass to the
	// plugin, beyond ChildEnvNames. Names that look like they hold secrets
	// (containing PIN, PASSPHRASE, PASSWORD, SECRET) are refused.
	ForwardEnv []string
	// HealthInterval is how often the host sends the child a health check
	// (the Ping RPC); the default is 1 second, a negative value turns the
	// checks off.
	HealthInterval time.Duration
	// HealthTimeout is how long a health check may take; a child that
	// does not answer in time, or answers that its backend is broken, is
	// killed and replaced. The default is 3 seconds.
	HealthTimeout time.Duration
	// MaxUnavailable is how many calls in a row may end in ErrUnavailable
	// before the child is killed and replaced (a child whose module is
	// wedged answers ErrUnavailable at once, for ever). The default is 3;
	// a negative value never replaces a child for this.
	MaxUnavailable int
	// NoDirect sends Sign and Decrypt over gRPC like every other call,
	// instead of over the direct channel (see docs/plugins.md); for
	// diagnosis and comparison.
	NoDirect bool
}

const (
	defaultCallTimeout    = 30 * time.Second
	defaultStartTimeout   = 20 * time.Second
	defaultHealthInterval = time.Second
	defaultHealthTimeout  = 3 * time.Second
	defaultMaxUnavailable = 3
	// childTimeoutMargin is how much longer than the child's own
	// call-timeout= the host waits by default.
	childTimeoutMargin = 2 * time.Second
	// slowCallTimeout is the least deadline of GenerateKey and ImportKey.
	slowCallTimeout = 2 * time.Minute
)

// callTimeout is the host's default deadline for t: the child backend's
// call-timeout= (a Go duration in the backend URI's query) plus
// childTimeoutMargin, or defaultCallTimeout.
func (t *target) callTimeout() time.Duration {
	if t.scheme == "plugin" {
		return defaultCallTimeout
	}
	_, query, _ := strings.Cut(t.config, "?")
	for _, p := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(p, "call-timeout="); ok {
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				return d + childTimeoutMargin
			}
		}
	}
	return defaultCallTimeout
}

// target is a parsed plugin URI: what to run and what to send it.
type target struct {
	scheme string // "plugin+software", "plugin"
	name   string // for messages
	exe    string
	config string // the OpenBackend URI; may hold secrets, never logged
	sha256 []byte
	// secrets are sent with OpenBackendWithSecrets at each child start
	// (Config.PIN, Config.Passphrase).
	secrets []roleSecret
}

// parseURI reads plugin+<scheme>:<rest> and plugin:<abs-path>?<query>.
//
//	plugin+software:memory
//	plugin+pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//	plugin:/opt/acme/keyplane-acme-kms?sha256=9f86d0…&region=eu-west-1
//
// For plugin: URIs the host keeps sha256= (the executable's pinned hash)
// and timeout= (Options.CallTimeout, a Go duration), and sends the other
// query parameters, as written, to the plugin. With resolve, it also finds
// the executable (FindExecutable for plugin+<scheme>:, a check of the file
// for plugin:); without, it checks the URI's form only.
func parseURI(uri string, opts *Options, resolve bool) (*target, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return nil, fmt.Errorf("plugin URI %q: want plugin+<scheme>:... or plugin:/path/to/executable: %w", backend.Redact(uri), backend.ErrInvalidInput)
	}
	if inner, ok := strings.CutPrefix(scheme, "plugin+"); ok {
		if inner == "" || strings.HasPrefix(inner, "plugin") {
			return nil, fmt.Errorf("plugin URI %q: want plugin+<backend scheme>:...: %w", backend.Redact(uri), backend.ErrInvalidInput)
		}
		t := &target{scheme: scheme, name: scheme, config: inner + ":" + rest, sha256: opts.SHA256}
		if resolve {
			exe, err := FindExecutable(opts.Path)
			if err != nil {
				return nil, err
			}
			t.exe = exe
		}
		return t, nil
	}
	if scheme != "plugin" {
		return nil, fmt.Errorf("plugin URI %q: scheme must be plugin or plugin+<scheme>: %w", backend.Redact(uri), backend.ErrInvalidInput)
	}
	path, query, _ := strings.Cut(rest, "?")
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("plugin URI %q: the executable must be an absolute path (plugin:/path/to/executable?sha256=...): %w", backend.Redact(uri), backend.ErrInvalidInput)
	}
	t := &target{scheme: scheme, name: "plugin:" + filepath.Base(path), sha256: opts.SHA256}
	var keep []string
	afterSecret := false // a secret holding "&" may go on in what follows
	for _, p := range strings.Split(query, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "sha256":
			sum, err := parseSHA256(v, "sha256=")
			if err != nil {
				if afterSecret {
					return nil, errAfterSecret(path, k)
				}
				return nil, err
			}
			t.sha256 = sum
			opts.SHA256 = sum
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				if afterSecret {
					return nil, errAfterSecret(path, k)
				}
				return nil, fmt.Errorf("plugin URI %q: timeout=%q is not a positive duration (e.g. 10s): %w", backend.Redact(uri), v, backend.ErrInvalidInput)
			}
			opts.CallTimeout = d
		default:
			switch strings.ToLower(k) {
			case "pin", "pin-value", "passphrase", "password":
				afterSecret = true
			}
			keep = append(keep, p)
		}
	}
	if resolve {
		exe, err := checkExecutable(path, "plugin: URI")
		if err != nil {
			return nil, err
		}
		t.exe = exe
	}
	t.config = strings.Join(keep, "&")
	if _, err := url.ParseQuery(t.config); err != nil {
		return nil, fmt.Errorf("plugin URI %q: malformed query: %w", backend.Redact(uri), backend.ErrInvalidInput)
	}
	return t, nil
}

// errAfterSecret refuses a bad sha256= or timeout= that follows a secret
// parameter for the plugin: the secret may hold an unencoded "&" and go
// on there, so neither the value nor the URI's query is repeated.
func errAfterSecret(exe, name string) error {
	return fmt.Errorf("plugin URI plugin:%s?…: %s= after a secret parameter is invalid (not shown: it may be the tail of a secret holding \"&\", which must be written %%26): %w", exe, name, backend.ErrInvalidInput)
}

func parseSHA256(h, from string) ([]byte, error) {
	sum, err := hex.DecodeString(h)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("plugin: %s %q is not a SHA-256 in hex (64 hex digits): %w", from, h, backend.ErrInvalidInput)
	}
	return sum, nil
}
