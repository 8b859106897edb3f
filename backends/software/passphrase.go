package software

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/secretfile"
)

// resolvePassphrase returns the keystore passphrase: from Config.Passphrase,
// else the URI's passphrase-source file, else nil (keys unencrypted). It
// reads no environment variable.
func resolvePassphrase(ctx context.Context, c *Config) ([]byte, error) {
	switch {
	case c.Passphrase != nil && c.PassphraseFile != "":
		return nil, fmt.Errorf("software: both Config.Passphrase and passphrase-source are given (use one): %w", backend.ErrInvalidInput)
	case c.Passphrase != nil:
		return backend.ReadSecret(ctx, "software: keystore passphrase", c.Passphrase)
	case c.PassphraseFile != "":
		return secretfile.Read("software: passphrase file", c.PassphraseFile)
	}
	return nil, nil
}
