package software

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/keyplane/keyplane/backend"
)

// maxPassphraseFile bounds what is read from a passphrase file.
const maxPassphraseFile = 64 << 10

// readPassphraseFile reads a passphrase from a regular file that only its
// owner can access, without one trailing newline.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("software: passphrase file: %v: %w", err, backend.ErrInvalidInput)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("software: passphrase file: %v: %w", err, backend.ErrInvalidInput)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("software: passphrase file %s is not a regular file: %w", path, backend.ErrInvalidInput)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("software: passphrase file %s is accessible by group or others (mode %04o); run chmod 600 on it: %w", path, perm, backend.ErrInvalidInput)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("software: passphrase file %s: %v: %w", path, err, backend.ErrInvalidInput)
	}
	if len(b) > maxPassphraseFile {
		clear(b)
		return nil, fmt.Errorf("software: passphrase file %s is larger than %d bytes: %w", path, maxPassphraseFile, backend.ErrInvalidInput)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("software: passphrase file %s is empty: %w", path, backend.ErrInvalidInput)
	}
	return b, nil
}

// resolvePassphrase returns the keystore passphrase: from the URI's
// passphrase-source, else from KEYPLANE_PASSPHRASE, else nil.
func resolvePassphrase(c Config) ([]byte, error) {
	if c.PassphraseFile != "" {
		return readPassphraseFile(c.PassphraseFile)
	}
	if v := os.Getenv(PassphraseEnv); v != "" {
		return []byte(v), nil
	}
	return nil, nil
}
