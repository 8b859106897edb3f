package secretstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/pkcs8"
)

// testSoftware runs the software keystore with a passphrase from a
// callback (Config.Passphrase, as the CLI passes KEYPLANE_PASSPHRASE) and
// from passphrase-source=file:.
func testSoftware(t *testing.T, chk *checker) {
	dir := filepath.Join(t.TempDir(), "keys")
	uri := "software:" + dir
	t.Setenv(software.PassphraseEnv, "")

	open := func(t *testing.T, where, uri string) backend.Backend {
		t.Helper()
		b, err := backend.Open(t.Context(), uri)
		chk.ok(t, where+": Open", err)
		t.Cleanup(func() { b.Close() })
		chk.value(t, where+" keystore", b)
		chk.caps(t, where, b)
		return b
	}

	// openWith opens uri with the passphrase from a callback.
	openWith := func(t *testing.T, where, uri, passphrase string) backend.Backend {
		t.Helper()
		cfg, err := software.ParseURI(uri)
		chk.ok(t, where+": ParseURI", err)
		cfg.Passphrase = backend.NewStaticSecret([]byte(passphrase)).Secret
		chk.value(t, where+": software.Config with a passphrase callback", cfg)
		chk.value(t, where+": *software.Config with a passphrase callback", *cfg)
		ks, err := software.OpenConfig(t.Context(), cfg)
		chk.ok(t, where+": OpenConfig", err)
		t.Cleanup(func() { ks.Close() })
		chk.value(t, where+" keystore", ks)
		chk.caps(t, where, ks)
		return ks
	}

	t.Run("callback passphrase", func(t *testing.T) {
		t.Setenv(software.PassphraseEnv, wrongPass) // the CLI's: never read here
		b := openWith(t, "Config.Passphrase", uri, pass)
		generate(t, chk, "software", b, "sig")
		_, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "aes", Algorithm: backend.AES256})
		chk.ok(t, "software: GenerateKey(aes-256)", err)
		signAndVerify(t, chk, "software", b, "sig")
		listKeys(t, chk, "software", b, "sig")
	})

	t.Run("file passphrase", func(t *testing.T) {
		pf := writeSecret(t, "pass", pass, 0o600)
		u := uri + "?passphrase-source=file:" + pf
		cfg, err := software.ParseURI(u)
		chk.ok(t, "software.ParseURI", err)
		chk.text(t, kindString, "software.Config.String", cfg.String())
		chk.value(t, "software.Config", cfg)
		b := open(t, "passphrase-source", u)
		// The key written under the passphrase from the environment opens
		// with the same passphrase from the file.
		signAndVerify(t, chk, "software (file)", b, "sig")
	})

	t.Run("wrong passphrase", func(t *testing.T) {
		for where, u := range map[string]string{
			"Config.Passphrase": uri,
			"passphrase-source": uri + "?passphrase-source=file:" + writeSecret(t, "wrong", wrongPass, 0o600),
		} {
			var b backend.Backend
			if where == "Config.Passphrase" {
				b = openWith(t, "wrong "+where, u, wrongPass)
			} else {
				b = open(t, "wrong "+where, u)
			}
			_, err := b.Signer(t.Context(), "sig")
			chk.fails(t, "wrong "+where+": Signer", err, backend.ErrAuthentication)
			_, err = b.(backend.AEADBackend).AEAD(t.Context(), "aes")
			chk.fails(t, "wrong "+where+": AEAD", err, backend.ErrAuthentication)
			_, err = b.(backend.Exporter).ExportKey(t.Context(), "sig")
			chk.fails(t, "wrong "+where+": ExportKey", err, backend.ErrAuthentication)
		}
		t.Setenv(software.PassphraseEnv, "")
		b := open(t, "no passphrase", uri)
		_, err := b.Signer(t.Context(), "sig")
		chk.fails(t, "no passphrase: Signer", err, backend.ErrAuthentication)
	})

	t.Run("missing key", func(t *testing.T) {
		t.Setenv(software.PassphraseEnv, pass)
		missingKey(t, chk, "software", open(t, "missing key", uri))
	})

	t.Run("passphrase file", func(t *testing.T) {
		for _, perm := range []os.FileMode{0o644, 0o640, 0o604} {
			pf := writeSecret(t, "loose", pass, perm)
			_, err := backend.Open(t.Context(), uri+"?passphrase-source=file:"+pf)
			chk.fails(t, "passphrase file with loose permissions", err, backend.ErrInvalidInput)
		}
		_, err := backend.Open(t.Context(), uri+"?passphrase-source=file:"+filepath.Join(t.TempDir(), "absent"))
		chk.fails(t, "missing passphrase file", err, backend.ErrInvalidInput)
		// The passphrase itself never goes in the URI; a URI that tries is
		// refused without repeating it.
		_, err = backend.Open(t.Context(), uri+"?passphrase="+pass)
		chk.fails(t, "passphrase= in the URI", err, backend.ErrInvalidInput)
		_, err = backend.Open(t.Context(), uri+"?passphrase-source="+pass)
		chk.fails(t, "passphrase-source=<passphrase>", err, backend.ErrUnsupported)
		_, err = backend.Open(t.Context(), uri+"?passphrase-source=env:"+pass+"&x=%zz")
		chk.fails(t, "malformed query", err, backend.ErrInvalidInput)
	})

	t.Run("encrypted PEM", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pemData, err := pkcs8.MarshalPrivateKeyPEM(key, []byte(importPass))
		chk.ok(t, "pkcs8.MarshalPrivateKeyPEM", err)
		wrong := func() ([]byte, error) { return []byte(wrongPass), nil }
		_, err = pkcs8.ParsePrivateKeyPEM(pemData, wrong)
		chk.fails(t, "encrypted PEM, wrong passphrase", err, backend.ErrAuthentication)
		_, err = pkcs8.ParsePrivateKeyPEM(pemData, nil)
		chk.fails(t, "encrypted PEM, no passphrase", err, backend.ErrAuthentication)
		parsed, err := pkcs8.ParsePrivateKeyPEM(pemData, func() ([]byte, error) { return []byte(importPass), nil })
		chk.ok(t, "encrypted PEM, right passphrase", err)
		t.Setenv(software.PassphraseEnv, pass)
		b := open(t, "import", uri)
		_, err = b.(backend.Importer).ImportKey(t.Context(), "imported", parsed)
		chk.ok(t, "ImportKey", err)
		signAndVerify(t, chk, "imported", b, "imported")
	})

	t.Run("closed", func(t *testing.T) {
		t.Setenv(software.PassphraseEnv, pass)
		b := open(t, "closed", uri)
		b.Close()
		_, err := b.Keys(t.Context())
		chk.fails(t, "Keys after Close", err, backend.ErrClosed)
	})
}
