package interop

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// keyplaneCLI is the keyplane command built from this checkout, at most
// once per run of the test binary (TestMain removes it), for the tests
// that drive the CLI against pyca.
var keyplaneCLI struct {
	once      sync.Once
	dir, path string
	err       error
}

// keyplaneCommand returns the path of the keyplane command, building it
// on first use.
func keyplaneCommand(t *testing.T) string {
	t.Helper()
	keyplaneCLI.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			keyplaneCLI.err = errors.New("building cmd/keyplane needs the go command on PATH: " + err.Error())
			return
		}
		dir, err := os.MkdirTemp("", "keyplane-interop-cli-")
		if err != nil {
			keyplaneCLI.err = err
			return
		}
		keyplaneCLI.dir = dir
		exe := filepath.Join(dir, "keyplane")
		out, err := exec.Command(goCmd, "build", "-o", exe, "github.com/keyplane/keyplane/cmd/keyplane").CombinedOutput()
		if err != nil {
			keyplaneCLI.err = errors.New("building cmd/keyplane: " + err.Error() + "\n" + string(out))
			return
		}
		keyplaneCLI.path = exe
	})
	if keyplaneCLI.err != nil {
		t.Fatal(keyplaneCLI.err)
	}
	return keyplaneCLI.path
}

// removeKeyplaneCommand removes what keyplaneCommand built.
func removeKeyplaneCommand() {
	if keyplaneCLI.dir != "" {
		os.RemoveAll(keyplaneCLI.dir)
	}
}

// cliRun is the outcome of one keyplane command.
type cliRun struct {
	stdout, stderr []byte
	code           int
}

// runCLI runs keyplane with args in dir, with KEYPLANE_BACKEND set to
// backendURI, and returns its output and exit status (a failure to start
// fails t).
func runCLI(t *testing.T, dir, backendURI string, args ...string) cliRun {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), keyplaneCommand(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KEYPLANE_BACKEND="+backendURI)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("keyplane %v: %v", args, err)
	}
	return cliRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), code: code}
}

// mustCLI runs keyplane and fails t unless it exits 0.
func mustCLI(t *testing.T, dir, backendURI string, args ...string) cliRun {
	t.Helper()
	r := runCLI(t, dir, backendURI, args...)
	if r.code != 0 {
		t.Fatalf("keyplane %v: exit %d\n%s", args, r.code, r.stderr)
	}
	return r
}
