package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/observe"
)

// backendURIFor returns the backend URI to use: the --backend flag, else
// KEYPLANE_BACKEND, else the default software keystore in the user's data
// directory ($XDG_DATA_HOME/keyplane/keys, or ~/.local/share/keyplane/keys
// when XDG_DATA_HOME is unset or not absolute, as the XDG spec says).
func (c *cli) backendURIFor() (string, error) {
	if c.backendURI != "" {
		return c.backendURI, nil
	}
	if u := c.getenv("KEYPLANE_BACKEND"); u != "" {
		return u, nil
	}
	dataHome := c.getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(dataHome) {
		home := c.getenv("HOME")
		if !filepath.IsAbs(home) {
			return "", errors.New("no backend chosen and no home directory for the default keystore: pass --backend URI or set KEYPLANE_BACKEND")
		}
		dataHome = filepath.Join(home, ".local", "share")
	}
	return "software:" + filepath.Join(dataHome, "keyplane", "keys"), nil
}

// open opens the selected backend, observed (package observe) when
// --audit-log or bench --otel asks for records of its key uses. The caller
// closes it.
func (c *cli) open(ctx context.Context) (backend.Backend, error) {
	uri, err := c.backendURIFor()
	if err != nil {
		return nil, err
	}
	audit, err := c.auditLogger() // before the backend: a bad --audit-log opens nothing
	if err != nil {
		return nil, err
	}
	b, err := c.openURI(ctx, uri)
	if err != nil {
		// Backends name their URI in their own errors; only add it when
		// the message does not already say which backend this was.
		if msg := err.Error(); !strings.Contains(msg, backend.Redact(uri)) {
			return nil, fmt.Errorf("opening backend %s: %w", backend.Redact(uri), err)
		}
		return nil, err
	}
	if audit == nil && c.meterProvider == nil {
		return b, nil
	}
	return observe.Wrap(b, observe.Options{AuditLog: audit, MeterProvider: c.meterProvider, Backend: uri}), nil
}

// backendName names the backend for messages: the scheme its capabilities
// report, else the scheme of its URI.
func (c *cli) backendName(ctx context.Context, b backend.Backend) string {
	if caps, err := b.Capabilities(ctx); err == nil && caps.Backend != "" {
		return caps.Backend
	}
	uri, _ := c.backendURIFor()
	scheme, _, _ := strings.Cut(uri, ":")
	return scheme
}

// withBackend opens the backend, calls f, and closes the backend, reporting
// a close error only when f succeeded.
func (c *cli) withBackend(ctx context.Context, f func(b backend.Backend) error) (err error) {
	b, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing backend: %w", cerr)
		}
	}()
	return f(b)
}
