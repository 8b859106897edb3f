package awskms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

// TestCredentialsFromCode opens the backend with credentials supplied by a
// callback (Config.Credentials) and no AWS variable set: its keys sign,
// the callback is what supplied the credentials, and a callback that fails
// makes the operation fail with ErrAuthentication, without the secret.
func TestCredentialsFromCode(t *testing.T) {
	s := localkms.Start(t) // clears every AWS_* variable
	var calls atomic.Int32
	c, err := awskms.ParseURI("awskms:region=" + localkms.Region + "?endpoint=" + s.URL + "&pss-salt=maximum")
	if err != nil {
		t.Fatal(err)
	}
	c.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		calls.Add(1)
		return aws.Credentials{AccessKeyID: "AKIDFROMCODE", SecretAccessKey: "secret-from-code-9753"}, nil
	})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		for _, v := range []any{c, *c} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "9753") || strings.Contains(out, fmt.Sprintf("%x", "9753")) {
				t.Errorf("Sprintf(%s, %T) shows the secret: %s", verb, v, out)
			}
		}
	}
	b, err := awskms.OpenConfig(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "from-code", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	sg, err := b.Signer(t.Context(), "from-code")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("credentials from a callback"))
	sig, err := sg.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(sg.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("Sign = %v; or the signature does not verify", err)
	}
	if calls.Load() == 0 {
		t.Fatal("the credentials callback was never called: the SDK took credentials from elsewhere")
	}

	failing := *c
	failing.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("secret manager sealed")
	})
	bf, err := awskms.OpenConfig(t.Context(), &failing)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	_, err = bf.Signer(t.Context(), "from-code")
	if !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "secret manager sealed") {
		t.Fatalf("Signer with failing credentials = %v, want ErrAuthentication naming the callback's error", err)
	}

	withProfile := *c
	withProfile.Profile = "other"
	if _, err := awskms.OpenConfig(t.Context(), &withProfile); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Credentials with profile=: %v, want ErrInvalidInput", err)
	}
	noRegion := awskms.Config{Endpoint: s.URL, Credentials: c.Credentials}
	if _, err := awskms.OpenConfig(t.Context(), &noRegion); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Credentials without a region: %v, want ErrInvalidInput (the default chain is not consulted)", err)
	}
	// The whole SDK configuration from code.
	full := awskms.Config{Endpoint: s.URL, PSSSalt: awskms.PSSSaltMaximum, AWS: &aws.Config{Region: localkms.Region, Credentials: c.Credentials}}
	bc, err := awskms.OpenConfig(t.Context(), &full)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	if _, err := bc.Signer(t.Context(), "from-code"); err != nil {
		t.Fatalf("Signer with Config.AWS: %v", err)
	}
}
