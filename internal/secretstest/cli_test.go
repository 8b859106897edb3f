package secretstest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// keyplaneCLI runs the keyplane executable with a clean environment.
type keyplaneCLI struct {
	t   *testing.T
	chk *checker
	exe string
	env []string
}

// run runs keyplane with args and extra environment variables, at the
// debug log level (KEYPLANE_LOG=debug, so every log line the CLI and its
// backends write is on stderr), checks its stdout and stderr for secrets,
// and checks its exit status and that its output contains each of want.
func (c *keyplaneCLI) run(code int, env []string, want []string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.exe, args...)
	cmd.Env = append(append([]string{"KEYPLANE_LOG=debug"}, c.env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		c.t.Fatal(err)
	}
	where := c.chk.redact("keyplane " + strings.Join(args, " "))
	c.chk.text(c.t, kindCLI, where, out.String())
	if got != code {
		c.t.Fatalf("%s: exit status %d, want %d; output:\n%s", where, got, code, c.chk.redact(out.String()))
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			c.t.Fatalf("%s: output does not contain %q:\n%s", where, w, c.chk.redact(out.String()))
		}
	}
	return out.String()
}

// Exit statuses of keyplane (cmd/keyplane/root.go).
const (
	exitOK    = 0
	exitError = 2
)

// testCLI runs the keyplane CLI through success and failure paths with
// passphrases in files and in the environment, and PINs in --backend and
// KEYPLANE_BACKEND. keyplane has no switch for debug logging; what it
// prints (warnings included) is checked.
func testCLI(t *testing.T, chk *checker) {
	pluginExe, exe := executables(t)
	work := t.TempDir()
	c := &keyplaneCLI{t: t, chk: chk, exe: exe, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + work,
		"XDG_DATA_HOME=" + filepath.Join(work, "data"),
		"KEYPLANE_PLUGIN_PATH=" + pluginExe,
	}}
	file := func(name, content string, perm os.FileMode) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	msg := file("msg.txt", "hello from the secrets test\n", 0o644)
	sig := filepath.Join(work, "msg.sig")
	passEnv := []string{"KEYPLANE_PASSPHRASE=" + pass}

	t.Run("software", func(t *testing.T) {
		c.t = t
		c.run(exitOK, passEnv, []string{"sig"}, "keygen", "--label", "sig", "--type", "ec-p256")
		c.run(exitOK, passEnv, nil, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitOK, passEnv, []string{"valid"}, "verify", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--sig", sig)
		c.run(exitOK, passEnv, []string{"sig"}, "list")

		// Wrong and missing passphrases, missing key.
		c.run(exitError, []string{"KEYPLANE_PASSPHRASE=" + wrongPass}, []string{"authentication failed"},
			"sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg)
		c.run(exitError, nil, []string{"authentication failed"}, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg)
		c.run(exitError, passEnv, []string{`no key "no-such-key"`}, "sign", "--key", "no-such-key", "--alg", "ecdsa-sha256", "--in", msg)

		// passphrase-source=file: in --backend.
		store := "software:" + filepath.Join(work, "data", "keyplane", "keys")
		good := file("pass.txt", pass+"\n", 0o600)
		c.run(exitOK, nil, []string{"sig2"}, "--backend", store+"?passphrase-source=file:"+good, "keygen", "--label", "sig2", "--type", "ec-p256")
		c.run(exitOK, passEnv, nil, "sign", "--key", "sig2", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitOK, nil, nil, "--backend", store+"?passphrase-source=file:"+good, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		wrong := file("wrong.txt", wrongPass+"\n", 0o600)
		c.run(exitError, nil, []string{"authentication failed"}, "--backend", store+"?passphrase-source=file:"+wrong, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg)
		loose := file("loose.txt", pass+"\n", 0o644)
		c.run(exitError, nil, []string{"chmod 600"}, "--backend", store+"?passphrase-source=file:"+loose, "list")
		c.run(exitError, nil, []string{"invalid input"}, "--backend", store+"?passphrase="+pass, "list")
	})

	t.Run("import", func(t *testing.T) {
		c.t = t
		importFile := file("import-pass.txt", importPass+"\n", 0o600)
		wrongFile := file("import-wrong.txt", wrongPass+"\n", 0o600)
		enc := filepath.Join(work, "sig.enc.pem")
		c.run(exitOK, passEnv, nil, "export", "--key", "sig", "--passphrase-file", importFile, "--out", enc)
		pemData, err := os.ReadFile(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pemData, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
			t.Fatalf("export --passphrase-file wrote %.40q, not an encrypted PKCS#8 PEM", pemData)
		}
		chk.text(t, kindCLI, "exported PEM", string(pemData))
		c.run(exitOK, append([]string{"KEYPLANE_EXPORT_PASSPHRASE=" + importPass}, passEnv...), []string{"ENCRYPTED PRIVATE KEY"}, "export", "--key", "sig")

		c.run(exitOK, passEnv, []string{"imported-file"}, "import", "--label", "imported-file", "--in", enc, "--passphrase-file", importFile)
		c.run(exitOK, append([]string{"KEYPLANE_IMPORT_PASSPHRASE=" + importPass}, passEnv...), []string{"imported-env"}, "import", "--label", "imported-env", "--in", enc)
		c.run(exitError, passEnv, []string{"authentication failed"}, "import", "--label", "x1", "--in", enc, "--passphrase-file", wrongFile)
		c.run(exitError, append([]string{"KEYPLANE_IMPORT_PASSPHRASE=" + wrongPass}, passEnv...), []string{"authentication failed"}, "import", "--label", "x2", "--in", enc)
		c.run(exitError, passEnv, []string{"authentication failed"}, "import", "--label", "x3", "--in", enc)
		c.run(exitError, passEnv, []string{"--passphrase-file"}, "import", "--label", "x4", "--in", enc, "--passphrase-file", filepath.Join(work, "absent"))
		c.run(exitOK, passEnv, nil, "sign", "--key", "imported-env", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitOK, passEnv, []string{"valid"}, "verify", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--sig", sig)
	})

	t.Run("pkcs11", func(t *testing.T) {
		c.t = t
		h := pkcs11Token(t)
		c.env = append(c.env, "SOFTHSM2_CONF="+h.conf)
		label := "cli-" + strconv.FormatInt(runs.Add(1), 10)
		good := h.uri(secretsToken, "pin-value="+pin)
		c.run(exitOK, nil, []string{label}, "--backend", good, "keygen", "--label", label, "--type", "ec-p256")
		c.run(exitOK, nil, nil, "--backend", good, "sign", "--key", label, "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitOK, nil, []string{"valid"}, "--backend", good, "verify", "--key", label, "--alg", "ecdsa-sha256", "--in", msg, "--sig", sig)
		pinFile := file("pin.txt", pin+"\n", 0o600)
		c.run(exitOK, nil, []string{label}, "--backend", h.uri(secretsToken, "pin-source=file:"+pinFile), "list")
		wrongPINFile := file("wrong-pin.txt", wrongPIN+"\n", 0o600)
		c.run(exitError, nil, []string{"authentication failed"}, "--backend", h.uri(secretsToken, "pin-source=file:"+wrongPINFile), "list")
		c.run(exitError, nil, []string{`no key "no-such-key"`}, "--backend", good, "sign", "--key", "no-such-key", "--alg", "ecdsa-sha256", "--in", msg)

		// Failures that print the backend URI, or a key URI, must print
		// it redacted.
		redacted := "pin-value=REDACTED"
		c.run(exitOK, nil, nil, "--backend", good, "sign", "--key", "pkcs11:object="+label+";type=private?pin-value="+pin, "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitError, nil, []string{redacted}, "--backend", good, "sign", "--key", "pkcs11:object=no-such-key;type=private?pin-value="+pin, "--alg", "ecdsa-sha256", "--in", msg)
		c.run(exitError, nil, []string{redacted}, "--backend", good, "pubkey", "--key", "pkcs11:type=private?pin-value="+pin)
		c.run(exitError, nil, []string{"authentication failed", redacted}, "--backend", h.uri(secretsToken, "pin-value="+wrongPIN), "list")
		c.run(exitError, []string{"KEYPLANE_BACKEND=" + h.uri(secretsToken, "pin-value="+wrongPIN)}, []string{"authentication failed", redacted}, "list")
		notModule := file("not-a-module.so", "not a library", 0o644)
		c.run(exitError, nil, []string{"backend unavailable", redacted}, "--backend", "pkcs11:token=t?module-path="+notModule+"&pin-value="+pin, "list")
		c.run(exitError, nil, []string{"backend unavailable", redacted}, "--backend", h.uri("no-such-token", "pin-value="+pin), "list")
		c.run(exitError, nil, []string{"invalid input"}, "--backend", h.uri(secretsToken, "pin-value="+pin+"%zz"), "list")
		c.run(exitError, nil, []string{"invalid input"}, "--backend", h.uri(secretsToken, "pin-source=file:"+file("loose-pin.txt", pin+"\n", 0o644)), "list")
		c.run(exitError, nil, []string{"not registered"}, "--backend", "pkcs12:token=t?pin-value="+pin, "list")

		// Through the plugin.
		c.run(exitOK, nil, []string{label}, "--backend", "plugin+"+good, "list")
		c.run(exitError, nil, []string{"authentication failed", redacted}, "--backend", "plugin+"+h.uri(secretsToken, "pin-value="+wrongPIN), "list")
		c.run(exitError, nil, []string{"backend unavailable"}, "--backend", "plugin+"+h.uri("no-such-token", "pin-value="+pin), "list")
	})

	t.Run("plugin+software", func(t *testing.T) {
		c.t = t
		store := "plugin+software:" + filepath.Join(work, "data", "keyplane", "keys")
		good := file("plugin-pass.txt", pass+"\n", 0o600)
		wrong := file("plugin-wrong.txt", wrongPass+"\n", 0o600)
		c.run(exitOK, nil, nil, "--backend", store+"?passphrase-source=file:"+good, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
		c.run(exitError, nil, []string{"authentication failed"}, "--backend", store+"?passphrase-source=file:"+wrong, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg)
		// KEYPLANE_PASSPHRASE: the CLI reads it and sends it over the
		// plugin channel (never the child's environment).
		c.run(exitOK, passEnv, nil, "--backend", store, "sign", "--key", "sig", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig, "--force")
	})
}
