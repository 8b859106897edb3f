// Package testenv finds the real parts keyplane's tests use — SoftHSM2,
// OpenSSL, pkcs11-tool, p11-kit, Python's cryptography — and makes
// throwaway tokens (tokens.go: one TokenKind per PKCS#11 implementation)
// and, for fault tests, modules that crash or hang (FaultyModule).
//
// A test that needs a missing part skips with a message saying what to
// install, unless KEYPLANE_REQUIRE_TOOLS=1 is set (the README's test command
// and CI set it): then it fails, so that CI can never pass by skipping.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv is the variable that turns a missing tool into a failure.
const RequireEnv = "KEYPLANE_REQUIRE_TOOLS"

// Required reports whether missing tools must fail tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing skips t, or fails it when tools are required, naming what is
// missing and how to get it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s not available (install: %s)", what, install)
	if Required() {
		t.Fatalf("%s, and %s=1 requires it", msg, RequireEnv)
	}
	t.Skipf("%s; skipping (set %s=1 to make this a failure)", msg, RequireEnv)
}

// Command returns the path of an executable, or skips/fails t.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, "apt-get install -y "+debianPackage)
	}
	return p
}

// Well-known module paths (Debian, amd64).
const (
	SoftHSMModule      = "/usr/lib/softhsm/libsofthsm2.so"
	P11KitClientModule = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
	PKCS11SpyModule    = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"
)

// Python returns Debian's python3 when it can import cryptography
// (python3-cryptography), or skips/fails t. Debian's interpreter is used
// even when another python3 comes first on PATH, so the peer is the packaged
// library the issue names.
func Python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import cryptography").Run() == nil {
			return path
		}
	}
	Missing(t, "python3 with the cryptography package", "apt-get install -y python3-cryptography")
	return ""
}

// Token is a throwaway SoftHSM2 token.
type Token struct {
	Module string // path of libsofthsm2.so
	Conf   string // SOFTHSM2_CONF for this token
	Label  string
	PIN    string
	SOPIN  string
	Dir    string // directory holding the configuration and token files
}

// SoftHSMToken creates a fresh SoftHSM2 token in a temporary directory and
// sets SOFTHSM2_CONF for the rest of the test (so t must not be parallel).
// It skips/fails t when SoftHSM2 is not installed.
func SoftHSMToken(t testing.TB, label string) *Token {
	t.Helper()
	tok := NewSoftHSMToken(t, t.TempDir(), label)
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	return tok
}

// NewSoftHSMToken is SoftHSMToken without t.Setenv, for TestMain-style
// set-up shared by many tests: the caller sets SOFTHSM2_CONF=tok.Conf
// before the module is first initialized. The token lives in dir.
func NewSoftHSMToken(t testing.TB, dir, label string) *Token {
	t.Helper()
	util := Command(t, "softhsm2-util", "softhsm2")
	if _, err := os.Stat(SoftHSMModule); err != nil {
		Missing(t, SoftHSMModule, "apt-get install -y softhsm2")
	}
	tok, err := CreateSoftHSMToken(util, dir, label)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// CreateSoftHSMToken makes a token in dir with softhsm2-util (found at
// util), without a testing.TB, for TestMain and benchmarks.
func CreateSoftHSMToken(util, dir, label string) (*Token, error) {
	tok := &Token{Module: SoftHSMModule, Label: label, PIN: "1234", SOPIN: "5678", Dir: dir}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	tok.Conf = filepath.Join(dir, "softhsm2.conf")
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(tok.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", tok.PIN, "--so-pin", tok.SOPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("softhsm2-util --init-token: %v: %s", err, strings.TrimSpace(out.String()))
	}
	return tok, nil
}

// PINFile writes the token's user PIN to a 0600 file in dir and returns
// its path, for pin-source=file: URIs.
func (tok *Token) PINFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(tok.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// URI returns a keyplane pkcs11: URI for the token with the PIN given by
// pin-source=file: (written with PINFile).
func (tok *Token) URI(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, tok.Module, tok.PINFile(t))
}

// Run runs a tool (openssl, pkcs11-tool, …) and returns its standard
// output, failing t with the command line and the tool's standard error
// when it exits non-zero.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out
}
