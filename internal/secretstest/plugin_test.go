package secretstest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/plugins"
)

// testPlugins runs plugin+software with a passphrase file and plugin+pkcs11
// with a PIN in the URI, with secrets in the host's environment, and
// checks the child process as well as errors and logs.
func testPlugins(t *testing.T, chk *checker) {
	exe, _ := executables(t)
	t.Setenv(plugins.PathEnv, exe) // the CLI's variable: the package must not need it
	// plugins finds keyplane-plugin on $PATH (it reads no variable of its own).
	t.Setenv("PATH", filepath.Dir(exe)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("KEYPLANE_PASSPHRASE", pass)
	t.Setenv("KEYPLANE_IMPORT_PASSPHRASE", importPass)
	t.Setenv("KEYPLANE_EXPORT_PASSPHRASE", wrongPass)
	t.Setenv("HSM_USER_PIN", pin)

	open := func(t *testing.T, where, uri string) backend.Backend {
		t.Helper()
		b, err := backend.Open(t.Context(), uri)
		chk.ok(t, where+": Open", err)
		t.Cleanup(func() { b.Close() })
		chk.value(t, where+" backend", b)
		chk.caps(t, where, b)
		checkChild(t, chk, where, b, exe)
		return b
	}

	t.Run("software", func(t *testing.T) {
		dir := t.TempDir()
		pf := writeSecret(t, "pass", pass, 0o600)
		uri := "plugin+software:" + dir + "?passphrase-source=file:" + pf
		b := open(t, "plugin+software", uri)
		generate(t, chk, "plugin+software", b, "sig")
		signAndVerify(t, chk, "plugin+software", b, "sig")
		listKeys(t, chk, "plugin+software", b, "sig")
		missingKey(t, chk, "plugin+software", b)

		// Wrong passphrase: the error crosses the process boundary.
		wb := open(t, "plugin+software, wrong passphrase", "plugin+software:"+dir+"?passphrase-source=file:"+writeSecret(t, "wrong", wrongPass, 0o600))
		_, err := wb.Signer(t.Context(), "sig")
		chk.fails(t, "plugin+software, wrong passphrase: Signer", err, backend.ErrAuthentication)

		// A passphrase only in the host's environment is not read (the
		// library reads no variable) and never reaches the plugin: the
		// keystore opens without one, and its encrypted keys do not.
		nb := open(t, "plugin+software with only KEYPLANE_PASSPHRASE", "plugin+software:"+dir)
		_, err = nb.Signer(t.Context(), "sig")
		chk.fails(t, "plugin+software with only KEYPLANE_PASSPHRASE: Signer", err, backend.ErrAuthentication)
		nb.Close()
		// The passphrase from a callback goes over the plugin channel.
		cfg, err := plugins.ParseURI("plugin+software:" + dir)
		chk.ok(t, "plugins.ParseURI", err)
		cfg.Passphrase = backend.NewStaticSecret([]byte(pass)).Secret
		chk.value(t, "plugins.Config with a passphrase callback", cfg)
		cb, err := plugins.OpenConfig(t.Context(), cfg)
		chk.ok(t, "plugin+software, passphrase callback: OpenConfig", err)
		checkChild(t, chk, "plugin+software, passphrase callback", cb, exe)
		signAndVerify(t, chk, "plugin+software, passphrase callback", cb, "sig")
		cb.Close()
		_, err = backend.Open(t.Context(), "plugin+software:"+dir+"?passphrase-source=file:"+writeSecret(t, "loose", pass, 0o644))
		chk.fails(t, "plugin+software, loose passphrase file", err, backend.ErrInvalidInput)

		// Crash: SIGKILL, then call at once; the call fails with
		// ErrUnavailable or runs on a fresh child.
		signer, err := b.Signer(t.Context(), "sig")
		chk.ok(t, "Signer", err)
		first := kill(t, b, false)
		n, err := afterCrash(t, chk, "plugin+software after SIGKILL", func() error { _, err := b.Keys(t.Context()); return err })
		chk.ok(t, "plugin+software after SIGKILL", err)
		second := checkChild(t, chk, "plugin+software restarted", b, exe)
		if second == first {
			t.Fatalf("plugin PID %d unchanged after SIGKILL", first)
		}
		t.Logf("plugin+software: %d ErrUnavailable before the restart", n)
		signAndVerify(t, chk, "plugin+software restarted", b, "sig")

		// Crash with a restart that fails (the passphrase file became
		// readable by others): every call fails, with a clean error.
		if err := os.Chmod(pf, 0o644); err != nil {
			t.Fatal(err)
		}
		kill(t, b, true)
		_, err = afterCrash(t, chk, "plugin+software, failed restart: Keys", func() error { _, err := b.Keys(t.Context()); return err })
		chk.fails(t, "plugin+software, failed restart: Keys", err, backend.ErrInvalidInput)
		_, err = signer.Sign(nil, make([]byte, 32), sha256Hash)
		chk.fails(t, "plugin+software, failed restart: Sign", err, backend.ErrInvalidInput)
		_, err = b.Signer(t.Context(), "sig")
		chk.fails(t, "plugin+software, failed restart: Signer", err, backend.ErrInvalidInput)
		if err := os.Chmod(pf, 0o600); err != nil {
			t.Fatal(err)
		}
		signAndVerify(t, chk, "plugin+software after the file is fixed", b, "sig")
		checkChild(t, chk, "plugin+software after the file is fixed", b, exe)
		b.Close()
		_, err = signer.Sign(nil, make([]byte, 32), sha256Hash)
		chk.fails(t, "plugin+software: Sign after Close", err, backend.ErrClosed)
	})

	t.Run("plugin: URIs", func(t *testing.T) {
		// A plugin: URI's query goes to the plugin as written; a PIN in it
		// must not come back in errors, whoever refuses the URI.
		for where, c := range map[string]struct {
			uri  string
			want error
		}{
			"relative executable":      {"plugin:keyplane-plugin?pin-value=" + pin, backend.ErrInvalidInput},
			"missing executable":       {"plugin:/nonexistent/keyplane-plugin?pin-value=" + pin, backend.ErrUnavailable},
			"bad sha256":               {"plugin:" + exe + "?sha256=zz&pin-value=" + pin, backend.ErrInvalidInput},
			"bad timeout":              {"plugin:" + exe + "?timeout=soon&pin-value=" + pin, backend.ErrInvalidInput},
			"malformed query":          {"plugin:" + exe + "?pin-value=" + pin + "%zz", backend.ErrInvalidInput},
			"refused by the plugin":    {"plugin:" + exe + "?pin-value=" + pin, backend.ErrInvalidInput},
			"plugin+ without a scheme": {"plugin+:token=t?pin-value=" + pin, backend.ErrInvalidInput},
		} {
			_, err := backend.Open(t.Context(), c.uri)
			chk.fails(t, "plugin: URI, "+where, err, c.want)
		}
	})

	t.Run("pkcs11", func(t *testing.T) {
		h := pkcs11Token(t)
		label := "plugin-sig-" + strconv.FormatInt(runs.Add(1), 10)
		uri := "plugin+" + h.uri(secretsToken, "pin-value="+pin)
		chk.text(t, kindString, "backend.Redact", backend.Redact(uri))
		b := open(t, "plugin+pkcs11", uri)
		generate(t, chk, "plugin+pkcs11", b, label)
		signAndVerify(t, chk, "plugin+pkcs11", b, label)
		listKeys(t, chk, "plugin+pkcs11", b, label)
		missingKey(t, chk, "plugin+pkcs11", b)
		keyURIsWithPIN(t, chk, "plugin+pkcs11", b, label)

		_, err := backend.Open(t.Context(), "plugin+"+h.uri(secretsToken, "pin-value="+wrongPIN))
		chk.fails(t, "plugin+pkcs11, wrong PIN", err, backend.ErrAuthentication)
		// The PIN from a callback: over the plugin channel, never in the
		// child's environment or command line.
		pc, err := plugins.ParseURI("plugin+" + h.uri(secretsToken, ""))
		chk.ok(t, "plugins.ParseURI", err)
		pc.PIN = backend.NewStaticSecret([]byte(pin)).Secret
		chk.value(t, "plugins.Config with a PIN callback", pc)
		cb, err := plugins.OpenConfig(t.Context(), pc)
		chk.ok(t, "plugin+pkcs11, PIN callback: OpenConfig", err)
		checkChild(t, chk, "plugin+pkcs11, PIN callback", cb, exe)
		signAndVerify(t, chk, "plugin+pkcs11, PIN callback", cb, label)
		cb.Close()
		pc.PIN = backend.NewStaticSecret([]byte(wrongPIN)).Secret
		_, err = plugins.OpenConfig(t.Context(), pc)
		chk.fails(t, "plugin+pkcs11, wrong PIN from a callback", err, backend.ErrAuthentication)
		_, err = backend.Open(t.Context(), "plugin+"+h.uri("no-such-token", "pin-value="+pin))
		chk.fails(t, "plugin+pkcs11, unknown token", err, backend.ErrUnavailable)
		notModule := filepath.Join(t.TempDir(), "not-a-module.so")
		if err := os.WriteFile(notModule, []byte("not a library"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = backend.Open(t.Context(), "plugin+pkcs11:token="+secretsToken+"?module-path="+notModule+"&pin-value="+pin)
		chk.fails(t, "plugin+pkcs11, not a module", err, backend.ErrUnavailable)
		_, err = backend.Open(t.Context(), "plugin+"+h.uri(secretsToken, "pin-source=file:"+writeSecret(t, "loose-pin", pin, 0o644)))
		chk.fails(t, "plugin+pkcs11, loose PIN file", err, backend.ErrInvalidInput)
		_, err = backend.Open(t.Context(), "plugin+"+h.uri(secretsToken, "pin-value="+pin+"%zz"))
		chk.fails(t, "plugin+pkcs11, malformed pin-value", err, backend.ErrInvalidInput)

		// Crash: SIGKILL, then the next calls.
		first := kill(t, b, false)
		n, err := afterCrash(t, chk, "plugin+pkcs11 after SIGKILL", func() error { _, err := b.Keys(t.Context()); return err })
		chk.ok(t, "plugin+pkcs11 after SIGKILL", err)
		if second := checkChild(t, chk, "plugin+pkcs11 restarted", b, exe); second == first {
			t.Fatalf("plugin PID %d unchanged after SIGKILL", first)
		}
		t.Logf("plugin+pkcs11: %d ErrUnavailable before the restart", n)
		signAndVerify(t, chk, "plugin+pkcs11 restarted", b, label)

		// Crash with a token deleted from disk: the restarted child finds
		// no token. The token is made now; a new child reads it.
		label2 := "gone-" + strconv.FormatInt(runs.Add(1), 10)
		tokDir := initToken(t, h, label2)
		gb := open(t, "plugin+pkcs11 on a token to delete", "plugin+"+h.uri(label2, "pin-value="+pin))
		generate(t, chk, "plugin+pkcs11 on a token to delete", gb, "k")
		gsigner, err := gb.Signer(t.Context(), "k")
		chk.ok(t, "Signer", err)
		if err := os.RemoveAll(tokDir); err != nil {
			t.Fatal(err)
		}
		kill(t, gb, true)
		_, err = afterCrash(t, chk, "plugin+pkcs11, token deleted, crash: Keys", func() error { _, err := gb.Keys(t.Context()); return err })
		chk.fails(t, "plugin+pkcs11, token deleted, crash: Keys", err, backend.ErrUnavailable)
		if !strings.Contains(err.Error(), "no token") {
			t.Errorf("restart on a deleted token: %q does not say the token is missing", chk.redact(err.Error()))
		}
		_, err = gsigner.Sign(nil, make([]byte, 32), sha256Hash)
		chk.fails(t, "plugin+pkcs11, token deleted, crash: Sign", err, backend.ErrUnavailable)
	})
}

// initToken makes one more SoftHSM2 token with the user PIN pin, for
// plugin processes started from now on (this process's SoftHSM2 does not
// see it), and returns its directory.
func initToken(t *testing.T, h *hsm, label string) string {
	t.Helper()
	dir, err := newToken(testenv.Command(t, "softhsm2-util", "softhsm2"), h.conf, label)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
