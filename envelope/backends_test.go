package envelope_test

import (
	"context"
	"os"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/localkms"
	"github.com/keyplane/keyplane/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveSharedSoftHSM()
	os.Exit(code)
}

// testBackend is a backend under test and the key-encryption keys made
// in it (by algorithm).
type testBackend struct {
	name string
	b    backend.Backend
	keys map[backend.Algorithm]string
}

var backendNames = []string{"software", "softhsm2", "awskms"}

// openBackend opens "software" (software:memory), "softhsm2" (the test
// binary's shared SoftHSM2 token) or "awskms" (local-kms served in this
// process; RSA keys made for decryption), with an aes-256 and an RSA
// key-encryption key, deleted at the end of the test.
func openBackend(t testing.TB, name string) *testBackend {
	t.Helper()
	var b backend.Backend
	switch name {
	case "awskms":
		s := localkms.Start(t)
		c, err := awskms.ParseURI("awskms:region=" + localkms.Region + "?endpoint=" + s.URL + "&rsa-key-usage=encrypt-decrypt")
		if err != nil {
			t.Fatal(err)
		}
		kb, err := awskms.OpenConfig(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kb.Close() })
		b = kb
	default:
		b = testenv.OpenSoftwareOrSoftHSM(t, name, "envelope")
	}
	tb := &testBackend{name: name, b: b, keys: map[backend.Algorithm]string{}}
	for _, alg := range []backend.Algorithm{backend.AES256, backend.RSA2048} {
		tb.keys[alg] = generate(t, b, "envelope-"+string(alg), alg)
	}
	return tb
}

// generate makes a key, deleted at the end of the test.
func generate(t testing.TB, b backend.Backend, label string, alg backend.Algorithm) string {
	t.Helper()
	if _, err := b.GenerateKey(context.Background(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
		t.Fatalf("generating %s key %q: %v", alg, label, err)
	}
	t.Cleanup(func() {
		if err := b.DeleteKey(context.Background(), label); err != nil {
			t.Errorf("deleting %s: %v", label, err)
		}
	})
	return label
}
