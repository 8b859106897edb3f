package awskms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

// openLocal opens a backend on the local-kms server s (openAt).
func openLocal(t *testing.T, s *localkms.Server, extra string) *awskms.Backend {
	t.Helper()
	return openAt(t, s.URL, extra)
}

// rawClient is a KMS client of its own on the same server, to look at
// what the backend did.
func rawClient(t *testing.T, s *localkms.Server) *kms.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion(localkms.Region))
	if err != nil {
		t.Fatal(err)
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// TestPublicKeyFetchedOncePerKey counts GetPublicKey requests at the
// server: one per key, however many signers and signatures.
func TestPublicKeyFetchedOncePerKey(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "cache", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	before := s.Count("GetPublicKey")
	signsBefore := s.Count("Sign")
	d := sha256.Sum256([]byte("m"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			sg, err := b.Signer(ctx, "cache")
			if err != nil {
				t.Error(err)
				return
			}
			for range 10 {
				sig, err := sg.Sign(rand.Reader, d[:], crypto.SHA256)
				if err != nil {
					t.Error(err)
					return
				}
				if !ecdsa.VerifyASN1(sg.Public().(*ecdsa.PublicKey), d[:], sig) {
					t.Error("signature does not verify")
				}
			}
		})
	}
	wg.Wait()
	if n := s.Count("GetPublicKey") - before; n != 0 {
		t.Errorf("%d GetPublicKey requests for 4 signers × 10 signatures of a key GenerateKey already fetched; want 0", n)
	}
	if n := s.Count("Sign") - signsBefore; n != 40 {
		t.Errorf("%d Sign requests for 40 signatures", n)
	}
	// A second backend instance fetches it once, then no more.
	b2 := openLocal(t, s, "")
	before = s.Count("GetPublicKey")
	for range 3 {
		if _, err := b2.Signer(ctx, "cache"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Count("GetPublicKey") - before; n != 1 {
		t.Errorf("a new backend made %d GetPublicKey requests for 3 Signer calls; want 1", n)
	}
}

// TestDeleteKeySchedulesDeletion: the alias goes at once, the key waits
// the minimum window in PendingDeletion and is ErrNotFound by ID.
func TestDeleteKeySchedulesDeletion(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: "doomed", Algorithm: backend.ECP384})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, s)
	if _, err := raw.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/doomed")}); err == nil {
		t.Errorf("alias/doomed still resolves after DeleteKey")
	}
	out, err := raw.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.URI)})
	if err != nil {
		t.Fatal(err)
	}
	if out.KeyMetadata.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("key state after DeleteKey: %s, want PendingDeletion", out.KeyMetadata.KeyState)
	}
	wait := time.Until(aws.ToTime(out.KeyMetadata.DeletionDate))
	if wait < 6*24*time.Hour || wait > 8*24*time.Hour {
		t.Errorf("deletion in %v, want the minimum window of %d days", wait, awskms.MinDeletionWindowDays)
	}
	for _, ref := range []string{"doomed", "id:" + k.IDHex(), k.URI} {
		if _, err := b.Key(ctx, ref); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Key(%q) after DeleteKey: %v, want ErrNotFound", ref, err)
		}
	}
	if err := b.DeleteKey(ctx, "id:"+k.IDHex()); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("DeleteKey twice: %v, want ErrNotFound", err)
	}
}

// TestDisabledKey: a disabled key is listed by Key, and signing with it
// is ErrNotFound (KMS's DisabledException).
func TestDisabledKey(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: "off", Algorithm: backend.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := b.Signer(ctx, "off")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawClient(t, s).DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(k.URI)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(ctx, "off"); err != nil {
		t.Errorf("Key on a disabled key: %v", err)
	}
	d := sha256.Sum256([]byte("m"))
	_, err = sg.Sign(rand.Reader, d[:], crypto.SHA256)
	if !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Sign with a disabled key: %v, want ErrNotFound", err)
	}
}

// TestKeyUsage: an RSA key made for signing does not decrypt and the
// other way round, with ErrUnsupported; keys of both usages are listed.
func TestKeyUsage(t *testing.T) {
	s := localkms.Start(t)
	signing := openLocal(t, s, "")
	decrypting := openLocal(t, s, "&rsa-key-usage=encrypt-decrypt")
	ctx := t.Context()
	if _, err := signing.GenerateKey(ctx, backend.KeySpec{Label: "s", Algorithm: backend.RSA2048}); err != nil {
		t.Fatal(err)
	}
	dk, err := decrypting.GenerateKey(ctx, backend.KeySpec{Label: "d", Algorithm: backend.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := signing.Decrypter(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, dk.Public.(*rsa.PublicKey), []byte("x"), nil)
	if _, err := dec.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Decrypt with a SIGN_VERIFY key: %v, want ErrUnsupported", err)
	}
	sg, err := signing.Signer(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Sign with an ENCRYPT_DECRYPT key: %v, want ErrUnsupported", err)
	}
	// The decrypting key does decrypt, through either instance.
	dec, err = signing.Decrypter(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := dec.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); err != nil || string(pt) != "x" {
		t.Errorf("Decrypt with the ENCRYPT_DECRYPT key: %q, %v", pt, err)
	}
	keys, err := signing.Keys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Label != "d" || keys[1].Label != "s" {
		t.Errorf("Keys: %v, %v; want d and s", keys, err)
	}
}

// TestPSSSaltHashLengthOnLocalKMS: opened as for AWS (pss-salt left at
// hash-length), a PSS signature from local-kms (maximum salt) is caught by
// the signer's own verification, not returned.
func TestPSSSaltHashLengthOnLocalKMS(t *testing.T) {
	s := localkms.Start(t)
	c, err := awskms.ParseURI("awskms:region=" + localkms.Region + "?endpoint=" + s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := awskms.OpenConfig(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "pss", Algorithm: backend.RSA2048}); err != nil {
		t.Fatal(err)
	}
	sg, err := b.Signer(t.Context(), "pss")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	sig, err := sg.Sign(rand.Reader, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err == nil {
		t.Fatalf("Sign returned a %d-byte signature; local-kms signs with the maximum salt, so want an error", len(sig))
	}
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "pss-salt=maximum") {
		t.Errorf("Sign: %v, want ErrUnsupported pointing at pss-salt=maximum", err)
	}
}

// TestContextDeadline: an expired context stops a call with ErrUnavailable
// and context.DeadlineExceeded.
func TestContextDeadline(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err := b.Key(ctx, "anything")
	if !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Key with an expired context: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

// TestKeysPaginated: Keys follows ListAliases's pages (2 aliases a page
// here) and lists every key once, sorted by label.
func TestKeysPaginated(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	labels := []string{"e", "a", "d", "c", "b"}
	for _, l := range labels {
		if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: l, Algorithm: backend.ECP256}); err != nil {
			t.Fatal(err)
		}
	}
	awskms.SetListPageSize(t, 2)
	before := s.Count("ListAliases")
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Label)
	}
	if strings.Join(got, ",") != "a,b,c,d,e" {
		t.Errorf("Keys lists %q, want a to e", got)
	}
	if n := s.Count("ListAliases") - before; n < 3 {
		t.Errorf("Keys made %d ListAliases requests for 5 aliases at 2 a page; want at least 3", n)
	}
}
