package plugins

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// Secret roles: the names under which a host sends secrets to a plugin
// (OpenRequest on the plugin side).
const (
	RolePIN        = "pin"        // a PKCS#11 token's user PIN
	RolePassphrase = "passphrase" // a software keystore's passphrase
)

// Config configures a plugin backend: a parsed plugin URI, the host's
// Options, and the secrets the program supplies in code. The host calls
// PIN and Passphrase itself, at each start of a child process (the first
// at OpenConfig, again after a crash or a replacement), and sends the
// bytes in the OpenBackendWithSecrets call over the plugin's mutually
// authenticated TLS channel — never in the child's environment, command
// line or URI — then zeroes its copy. String, GoString and Format never
// show a secret.
type Config struct {
	Options
	// PIN supplies the user PIN of the token a plugin+pkcs11: backend opens
	// (its URI then names no pin-value or pin-source file, or says
	// pin-source=prompt); for a third-party plugin, the secret of role
	// "pin".
	PIN backend.SecretFunc `json:"-"`
	// Passphrase supplies the passphrase of the keystore a
	// plugin+software:<dir> backend opens; for a third-party plugin, the
	// secret of role "passphrase".
	Passphrase backend.SecretFunc `json:"-"`

	uri string // as given to ParseURI; may hold a secret, never shown
}

// ParseURI parses a plugin URI (see Open for the grammar) into a Config:
// for plugin: URIs, sha256= sets Options.SHA256 and timeout= sets
// Options.CallTimeout. It checks the URI's form only; OpenConfig finds the
// executable and starts it. Errors never repeat a secret.
func ParseURI(uri string) (*Config, error) {
	c := &Config{uri: uri}
	if _, err := parseURI(uri, &c.Options, false); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenConfig starts the plugin c describes and opens its backend, as Open
// does, with c's secrets sent over the plugin channel. A plugin that
// cannot take secrets this way (one built on ServeOpen, or older than the
// call) is refused with ErrUnsupported.
func OpenConfig(ctx context.Context, c *Config) (backend.Backend, error) {
	if c == nil || c.uri == "" {
		return nil, fmt.Errorf("plugin: nil Config, or one not made by ParseURI: %w", backend.ErrInvalidInput)
	}
	opts := c.Options
	if err := checkForwardEnv(opts.ForwardEnv); err != nil {
		return nil, err
	}
	t, err := parseURI(c.uri, &opts, true)
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		role string
		f    backend.SecretFunc
	}{{RolePIN, c.PIN}, {RolePassphrase, c.Passphrase}} {
		if s.f != nil {
			t.secrets = append(t.secrets, roleSecret{s.role, s.f})
		}
	}
	h := newHost(t, opts)
	if _, err := h.conn(ctx); err != nil {
		h.close()
		return nil, err
	}
	p := &Plugin{h: h}
	return withInterfaces(p, h.ifaces), nil
}

// roleSecret is a secret the host sends a child, by role.
type roleSecret struct {
	role string
	f    backend.SecretFunc
}

// secretsRequest calls the target's secret callbacks and builds the
// OpenBackendWithSecrets request; the caller zeroes it (zeroSecrets) once
// sent.
func (t *target) secretsRequest(ctx context.Context) (*pb.OpenBackendWithSecretsRequest, error) {
	req := &pb.OpenBackendWithSecretsRequest{Uri: t.config}
	for _, s := range t.secrets {
		v, err := backend.ReadSecret(ctx, t.name+": "+s.role, s.f)
		if err != nil {
			zeroSecrets(req)
			return nil, err
		}
		req.Secrets = append(req.Secrets, &pb.Secret{Role: s.role, Value: v})
	}
	return req, nil
}

// zeroSecrets zeroes the secret bytes of a request. (gRPC's marshalled
// copy of the message is its own, and is not reachable from here.)
func zeroSecrets(req *pb.OpenBackendWithSecretsRequest) {
	for _, s := range req.GetSecrets() {
		clear(s.Value)
	}
}

// String returns the plugin URI with its secret parameters redacted
// (backend.Redact); the secret callbacks are not shown.
//
// String, GoString and Format have value receivers so that a Config
// printed by value is formatted by them, never field by field.
func (c Config) String() string { return backend.Redact(c.uri) }

// GoString is what fmt's %#v prints: String, and which secret callbacks
// are set.
func (c Config) GoString() string {
	var set []string
	if c.PIN != nil {
		set = append(set, "PIN")
	}
	if c.Passphrase != nil {
		set = append(set, "Passphrase")
	}
	return backend.ConfigGoString("plugins.Config", c.String(), set...)
}

// Format prints the Config as String does (GoString for %#v), whatever
// the verb.
func (c Config) Format(f fmt.State, verb rune) {
	backend.FormatConfig(f, verb, c.String(), c.GoString())
}
