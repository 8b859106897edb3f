package plugins_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/internal/trustedkey"
	"github.com/keyplane/keyplane/plugins"
)

// TestConformancePKCS11 runs the suite through plugin+pkcs11: on a fresh
// SoftHSM2 token (SOFTHSM2_CONF reaches the plugin through the environment
// allow-list; the PIN through a file named in the URI), with a trusted
// wrapping key the SO made first (in a helper process).
func TestConformancePKCS11(t *testing.T) {
	tok := testenv.SoftHSMToken(t, "plugin-conformance")
	wrapping, unwrapping := trustedkey.MakeInHelper(t, tok.URI(t), tok.SOPIN, "conformance-kek")
	uri := "plugin+" + tok.URI(t)
	conformance.Run(t, openURI(uri), conformance.Config{Reopen: true, Short: testing.Short(), TrustedWrappingKey: wrapping, UnwrappingKey: unwrapping})
}

// TestNoPINInPKCS11Child puts the PIN in the URI itself (pin-value=): it
// reaches the plugin in the OpenBackend call over TLS, and must not appear
// in the plugin's environment, command line, the host's logs or errors.
func TestNoPINInPKCS11Child(t *testing.T) {
	util := testenv.Command(t, "softhsm2-util", "softhsm2")
	if _, err := os.Stat(testenv.SoftHSMModule); err != nil {
		testenv.Missing(t, testenv.SoftHSMModule, "apt-get install -y softhsm2")
	}
	const pin = "pin-4f1d-93b7" // distinctive, to search for
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, fmt.Appendf(nil, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	t.Setenv("HSM_PIN", pin) // a host variable holding the PIN is not passed either
	out, err := exec.Command(util, "--init-token", "--free", "--label", "pinned", "--pin", pin, "--so-pin", "so-"+pin).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util: %v: %s", err, out)
	}
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	uri := "plugin+pkcs11:token=pinned?module-path=" + testenv.SoftHSMModule + "&pin-value=" + pin
	b, p := openPlugin(t, uri, plugins.Options{Logger: logger})
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	checkProc := func(pid int) {
		for _, f := range []string{"environ", "cmdline"} {
			raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(pin)) {
				t.Errorf("plugin %s holds the PIN", f)
			}
		}
	}
	checkProc(p.PID())
	// A crash and the restart, which sends the URI again.
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var signErr error
	for range 50 {
		if _, signErr = b.Signer(t.Context(), "k"); !errors.Is(signErr, backend.ErrUnavailable) {
			break
		}
	}
	if signErr != nil {
		t.Fatalf("signer after a restart: %v", signErr)
	}
	checkProc(p.PID())
	// A wrong PIN: ErrAuthentication, and neither PIN anywhere.
	_, err = plugins.Open(t.Context(), strings.Replace(uri, pin, "wrong-"+pin+"-x", 1), plugins.Options{Logger: logger})
	if err == nil {
		t.Errorf("a wrong PIN was accepted")
	} else {
		if !errors.Is(err, backend.ErrAuthentication) {
			t.Errorf("wrong PIN: %v, want ErrAuthentication across the boundary", err)
		}
		if strings.Contains(err.Error(), pin) {
			t.Errorf("error %q holds the PIN", err)
		}
	}
	b.Close()
	if strings.Contains(logs.String(), pin) {
		t.Errorf("logs hold the PIN")
	}
}
