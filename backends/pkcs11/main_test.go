//go:build cgo && !nopkcs11

package pkcs11

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// The whole test binary shares one SoftHSM2 configuration: SOFTHSM2_CONF
// must be set before the module's first C_Initialize in the process. It
// holds two tokens: "keyplane" for most tests, and "pinless" on which no
// test ever logs in with the right PIN (login state is shared by every
// session of a process on a token, so the wrong-PIN test needs a token
// nobody is logged in to).
var (
	testToken *testenv.Token
	setupErr  error
	otherPIN  = "2468"
)

const otherToken = "pinless"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keyplane-pkcs11-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	util, err := exec.LookPath("softhsm2-util")
	if err == nil {
		_, err = os.Stat(testenv.SoftHSMModule)
	}
	if err != nil {
		setupErr = fmt.Errorf("softhsm2 is not installed: %v", err)
		return m.Run()
	}
	testToken, setupErr = testenv.CreateSoftHSMToken(util, dir, "keyplane")
	if setupErr == nil {
		cmd := exec.Command(util, "--init-token", "--free", "--label", otherToken, "--pin", otherPIN, "--so-pin", "5678")
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+testToken.Conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("softhsm2-util: %v: %s", err, out)
		}
	}
	for _, label := range wrapTokenLabels { // wrap_test.go
		if setupErr != nil {
			break
		}
		cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", testToken.PIN, "--so-pin", testToken.SOPIN)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+testToken.Conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("softhsm2-util: %v: %s", err, out)
		}
	}
	if setupErr == nil {
		os.Setenv("SOFTHSM2_CONF", testToken.Conf)
	}
	return m.Run()
}

// token returns the shared test token, or skips/fails t.
func token(t testing.TB) *testenv.Token {
	t.Helper()
	if testToken == nil || setupErr != nil {
		testenv.Missing(t, fmt.Sprintf("SoftHSM2 token (%v)", setupErr), "apt-get install -y softhsm2")
	}
	return testToken
}

// pinFile writes pin to a 0600 file.
func pinFile(t testing.TB, pin string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testURI is the URI of the shared token, plus extra query attributes.
func testURI(t testing.TB, extra string) string {
	tok := token(t)
	u := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, tok.Module, pinFile(t, tok.PIN))
	if extra != "" {
		u += "&" + extra
	}
	return u
}

// openTest opens the shared token, closing it at the end of the test.
func openTest(t testing.TB, extra string) *Backend {
	t.Helper()
	b, err := Open(t.Context(), testURI(t, extra))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// openSpy opens the shared token through a spyAPI.
func openSpy(t testing.TB, extra string) (*Backend, *spyAPI) {
	t.Helper()
	var spy *spyAPI
	b, err := openWith(t.Context(), testURI(t, extra), func(p pkcs11API) pkcs11API {
		spy = newSpy(p)
		return spy
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b, spy
}

// SharedTokenURI returns a URI for the shared test token, for the external
// test package (pkcs11_test) in the same test binary.
func SharedTokenURI(t testing.TB) string { return testURI(t, "") }
