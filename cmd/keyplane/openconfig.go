package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/plugins"
)

// openURI opens the backend uri names. The library reads no environment
// variable and asks no question: what the CLI takes from its environment
// (KEYPLANE_PASSPHRASE) or from the terminal (pin-source=prompt) it
// supplies here in code, through each backend's Config and OpenConfig.
// Other schemes go through backend.Open.
func (c *cli) openURI(ctx context.Context, uri string) (backend.Backend, error) {
	scheme, _, _ := strings.Cut(uri, ":")
	switch scheme {
	case software.Scheme:
		cfg, err := software.ParseURI(uri)
		if err != nil {
			return nil, err
		}
		c.softwarePassphrase(cfg)
		ks, err := software.OpenConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return ks, nil
	case "pkcs11":
		cfg, err := pkcs11.ParseURI(uri)
		if err != nil {
			return nil, err
		}
		if cfg.PINSource == pkcs11.PINSourcePrompt {
			pin, err := c.promptedPIN("PIN for PKCS#11 token " + tokenName(cfg))
			if err != nil {
				return nil, err
			}
			cfg.PIN = pin.Secret
		}
		b, err := pkcs11.OpenConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return b, nil
	case "plugin":
		return c.openPlugin(ctx, uri, "")
	}
	if inner, ok := strings.CutPrefix(scheme, "plugin+"); ok {
		return c.openPlugin(ctx, uri, inner)
	}
	return backend.Open(ctx, uri)
}

// openPlugin opens a plugin URI (inner is the backend scheme of a
// plugin+<scheme>: URI, "" for plugin:), with the options the CLI takes
// from its environment ($KEYPLANE_PLUGIN_PATH, $KEYPLANE_PLUGIN_SHA256)
// and the secrets it supplies in code: $KEYPLANE_PASSPHRASE for
// plugin+software:<dir>, the prompted PIN for plugin+pkcs11:…pin-source=prompt.
// They reach the child over the plugin's TLS channel, never its
// environment.
func (c *cli) openPlugin(ctx context.Context, uri, inner string) (backend.Backend, error) {
	cfg, err := plugins.ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if inner == "" {
		return plugins.OpenConfig(ctx, cfg)
	}
	cfg.Path = c.getenv(plugins.PathEnv)
	if h := c.getenv(plugins.SHA256Env); h != "" {
		sum, err := hex.DecodeString(h)
		if err != nil || len(sum) != 32 {
			return nil, fmt.Errorf("$%s %q is not a SHA-256 in hex (64 hex digits): %w", plugins.SHA256Env, h, backend.ErrInvalidInput)
		}
		cfg.SHA256 = sum
	}
	_, rest, _ := strings.Cut(uri, ":")
	switch inner {
	case software.Scheme:
		sc, err := software.ParseURI(software.Scheme + ":" + rest)
		if err != nil {
			return nil, err
		}
		c.softwarePassphrase(sc)
		cfg.Passphrase = sc.Passphrase
	case "pkcs11":
		pc, err := pkcs11.ParseURI("pkcs11:" + rest)
		if err != nil {
			return nil, err
		}
		if pc.PINSource == pkcs11.PINSourcePrompt {
			pin, err := c.promptedPIN("PIN for PKCS#11 token " + tokenName(pc))
			if err != nil {
				return nil, err
			}
			cfg.PIN = pin.Secret
		}
	}
	return plugins.OpenConfig(ctx, cfg)
}

// softwarePassphrase sets cfg.Passphrase from KEYPLANE_PASSPHRASE when the
// URI names no passphrase file (the file wins), for a keystore directory.
func (c *cli) softwarePassphrase(cfg *software.Config) {
	if cfg.Memory || cfg.PassphraseFile != "" {
		return
	}
	if v := c.getenv(software.PassphraseEnv); v != "" {
		cfg.Passphrase = backend.NewStaticSecret([]byte(v)).Secret
	}
}

// promptedPIN asks for the PIN once, on the terminal (promptSecret), and
// holds it for this run of the CLI (zeroed when the run ends): the backend
// calls its callback again for a key marked CKA_ALWAYS_AUTHENTICATE at
// each use, after a token fault, and a plugin host at each child start,
// and one command is one use as the user sees it. It is asked before the
// token is opened, so that the time the user takes to type is not counted
// against the token's call-timeout.
func (c *cli) promptedPIN(what string) (*backend.StaticSecret, error) {
	pin, err := c.promptSecret(what)
	if err != nil {
		return nil, err
	}
	defer clear(pin)
	s := backend.NewStaticSecret(pin)
	c.prompted = append(c.prompted, s)
	return s, nil
}

// zeroPrompted zeroes the PINs asked for in this run.
func (c *cli) zeroPrompted() {
	for _, s := range c.prompted {
		s.Zero()
	}
	c.prompted = nil
}

// tokenName names the token a pkcs11 URI selects, for the prompt.
func tokenName(cfg *pkcs11.Config) string {
	if cfg.Token != "" {
		return `"` + cfg.Token + `"`
	}
	return "(the one the URI selects)"
}
