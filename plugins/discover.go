package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/keyplane/keyplane/backend"
)

// ExecutableName is the name of keyplane's own plugin executable, which
// runs the built-in backends for plugin+<scheme>: URIs.
const ExecutableName = "keyplane-plugin"

// PathEnv is the variable the keyplane CLI reads the keyplane-plugin
// executable's path from (it sets Options.Path); this package never reads
// it.
const PathEnv = "KEYPLANE_PLUGIN_PATH"

// SHA256Env is the variable the keyplane CLI reads the pinned SHA-256
// (hex) of the keyplane-plugin executable from, for plugin+<scheme>: URIs
// (it sets Options.SHA256); this package never reads it.
const SHA256Env = "KEYPLANE_PLUGIN_SHA256"

// FindExecutable returns the path of the keyplane-plugin executable, looked
// for in this order:
//
//  1. explicit, when not empty (Options.Path);
//  2. keyplane-plugin in the directory of the running executable
//     (os.Executable), where an installation puts it next to keyplane;
//  3. keyplane-plugin on $PATH (exec.LookPath: the system's standard
//     search for a program by name, the one indirect read of the
//     environment in this package).
//
// An explicit setting that names a missing or non-executable file is an
// error; it does not fall through to the next place.
func FindExecutable(explicit string) (string, error) {
	if explicit != "" {
		return checkExecutable(explicit, "Options.Path")
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), ExecutableName)
		if _, err := checkExecutable(p, "next to "+self); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(ExecutableName)
	if err != nil {
		return "", fmt.Errorf("%s executable not found: give its path (Options.Path; the keyplane CLI reads $%s), install it next to this program, or put it on $PATH: %w", ExecutableName, PathEnv, backend.ErrUnavailable)
	}
	return filepath.Abs(p)
}

// checkExecutable checks that p names an executable regular file and
// returns its absolute path.
func checkExecutable(p, from string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("plugin executable %q (%s): %v: %w", p, from, err, backend.ErrInvalidInput)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("plugin executable %s (%s) does not exist: %w", abs, from, backend.ErrUnavailable)
	case err != nil:
		return "", fmt.Errorf("plugin executable %s (%s): %v: %w", abs, from, err, backend.ErrUnavailable)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("plugin executable %s (%s) is not a regular file: %w", abs, from, backend.ErrInvalidInput)
	case fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("plugin executable %s (%s) is not executable: %w", abs, from, backend.ErrInvalidInput)
	}
	return abs, nil
}
