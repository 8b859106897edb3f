package tinkkms_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/core/registry"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/localkms"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/tinkkms"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveSharedSoftHSM()
	os.Exit(code)
}

// openBackend opens software:memory, the shared SoftHSM2 token, or
// local-kms in this process, with an aes-256 key "tink-kek" (and
// "tink-other"), deleted at the end; it returns the local-kms server for
// awskms.
func openBackend(t *testing.T, name string) (backend.Backend, *localkms.Server) {
	t.Helper()
	var b backend.Backend
	var s *localkms.Server
	if name == "awskms" {
		s = localkms.Start(t)
		c, err := awskms.ParseURI("awskms:region=" + localkms.Region + "?endpoint=" + s.URL)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := awskms.OpenConfig(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kb.Close() })
		b = kb
	} else {
		b = testenv.OpenSoftwareOrSoftHSM(t, name, "tinkkms")
	}
	for _, label := range []string{"tink-kek", "tink-other"} {
		if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.AES256}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteKey(context.Background(), label) })
	}
	return b, s
}

// TestTinkKMSEnvelopeAEAD: Tink's own KMS envelope AEAD, with a keyplane
// key as its key-encryption key, round-trips, and refuses tampering,
// other associated data, and another key-encryption key.
func TestTinkKMSEnvelopeAEAD(t *testing.T) {
	for _, name := range []string{"software", "softhsm2", "awskms"} {
		t.Run(name, func(t *testing.T) {
			b, s := openBackend(t, name)
			client := tinkkms.NewClient(b)
			kek, err := client.GetAEAD("keyplane://tink-kek")
			if err != nil {
				t.Fatal(err)
			}
			env := aead.NewKMSEnvelopeAEAD2(aead.AES256GCMKeyTemplate(), kek)
			pt, ad := bytes.Repeat([]byte("tink over keyplane "), 1000), []byte("context")
			before := 0
			if s != nil {
				before = s.Count("Decrypt")
			}
			ct, err := env.Encrypt(pt, ad)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			got, err := env.Decrypt(ct, ad)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt: %v (same plaintext: %v)", err, bytes.Equal(got, pt))
			}
			if s != nil && s.Count("Decrypt") == before {
				t.Error("no KMS Decrypt request: the data key was not unwrapped by the backend")
			}
			if _, err := env.Decrypt(ct, []byte("Context")); err == nil {
				t.Error("Decrypt with other associated data succeeded")
			}
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			if _, err := env.Decrypt(bad, ad); err == nil {
				t.Error("Decrypt of a tampered ciphertext succeeded")
			}
			other, err := client.GetAEAD("keyplane://tink-other")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := aead.NewKMSEnvelopeAEAD2(aead.AES256GCMKeyTemplate(), other).Decrypt(ct, ad); err == nil {
				t.Error("Decrypt under another key-encryption key succeeded")
			}
		})
	}
}

// TestRegistry: Tink finds the client by key URI through its registry.
func TestRegistry(t *testing.T) {
	b, _ := openBackend(t, "software")
	registry.RegisterKMSClient(tinkkms.NewClient(b))
	t.Cleanup(registry.ClearKMSClients)
	c, err := registry.GetKMSClient("keyplane://tink-kek")
	if err != nil {
		t.Fatal(err)
	}
	kek, err := c.GetAEAD("keyplane://tink-kek")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := kek.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kek.Decrypt(ct, nil); err != nil || string(got) != "x" {
		t.Errorf("Decrypt: %q, %v", got, err)
	}
	if _, err := registry.GetKMSClient("aws-kms://arn:aws:kms:eu-west-2:111122223333:key/x"); err == nil {
		t.Error("the keyplane client claims an aws-kms:// URI")
	}
	if _, err := c.GetAEAD("keyplane://missing"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("GetAEAD of a missing key: %v, want ErrNotFound", err)
	}
}

// TestTinkReadsKeyplane: what the tink.AEAD seals on the software backend
// is Tink's raw AES-GCM layout: Tink's own AES-GCM with the exported key
// opens it, and keyplane opens what Tink sealed.
func TestTinkReadsKeyplane(t *testing.T) {
	b, _ := openBackend(t, "software")
	k, err := b.(backend.Exporter).ExportKey(t.Context(), "tink-kek")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := subtle.NewAESGCM(k.(backend.SecretKey).Value)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tinkkms.AEAD(t.Context(), b, "tink-kek")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := kp.Encrypt([]byte("from keyplane"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tg.Decrypt(ct, []byte("ad")); err != nil || string(got) != "from keyplane" {
		t.Errorf("Tink's AES-GCM opening keyplane's: %q, %v", got, err)
	}
	ct, err = tg.Encrypt([]byte("from tink"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kp.Decrypt(ct, []byte("ad")); err != nil || string(got) != "from tink" {
		t.Errorf("keyplane opening Tink's AES-GCM: %q, %v", got, err)
	}
	if _, err := kp.Decrypt(ct, []byte("other")); !errors.Is(err, backend.ErrDecryption) {
		t.Errorf("Decrypt with other associated data: %v, want ErrDecryption", err)
	}
}
