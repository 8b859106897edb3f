//go:build cgo && !nopkcs11

package opencryptoki_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// The whole test binary shares one opencryptoki instance: there is one per
// machine (testenv's opencryptoki kind), and keyplane loads and initializes
// a module once per process and never finalizes it, so a second instance
// in the same process would meet a library still holding the first one's
// state.
var (
	instance *testenv.Instance
	startErr error
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keyplane-opencryptoki-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	startErr = fmt.Errorf("%w: testenv has no opencryptoki token kind on %s", testenv.ErrNotInstalled, runtime.GOOS)
	for _, k := range testenv.TokenKinds() {
		if k.Name == "opencryptoki" {
			instance, startErr = k.Start(dir)
		}
	}
	code := m.Run()
	if instance != nil {
		if err := instance.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the opencryptoki token:", err)
			code = 1
		}
	}
	return code
}

// token returns the shared instance, or skips t (fails it under
// KEYPLANE_REQUIRE_TOOLS=1) when opencryptoki is missing.
func token(t *testing.T) *testenv.Instance {
	t.Helper()
	if errors.Is(startErr, testenv.ErrNotInstalled) {
		testenv.Missing(t, fmt.Sprintf("opencryptoki (%v)", startErr), "apt-get install -y opencryptoki")
	}
	if startErr != nil {
		t.Fatalf("starting the opencryptoki token: %v", startErr)
	}
	return instance
}

// tokenURI returns a pkcs11: URI for the shared token.
func tokenURI(t *testing.T) string {
	in := token(t)
	pin, err := in.WritePINFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return in.URI(pin)
}
