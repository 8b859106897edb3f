package awskms_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

// TestAEADLimits: KMS Encrypt's 1..4096-byte plaintext limit is enforced
// before a request, with an error naming it; too much additional data
// likewise.
func TestAEADLimits(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "limits", Algorithm: backend.AES256}); err != nil {
		t.Fatal(err)
	}
	a, err := b.AEAD(ctx, "limits")
	if err != nil {
		t.Fatal(err)
	}
	before := s.Count("Encrypt")
	for _, n := range []int{0, awskms.MaxAEADPlaintext + 1, 1 << 20} {
		_, err := a.Seal(ctx, make([]byte, n), nil)
		if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "4096") {
			t.Errorf("Seal of %d bytes: %v, want ErrInvalidInput naming the 4096-byte limit", n, err)
		}
	}
	if _, err := a.Seal(ctx, []byte("x"), make([]byte, awskms.MaxAEADAdditionalData+1)); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Seal with %d bytes of additional data: %v, want ErrInvalidInput", awskms.MaxAEADAdditionalData+1, err)
	}
	if got := s.Count("Encrypt") - before; got != 0 {
		t.Errorf("%d Encrypt requests for refused input, want none", got)
	}
	if _, err := a.Seal(ctx, make([]byte, awskms.MaxAEADPlaintext), nil); err != nil {
		t.Errorf("Seal of exactly %d bytes: %v", awskms.MaxAEADPlaintext, err)
	}
}

// TestAEADEncryptionContext: the additional data travels as the
// documented encryption context, so a plain KMS Decrypt with
// {"keyplane-ad": base64url(ad)} opens what Seal made, and a blob from a
// plain KMS Encrypt with that context opens through Open.
func TestAEADEncryptionContext(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	raw := rawClient(t, s)
	ctx := t.Context()
	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: "context", Algorithm: backend.AES256})
	if err != nil {
		t.Fatal(err)
	}
	a, err := b.AEAD(ctx, "context")
	if err != nil {
		t.Fatal(err)
	}
	pt, ad := []byte("message"), []byte{0xff, 0xfe, 'a', 'd'}
	ec := map[string]string{awskms.EncryptionContextKey: base64.RawURLEncoding.EncodeToString(ad)}
	sealed, err := a.Seal(ctx, pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	out, err := raw.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: sealed, EncryptionContext: ec})
	if err != nil || !bytes.Equal(out.Plaintext, pt) {
		t.Errorf("kms.Decrypt with encryption context %v: %v", ec, err)
	}
	enc, err := raw.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(k.URI), Plaintext: pt, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Open(ctx, enc.CiphertextBlob, ad); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("Open of a kms.Encrypt blob with the same context: %q, %v", got, err)
	}
	plain, err := raw.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(k.URI), Plaintext: pt})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Open(ctx, plain.CiphertextBlob, nil); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("Open without additional data of a kms.Encrypt blob without context: %q, %v", got, err)
	}
	if _, err := a.Open(ctx, plain.CiphertextBlob, ad); !errors.Is(err, backend.ErrDecryption) {
		t.Errorf("Open with additional data of a blob made without context: %v, want ErrDecryption", err)
	}
}

// TestDataKeys: GenerateDataKey and DecryptDataKey agree, one KMS request
// each, the wrapping bound to the additional data; refused sizes and
// key types name what was wrong.
func TestDataKeys(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "kek", Algorithm: backend.AES256}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "ec", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	before := s.Count("GenerateDataKey")
	pt, wrapped, err := b.GenerateDataKey(ctx, "kek", 32, []byte("header"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pt) != 32 || bytes.Contains(wrapped, pt) {
		t.Fatalf("data key of %d bytes; wrapped form holds it in plaintext: %v", len(pt), bytes.Contains(wrapped, pt))
	}
	if n := s.Count("GenerateDataKey") - before; n != 1 {
		t.Errorf("%d GenerateDataKey requests, want 1", n)
	}
	got, err := b.DecryptDataKey(ctx, "kek", wrapped, []byte("header"))
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("DecryptDataKey: %v (same key: %v)", err, bytes.Equal(got, pt))
	}
	if _, err := b.DecryptDataKey(ctx, "kek", wrapped, []byte("Header")); !errors.Is(err, backend.ErrDecryption) {
		t.Errorf("DecryptDataKey with other additional data: %v, want ErrDecryption", err)
	}
	tampered := append([]byte(nil), wrapped...)
	tampered[len(tampered)-1] ^= 1
	if _, err := b.DecryptDataKey(ctx, "kek", tampered, []byte("header")); !errors.Is(err, backend.ErrDecryption) {
		t.Errorf("DecryptDataKey of a tampered blob: %v, want ErrDecryption", err)
	}
	if _, _, err := b.GenerateDataKey(ctx, "kek", 0, nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("GenerateDataKey of 0 bytes: %v, want ErrInvalidInput", err)
	}
	if pt16, _, err := b.GenerateDataKey(ctx, "kek", 16, nil); err != nil || len(pt16) != 16 {
		t.Errorf("GenerateDataKey of 16 bytes: %d bytes, %v", len(pt16), err)
	}
	if _, _, err := b.GenerateDataKey(ctx, "ec", 32, nil); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateDataKey under an EC key: %v, want ErrUnsupported", err)
	}
	if _, _, err := b.GenerateDataKey(ctx, "missing", 32, nil); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("GenerateDataKey under a missing key: %v, want ErrNotFound", err)
	}
}
