package secretstest

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
)

// testSecurityOfficer runs the one place that logs in as a token's
// security officer, pkcs11.CreateTrustedWrappingKey, with the right and
// a wrong SO PIN, through the library (the PIN from a SecretFunc) and the
// CLI ("wrapping-key create --so-pin-file"), on the "officer" token.
func testSecurityOfficer(t *testing.T, chk *checker) {
	h := pkcs11Token(t)
	n := strconv.FormatInt(runs.Add(1), 10)
	uri := h.uri(officerToken, "pin-value="+pin)
	key := backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}
	secret := func(s string) backend.SecretFunc {
		return func(context.Context) ([]byte, error) { return []byte(s), nil }
	}

	t.Run("library", func(t *testing.T) {
		_, err := pkcs11.CreateTrustedWrappingKey(t.Context(), uri, secret(wrongSOPIN), "kek-wrong-"+n, key)
		chk.fails(t, "CreateTrustedWrappingKey with a wrong SO PIN", err, backend.ErrAuthentication)
		k, err := pkcs11.CreateTrustedWrappingKey(t.Context(), uri, secret(soPIN), "kek-"+n, key)
		chk.ok(t, "CreateTrustedWrappingKey", err)
		chk.value(t, "trusted wrapping key", k)
		_, err = pkcs11.CreateTrustedWrappingKey(t.Context(), uri, secret(soPIN), "kek-"+n, key)
		chk.fails(t, "CreateTrustedWrappingKey under a taken label", err, backend.ErrAlreadyExists)
	})

	t.Run("cli", func(t *testing.T) {
		pluginExe, exe := executables(t)
		work := t.TempDir()
		c := &keyplaneCLI{t: t, chk: chk, exe: exe, env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + work,
			"KEYPLANE_PLUGIN_PATH=" + pluginExe,
			"SOFTHSM2_CONF=" + h.conf,
		}}
		wrong := writeSecret(t, "wrong-so.pin", wrongSOPIN, 0o600)
		right := writeSecret(t, "so.pin", soPIN, 0o600)
		loose := writeSecret(t, "loose-so.pin", soPIN, 0o644)
		c.run(exitError, nil, []string{"security officer", "authentication failed"}, "--backend", uri, "wrapping-key", "create", "--label", "cli-kek-"+n, "--so-pin-file", wrong)
		c.run(exitError, nil, []string{"group and others must have no access"}, "--backend", uri, "wrapping-key", "create", "--label", "cli-kek-"+n, "--so-pin-file", loose)
		c.run(exitOK, nil, []string{`trusted wrapping key "cli-kek-` + n + `"`}, "--backend", uri, "wrapping-key", "create", "--label", "cli-kek-"+n, "--so-pin-file", right)
		c.run(exitError, nil, []string{"already exists"}, "--backend", uri, "wrapping-key", "create", "--label", "cli-kek-"+n, "--so-pin-file", right)
	})
}
