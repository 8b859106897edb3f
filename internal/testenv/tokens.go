package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A TokenKind is one real PKCS#11 implementation that keyplane's tests and
// the compatibility matrix (docs/backends/tokens.md) run on. Start makes a
// throwaway token of that kind in dir — starting whatever daemons it needs,
// on 127.0.0.1 only — and returns it; Instance.Stop stops those daemons by
// PID. Start returns an error wrapping ErrNotInstalled when a package is
// missing, so callers can skip or fail (see StartToken).
type TokenKind struct {
	Name    string // "softhsm2", "nss", "tpm2", "opencryptoki"
	Package string // the Debian packages that provide it, for messages
	Start   func(dir string) (*Instance, error)
}

// ErrNotInstalled is wrapped by a TokenKind's Start when the token's
// software is not installed.
var ErrNotInstalled = errors.New("not installed")

// Instance is a running throwaway token.
type Instance struct {
	Kind     string
	Module   string   // absolute path of the PKCS#11 module
	Label    string   // the token label
	PIN      string   // the user PIN
	SOPIN    string   // the security officer PIN
	InitArgs string   // module-init-args (CK_C_INITIALIZE_ARGS.pReserved), "" when none
	Env      []string // environment the module needs ("SOFTHSM2_CONF=…"), set before it is loaded
	Dir      string   // where the token lives
	PIDs     []int    // the daemons it runs, each the leader of its process group (none for SoftHSM2)

	stop func() error
}

// Stop stops the daemons the token needs, by PID. It is idempotent.
func (in *Instance) Stop() error {
	if in.stop == nil {
		return nil
	}
	f := in.stop
	in.stop = nil
	return f()
}

// OnStop adds f to what Stop does (after what is there already).
func (in *Instance) OnStop(f func() error) {
	prev := in.stop
	in.stop = func() error {
		var err error
		if prev != nil {
			err = prev()
		}
		if err2 := f(); err == nil {
			err = err2
		}
		return err
	}
}

// URI returns a keyplane pkcs11: URI opening the token, the PIN given by
// pin-source=file:pinFile (write it with WritePINFile).
func (in *Instance) URI(pinFile string) string {
	u := fmt.Sprintf("pkcs11:token=%s?module-path=%s", pctEncode(in.Label), in.Module)
	if in.InitArgs != "" {
		u += "&module-init-args=" + pctEncode(in.InitArgs)
	}
	if pinFile != "" {
		u += "&pin-source=file:" + pinFile
	}
	return u
}

// WritePINFile writes the user PIN to a 0600 file in dir and returns its path.
func (in *Instance) WritePINFile(dir string) (string, error) {
	p := filepath.Join(dir, "pin")
	return p, os.WriteFile(p, []byte(in.PIN+"\n"), 0o600)
}

// Setenv sets the token's environment in this process (before its module
// is first loaded).
func (in *Instance) Setenv() error {
	for _, kv := range in.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("testenv: %s token: bad environment entry %q", in.Kind, k)
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

var tokenKinds = map[string]TokenKind{}

// registerTokenKind adds a kind; each kind's file calls it from init.
func registerTokenKind(k TokenKind) {
	if _, dup := tokenKinds[k.Name]; dup || k.Start == nil {
		panic("testenv: bad or duplicate token kind " + k.Name)
	}
	tokenKinds[k.Name] = k
}

// TokenKinds returns every registered kind, sorted by name.
func TokenKinds() []TokenKind {
	out := make([]TokenKind, 0, len(tokenKinds))
	for _, k := range tokenKinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StartToken starts a token of the named kind in a temporary directory
// for t, stopping it at the end of the test; when its software is missing
// it skips t, or fails it under KEYPLANE_REQUIRE_TOOLS=1. It does not set
// the token's environment (see Instance.Setenv).
func StartToken(t testing.TB, name string) *Instance {
	t.Helper()
	k, ok := tokenKinds[name]
	if !ok {
		t.Fatalf("testenv: no token kind %q", name)
	}
	in, err := k.Start(t.TempDir())
	if err != nil {
		if errors.Is(err, ErrNotInstalled) {
			Missing(t, fmt.Sprintf("%s (%v)", name, err), "apt-get install -y "+k.Package)
		}
		t.Fatalf("starting a %s token: %v", name, err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("stopping the %s token: %v", name, err)
		}
	})
	return in
}

func init() {
	registerTokenKind(TokenKind{Name: "softhsm2", Package: "softhsm2", Start: startSoftHSM})
}

// startSoftHSM makes a SoftHSM2 token in dir (no daemon).
func startSoftHSM(dir string) (*Instance, error) {
	util, err := exec.LookPath("softhsm2-util")
	if err == nil {
		_, err = os.Stat(SoftHSMModule)
	}
	if err != nil {
		return nil, fmt.Errorf("softhsm2: %w (%v)", ErrNotInstalled, err)
	}
	return startSoftHSMWith(util, dir, "keyplane")
}

// startSoftHSMWith makes a SoftHSM2 token labelled label in dir with
// softhsm2-util at util.
func startSoftHSMWith(util, dir, label string) (*Instance, error) {
	tok, err := CreateSoftHSMToken(util, dir, label)
	if err != nil {
		return nil, err
	}
	return &Instance{Kind: "softhsm2", Module: tok.Module, Label: tok.Label, PIN: tok.PIN, SOPIN: tok.SOPIN,
		Env: []string{"SOFTHSM2_CONF=" + tok.Conf}, Dir: dir}, nil
}

// pctEncode percent-encodes every byte of s but RFC 3986's unreserved
// characters, so the value is safe in any part of a pkcs11: URI.
func pctEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
