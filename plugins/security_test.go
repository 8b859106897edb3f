package plugins_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

func TestWrongSHA256Refused(t *testing.T) {
	wrong := strings.Repeat("00", 32)
	_, err := backend.Open(t.Context(), "plugin:"+exampleExe+"?sha256="+wrong)
	if err == nil {
		t.Fatal("a plugin with a wrong sha256= was started")
	}
	if !errors.Is(err, plugins.ErrChecksumMismatch) || !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("error %v does not wrap ErrChecksumMismatch and ErrAuthentication", err)
	}
	for _, want := range []string{exampleExe, exampleSum, wrong, "not starting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// A wrapper that leaves a mark when it runs shows that a wrong hash
	// means the executable is never run, and the right one that it is.
	dir := t.TempDir()
	mark := filepath.Join(dir, "ran")
	wrapper := filepath.Join(dir, "wrapper")
	script := "#!/bin/sh\ntouch " + mark + "\nexec " + exampleExe + "\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapperSum, err := fileSHA256(wrapper)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Open(t.Context(), "plugin:"+wrapper+"?sha256="+wrong); !errors.Is(err, plugins.ErrChecksumMismatch) {
		t.Errorf("wrapper with a wrong hash: %v", err)
	}
	if _, err := os.Stat(mark); !os.IsNotExist(err) {
		t.Fatalf("the executable ran although its hash was wrong (mark: %v)", err)
	}
	wb, err := backend.Open(t.Context(), "plugin:"+wrapper+"?sha256="+wrapperSum)
	if err != nil {
		t.Fatalf("wrapper with its right hash: %v", err)
	}
	wb.Close()
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("the wrapper did not run with its right hash: %v", err)
	}

	// The right one starts.
	b, err := backend.Open(t.Context(), "plugin:"+exampleExe+"?sha256="+exampleSum)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	// So does keyplane-plugin with a pin in the environment, and not with a
	// wrong one.
	sum, err := fileSHA256(pluginExe)
	if err != nil {
		t.Fatal(err)
	}
	wrongSum, _ := hex.DecodeString(wrong)
	rightSum, _ := hex.DecodeString(sum)
	// $KEYPLANE_PLUGIN_SHA256 is the CLI's: the package never reads it.
	t.Setenv(plugins.SHA256Env, wrong)
	b, err = backend.Open(t.Context(), "plugin+software:memory")
	if err != nil {
		t.Fatalf("plugin+software with a wrong $%s (which the package must not read): %v", plugins.SHA256Env, err)
	}
	b.Close()
	if _, err := plugins.Open(t.Context(), "plugin+software:memory", plugins.Options{SHA256: wrongSum}); !errors.Is(err, plugins.ErrChecksumMismatch) {
		t.Errorf("plugin+software with a wrong Options.SHA256: %v", err)
	}
	b, err = plugins.Open(t.Context(), "plugin+software:memory", plugins.Options{SHA256: rightSum})
	if err != nil {
		t.Fatalf("plugin+software with the right Options.SHA256: %v", err)
	}
	b.Close()
}

func TestBadURIs(t *testing.T) {
	for _, uri := range []string{
		"plugin:relative/path",
		"plugin:" + exampleExe + "?sha256=abc",
		"plugin:" + exampleExe + "?timeout=soon",
		"plugin+:memory",
		"plugin+plugin:/x",
		"plugin:/nonexistent/keyplane-plugin-xyz",
	} {
		_, err := backend.Open(t.Context(), uri)
		if !errors.Is(err, backend.ErrInvalidInput) && !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("Open(%q) = %v, want ErrInvalidInput or ErrUnavailable", uri, err)
		}
	}
	// The example plugin refuses configuration it does not know.
	_, err := backend.Open(t.Context(), "plugin:"+exampleExe+"?colour=blue")
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "colour") {
		t.Errorf("example plugin with an unknown parameter: %v", err)
	}
	// keyplane-plugin run as a third-party plugin says how to open it.
	_, err = backend.Open(t.Context(), "plugin:"+pluginExe)
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "plugin+<scheme>") {
		t.Errorf("keyplane-plugin opened as plugin:<path>: %v", err)
	}
	waitChildren(t)
}

// TestStartFailureNamesExecutable runs executables that are not plugins.
func TestStartFailureNamesExecutable(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"exits":   "#!/bin/sh\nexit 3\n",
		"chatty":  "#!/bin/sh\necho hello there\nsleep 5\n",
		"no-exec": "",
	} {
		exe := filepath.Join(dir, name)
		mode := os.FileMode(0o755)
		if script == "" {
			mode = 0o644
		}
		if err := os.WriteFile(exe, []byte(script), mode); err != nil {
			t.Fatal(err)
		}
		_, err := plugins.Open(t.Context(), "plugin:"+exe, plugins.Options{})
		if err == nil || !strings.Contains(err.Error(), exe) {
			t.Errorf("starting %s: error %v does not name the executable", name, err)
		}
		if !errors.Is(err, backend.ErrUnavailable) && !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("starting %s: %v wraps no sentinel", name, err)
		}
	}
	waitChildren(t)
}

// TestNoSecretsInChild checks that neither the host's secret variables nor
// the passphrase sent in the backend configuration reach the plugin's
// environment or command line, and that no log line or error carries them.
func TestNoSecretsInChild(t *testing.T) {
	const (
		envPass  = "env-passphrase-7f3a91"
		envPIN   = "env-pin-40417"
		filePass = "file-passphrase-c0ffee"
		wrong    = "wrong-passphrase-0badc0de"
	)
	t.Setenv("KEYPLANE_PASSPHRASE", envPass)
	t.Setenv("HSM_USER_PIN", envPIN)
	t.Setenv("SOFTHSM2_CONF", "/nonexistent/softhsm2.conf")
	t.Setenv("UNRELATED_HOST_VARIABLE", "should-not-pass")
	dir := t.TempDir()
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(filePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	uri := "plugin+software:" + dir + "?passphrase-source=file:" + passFile
	b, p := openPlugin(t, uri, plugins.Options{Logger: logger})
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	pid := p.PID()
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	t.Logf("plugin environment: %d variables; command line %q", len(vars), cmdline)
	for _, secret := range []string{envPass, envPIN, filePass, "KEYPLANE_PASSPHRASE", "HSM_USER_PIN", "UNRELATED_HOST_VARIABLE"} {
		if bytes.Contains(environ, []byte(secret)) {
			t.Errorf("plugin environment holds %q", secret)
		}
		if bytes.Contains(cmdline, []byte(secret)) {
			t.Errorf("plugin command line holds %q", secret)
		}
	}
	if !bytes.Contains(environ, []byte("SOFTHSM2_CONF=/nonexistent/softhsm2.conf")) {
		t.Errorf("plugin environment lacks SOFTHSM2_CONF, which the allow-list passes")
	}

	// A wrong passphrase fails without showing either passphrase.
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b2, err := plugins.Open(t.Context(), "plugin+software:"+dir+"?passphrase-source=file:"+wrongFile, plugins.Options{Logger: logger})
	var errText string
	if err == nil {
		_, err = b2.Signer(t.Context(), "k")
		b2.Close()
	}
	if err == nil {
		t.Errorf("a keystore with a wrong passphrase worked")
	} else {
		errText = err.Error()
	}
	// Missing keys and a crash, too.
	if _, err := b.Signer(t.Context(), "missing"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	b.Close()
	for _, secret := range []string{envPass, envPIN, filePass, wrong} {
		if strings.Contains(errText, secret) {
			t.Errorf("error %q holds a secret", errText)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs hold %q", secret)
		}
	}
	if !strings.Contains(logs.String(), "plugin started") {
		t.Errorf("debug logs lack the plugin's start; got:\n%s", logs.String())
	}
}

func TestPassphraseEnvNotForwarded(t *testing.T) {
	// $KEYPLANE_PASSPHRASE is the CLI's: the package neither reads it nor
	// passes it on, so a keystore opened without a passphrase source stays
	// unencrypted and the child's environment does not hold it.
	const envPass = "a-passphrase-the-plugin-would-not-get"
	t.Setenv("KEYPLANE_PASSPHRASE", envPass)
	dir := t.TempDir()
	b, p := openPlugin(t, "plugin+software:"+dir, plugins.Options{})
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(envPass)) {
		t.Error("the plugin's environment holds $KEYPLANE_PASSPHRASE")
	}
	b.Close()
	plain, err := backend.Open(t.Context(), "software:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Signer(t.Context(), "k"); err != nil {
		t.Errorf("the key written through the plugin should be unencrypted (no passphrase given in code): %v", err)
	}
	for _, name := range []string{"MY_PIN", "KEYPLANE_PASSPHRASE", "DB_PASSWORD", "API_SECRET"} {
		_, err := plugins.Open(t.Context(), "plugin+software:memory", plugins.Options{ForwardEnv: []string{name}})
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ForwardEnv %s: %v, want ErrInvalidInput", name, err)
		}
	}
}
