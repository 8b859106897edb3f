package software

import (
	"os"

	"github.com/keyplane/keyplane/internal/secretfile"
)

// resolvePassphrase returns the keystore passphrase: from the URI's
// passphrase-source, else from KEYPLANE_PASSPHRASE, else nil.
func resolvePassphrase(c Config) ([]byte, error) {
	if c.PassphraseFile != "" {
		return secretfile.Read("software: passphrase file", c.PassphraseFile)
	}
	if v := os.Getenv(PassphraseEnv); v != "" {
		return []byte(v), nil
	}
	return nil, nil
}
