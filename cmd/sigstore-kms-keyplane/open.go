package main

import (
	"context"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
)

// open opens the backend uri names. The library reads no environment
// variable: a software keystore's passphrase in $KEYPLANE_PASSPHRASE (the
// keyplane CLI's variable) is handed to it here, in code.
func open(ctx context.Context, uri string, getenv func(string) string) (backend.Backend, error) {
	if scheme, _, _ := strings.Cut(uri, ":"); scheme != software.Scheme {
		return backend.Open(ctx, uri)
	}
	cfg, err := software.ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if pass := getenv(software.PassphraseEnv); pass != "" && cfg.PassphraseFile == "" {
		s := backend.NewStaticSecret([]byte(pass))
		defer s.Zero()
		cfg.Passphrase = s.Secret
	}
	return software.OpenConfig(ctx, cfg)
}
