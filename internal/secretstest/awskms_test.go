package secretstest

import (
	"net"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

// The AWS secret access key of the awskms part's credentials file is one
// of the secrets looked for everywhere.
func init() {
	secrets = append(secrets, struct{ name, value string }{"AWS secret access key", localkms.FakeSecretAccessKey})
}

// testAWSKMS runs the awskms backend on local-kms, its credentials in a
// shared credentials file (the SDK's chain); and URIs that try to carry a
// credential.
func testAWSKMS(t *testing.T, chk *checker) {
	s := localkms.Start(t)
	uri := "awskms:region=" + localkms.Region + "?endpoint=" + s.URL + "&pss-salt=maximum"

	t.Run("URIs with credentials are refused", func(t *testing.T) {
		for _, u := range []string{
			uri + "&secret-access-key=" + localkms.FakeSecretAccessKey,
			"awskms:region=eu-west-2;aws_secret_access_key=" + localkms.FakeSecretAccessKey,
			"awskms:?endpoint=https://AKID:" + localkms.FakeSecretAccessKey + "@kms.example",
		} {
			_, err := awskms.ParseURI(u)
			chk.fails(t, "awskms.ParseURI", err, backend.ErrInvalidInput)
			_, err = backend.Open(t.Context(), u)
			chk.fails(t, "backend.Open(awskms)", err, backend.ErrInvalidInput)
		}
	})

	t.Run("operations", func(t *testing.T) {
		cfg, err := awskms.ParseURI(uri)
		chk.ok(t, "awskms.ParseURI", err)
		chk.text(t, kindString, "awskms.Config.String", cfg.String())
		chk.value(t, "awskms.Config", cfg)
		b, err := backend.Open(t.Context(), uri)
		chk.ok(t, "awskms: Open", err)
		t.Cleanup(func() { b.Close() })
		chk.value(t, "awskms backend", b)
		chk.caps(t, "awskms", b)
		generate(t, chk, "awskms", b, "sig")
		signAndVerify(t, chk, "awskms", b, "sig")
		listKeys(t, chk, "awskms", b, "sig")
		missingKey(t, chk, "awskms", b)
		chk.ok(t, "awskms: DeleteKey", b.DeleteKey(t.Context(), "sig"))
	})

	t.Run("service unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		chk.ok(t, "listen", err)
		addr := l.Addr().String()
		l.Close()
		b, err := backend.Open(t.Context(), "awskms:region="+localkms.Region+"?endpoint=http://"+addr)
		chk.ok(t, "awskms: Open", err)
		defer b.Close()
		_, err = b.Key(t.Context(), "k")
		chk.fails(t, "awskms: Key with nothing listening", err, backend.ErrUnavailable)
	})

	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
		b, err := backend.Open(t.Context(), uri)
		chk.ok(t, "awskms: Open", err)
		defer b.Close()
		_, err = b.Key(t.Context(), "k")
		chk.fails(t, "awskms: Key without credentials", err, backend.ErrAuthentication)
	})
}
