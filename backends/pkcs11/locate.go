package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/secretfile"
)

// ModuleDirs returns the directories searched, in order, for a
// module-name: a new slice on each call, so that no importer can change
// where module-name= loads code from.
func ModuleDirs() []string { return slices.Clone(moduleDirs) }

// moduleDirs are the directories of [ModuleDirs]; tests replace them.
var moduleDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11",
	"/usr/lib/aarch64-linux-gnu/pkcs11",
	"/usr/lib64/pkcs11",
	"/usr/lib/pkcs11",
	"/usr/lib/softhsm",
	"/usr/lib64/softhsm",
	"/usr/local/lib/softhsm",
	"/usr/local/lib/pkcs11",
	"/usr/local/lib",
	"/usr/lib/x86_64-linux-gnu",
	"/usr/lib",
	"/opt/homebrew/lib/softhsm",
}

// Module returns the module the URI names: module-path as given, or
// module-name looked up in [ModuleDirs] as "name", "name.so" and
// "libname.so". The file must exist; the error names the path (or the
// directories searched) and wraps backend.ErrUnavailable for a missing file
// and backend.ErrInvalidInput when neither attribute is given.
func (u *URI) Module() (string, error) {
	if u.ModulePath != "" {
		st, err := os.Stat(u.ModulePath)
		if err != nil {
			return "", fmt.Errorf("pkcs11: module-path %s: %w: %w", u.ModulePath, errors.Unwrap(err), backend.ErrUnavailable)
		}
		if st.IsDir() {
			return "", fmt.Errorf("pkcs11: module-path %s is a directory, not a PKCS#11 module: %w", u.ModulePath, backend.ErrInvalidInput)
		}
		return u.ModulePath, nil
	}
	if u.ModuleName == "" {
		return "", fmt.Errorf("pkcs11 URI: neither module-path nor module-name is given (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so): %w", backend.ErrInvalidInput)
	}
	for _, dir := range moduleDirs {
		for _, name := range []string{u.ModuleName, u.ModuleName + ".so", "lib" + u.ModuleName + ".so"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("pkcs11: module-name %q: no %s, %s.so or lib%s.so in %s: %w",
		u.ModuleName, u.ModuleName, u.ModuleName, u.ModuleName, strings.Join(moduleDirs, ", "), backend.ErrUnavailable)
}

// PINSourcePrompt is pin-source=prompt: the PIN is asked for when it is
// needed. The package cannot ask by itself (it has no terminal and reads
// nothing on its own): a program sets Config.PIN to a SecretFunc that asks
// (the keyplane CLI asks on the terminal, without echo), and OpenConfig
// refuses pin-source=prompt without one.
const PINSourcePrompt = "prompt"

// pinSourcePath returns the file a pin-source names: "file:/path",
// "file:///path" or "/path".
func pinSourcePath(src string) (string, error) {
	p := src
	if rest, ok := strings.CutPrefix(src, "file://"); ok {
		p = rest
	} else if rest, ok := strings.CutPrefix(src, "file:"); ok {
		p = rest
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("pkcs11 URI: pin-source %q: want file:/absolute/path, /absolute/path or prompt: %w", clip(src), backend.ErrInvalidInput)
	}
	return filepath.Clean(p), nil
}

// pinFunc returns the SecretFunc the backend logs in with: Config.PIN when
// set, else one made from pin-value (a copy held as bytes) or from the
// pin-source file (read again at each login, by internal/secretfile's
// rule: a regular file, no access for group or others, at most 64 KiB,
// one trailing newline dropped; see docs/security.md), else nil: no PIN.
// pin-source=prompt without Config.PIN is an error. Errors never contain
// the PIN.
func (u *URI) pinFunc() (backend.SecretFunc, error) {
	switch {
	case u.PIN != nil && u.PINValue != "":
		return nil, fmt.Errorf("pkcs11: both Config.PIN and pin-value are given (use one): %w", backend.ErrInvalidInput)
	case u.PIN != nil && u.PINSource != "" && u.PINSource != PINSourcePrompt:
		return nil, fmt.Errorf("pkcs11: both Config.PIN and pin-source=%s are given (use one): %w", clip(u.PINSource), backend.ErrInvalidInput)
	case u.PIN != nil:
		return u.PIN, nil
	case u.PINValue != "":
		pv := []byte(u.PINValue)
		defer clear(pv)
		return backend.NewStaticSecret(pv).Secret, nil
	case u.PINSource == PINSourcePrompt:
		return nil, fmt.Errorf("pkcs11: pin-source=prompt needs a PIN callback (Config.PIN; the keyplane CLI asks on the terminal): %w", backend.ErrInvalidInput)
	case u.PINSource == "":
		return nil, nil
	}
	p, err := pinSourcePath(u.PINSource)
	if err != nil {
		return nil, err
	}
	return func(context.Context) ([]byte, error) {
		return secretfile.Read("pkcs11: pin-source", p)
	}, nil
}
