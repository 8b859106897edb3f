package pkcs11

import (
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
		return "", fmt.Errorf("pkcs11 URI: pin-source %q: want file:/absolute/path or /absolute/path: %w", clip(src), backend.ErrInvalidInput)
	}
	return filepath.Clean(p), nil
}

// PIN returns the user PIN: pin-value, or the contents of the pin-source
// file read by internal/secretfile's rule (a regular file, no access for
// group or others, at most 64 KiB, one trailing newline dropped; see
// docs/security.md), errors naming the path. ok is false when the URI
// gives no PIN. Errors never contain the PIN.
func (u *URI) PIN() (pin string, ok bool, err error) {
	if u.PINValue != "" {
		return u.PINValue, true, nil
	}
	if u.PINSource == "" {
		return "", false, nil
	}
	p, err := pinSourcePath(u.PINSource)
	if err != nil {
		return "", false, err
	}
	b, err := secretfile.Read("pkcs11: pin-source", p)
	if err != nil {
		return "", false, err
	}
	pin = string(b)
	clear(b)
	return pin, true, nil
}
