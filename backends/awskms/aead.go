package awskms

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
)

// KMS's request limits for symmetric Encrypt and Decrypt.
const (
	// MaxAEADPlaintext is the most a KMS Encrypt request takes: 4096
	// bytes (and at least 1). Larger data goes through envelope
	// encryption (package envelope), which needs one KMS call per
	// message whatever its size.
	MaxAEADPlaintext = 4096
	// maxCiphertextBlob is the most a KMS Decrypt request takes.
	maxCiphertextBlob = 6144
	// MaxAEADAdditionalData is the most additional data the AEAD carries
	// (as encryption context, see EncryptionContextKey).
	MaxAEADAdditionalData = 4096
)

// EncryptionContextKey is the encryption context key under which the
// AEAD and the data keys carry additional data: a non-empty ad is the
// encryption context {"keyplane-ad": base64url(ad), unpadded (RFC 4648
// §5)}; an empty or nil ad is no encryption context at all. So a
// ciphertext made by keyplane with ad decrypts with
//
//	aws kms decrypt --ciphertext-blob fileb://ct --encryption-context keyplane-ad=<base64url of ad>
//
// and one made elsewhere without encryption context opens with no ad.
const EncryptionContextKey = "keyplane-ad"

// encryptionContext is the encryption context that carries ad.
func encryptionContext(ad []byte) (map[string]string, error) {
	if len(ad) == 0 {
		return nil, nil
	}
	if len(ad) > MaxAEADAdditionalData {
		return nil, fmt.Errorf("awskms: additional data of %d bytes: at most %d (MaxAEADAdditionalData) travel in the KMS encryption context: %w", len(ad), MaxAEADAdditionalData, backend.ErrInvalidInput)
	}
	return map[string]string{EncryptionContextKey: base64.RawURLEncoding.EncodeToString(ad)}, nil
}

// AEAD returns the AEAD of an aes-256 key (a KMS SYMMETRIC_DEFAULT key):
// Seal is one KMS Encrypt request, Open one Decrypt, the additional data
// carried as encryption context (EncryptionContextKey).
//
// Its sealed messages are KMS ciphertext blobs, not the contract's
// nonce ‖ ciphertext ‖ tag (the Capabilities say
// Details["aead-layout"] = "service"): NonceSize is 0, Overhead is
// the most a blob may exceed its plaintext by (2048 bytes: KMS's 6144-byte
// ciphertext limit less its 4096-byte plaintext limit). Plaintexts are 1
// to MaxAEADPlaintext bytes; others are refused with
// backend.ErrInvalidInput. Every failure to open is backend.ErrDecryption.
func (b *Backend) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	ki, err := b.symmetricKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &kmsAEAD{b: b, ki: ki}, nil
}

// symmetricKey resolves ref to an aes-256 (SYMMETRIC_DEFAULT) key.
func (b *Backend) symmetricKey(ctx context.Context, ref string) (*keyInfo, error) {
	ki, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ki.alg != backend.AES256 || ki.usage != types.KeyUsageTypeEncryptDecrypt {
		return nil, fmt.Errorf("awskms: key %q is a %s key with key usage %s; only aes-256 (SYMMETRIC_DEFAULT) keys encrypt data: %w", ref, ki.alg, ki.usage, backend.ErrUnsupported)
	}
	return ki, nil
}

type kmsAEAD struct {
	b  *Backend
	ki *keyInfo
}

func (a *kmsAEAD) NonceSize() int { return 0 }
func (a *kmsAEAD) Overhead() int  { return maxCiphertextBlob - MaxAEADPlaintext }

// callContext bounds a request by the URI's call-timeout as well as by
// ctx.
func (b *Backend) callContextFrom(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.cfg.callTimeout())
}

func (a *kmsAEAD) Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	if err := a.b.check(); err != nil {
		return nil, err
	}
	if len(plaintext) < 1 || len(plaintext) > MaxAEADPlaintext {
		return nil, fmt.Errorf("awskms: AEAD Seal: plaintext of %d bytes: KMS Encrypt takes 1 to %d bytes (MaxAEADPlaintext); use envelope encryption for more: %w", len(plaintext), MaxAEADPlaintext, backend.ErrInvalidInput)
	}
	ec, err := encryptionContext(ad)
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.b.callContextFrom(ctx)
	defer cancel()
	out, err := a.b.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:               aws.String(a.ki.keyID),
		Plaintext:           plaintext,
		EncryptionContext:   ec,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, classify("Encrypt", err)
	}
	return out.CiphertextBlob, nil
}

func (a *kmsAEAD) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	if err := a.b.check(); err != nil {
		return nil, err
	}
	return a.b.decryptSymmetric(ctx, a.ki, sealed, ad)
}

// decryptSymmetric is one KMS Decrypt of a symmetric ciphertext blob
// under the key ki, with ad as encryption context.
func (b *Backend) decryptSymmetric(ctx context.Context, ki *keyInfo, blob, ad []byte) ([]byte, error) {
	if len(blob) == 0 || len(blob) > maxCiphertextBlob || len(ad) > MaxAEADAdditionalData {
		return nil, fmt.Errorf("awskms: Decrypt: %w", backend.ErrDecryption)
	}
	ec, err := encryptionContext(ad)
	if err != nil {
		return nil, err
	}
	ctx, cancel := b.callContextFrom(ctx)
	defer cancel()
	out, err := b.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:               aws.String(ki.keyID),
		CiphertextBlob:      blob,
		EncryptionContext:   ec,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, classify("Decrypt", err)
	}
	return out.Plaintext, nil
}

// GenerateDataKey makes a data key of size bytes (1 to 1024) in KMS
// (GenerateDataKey; KeySpec AES_256 for 32 bytes) under the aes-256 key
// ref names, ad carried as encryption context (EncryptionContextKey). The
// wrapped key is KMS's ciphertext blob: `aws kms decrypt` opens it too.
func (b *Backend) GenerateDataKey(ctx context.Context, ref string, size int, ad []byte) (plaintext, wrapped []byte, err error) {
	if size < 1 || size > 1024 {
		return nil, nil, fmt.Errorf("awskms: GenerateDataKey: a data key of %d bytes: KMS makes 1 to 1024: %w", size, backend.ErrInvalidInput)
	}
	ki, err := b.symmetricKey(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	ec, err := encryptionContext(ad)
	if err != nil {
		return nil, nil, err
	}
	in := &kms.GenerateDataKeyInput{KeyId: aws.String(ki.keyID), EncryptionContext: ec}
	if size == 32 {
		in.KeySpec = types.DataKeySpecAes256
	} else {
		in.NumberOfBytes = aws.Int32(int32(size))
	}
	cctx, cancel := b.callContextFrom(ctx)
	defer cancel()
	out, err := b.client.GenerateDataKey(cctx, in)
	if err != nil {
		return nil, nil, classify("GenerateDataKey", err)
	}
	if len(out.Plaintext) != size || len(out.CiphertextBlob) == 0 {
		return nil, nil, fmt.Errorf("awskms: GenerateDataKey returned a key of %d bytes, want %d: %w", len(out.Plaintext), size, backend.ErrUnavailable)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// DecryptDataKey opens a data key from GenerateDataKey with one KMS
// Decrypt. Every failure to open is backend.ErrDecryption.
func (b *Backend) DecryptDataKey(ctx context.Context, ref string, wrapped, ad []byte) ([]byte, error) {
	ki, err := b.symmetricKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	return b.decryptSymmetric(ctx, ki, wrapped, ad)
}

var (
	_ backend.AEADBackend      = (*Backend)(nil)
	_ backend.DataKeyGenerator = (*Backend)(nil)
)
