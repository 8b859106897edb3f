package awskms

import (
	"context"
	"crypto"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
)

// Decrypter returns a crypto.Decrypter for an RSA key. Decrypt takes
// RSA-OAEP with SHA-1 or SHA-256, MGF1 with the same hash and no label
// (what KMS offers); the key must have key usage ENCRYPT_DECRYPT.
func (b *Backend) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	ki, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ki.alg.Family() != backend.FamilyRSA {
		return nil, fmt.Errorf("awskms: key %q is a %s key; only RSA keys decrypt: %w", ref, ki.alg, backend.ErrUnsupported)
	}
	return &decrypter{b: b, ki: ki}, nil
}

type decrypter struct {
	b  *Backend
	ki *keyInfo
}

func (d *decrypter) Public() crypto.PublicKey { return d.ki.public }

var oaepAlgorithms = map[crypto.Hash]types.EncryptionAlgorithmSpec{
	crypto.SHA1:   types.EncryptionAlgorithmSpecRsaesOaepSha1,
	crypto.SHA256: types.EncryptionAlgorithmSpecRsaesOaepSha256,
}

// Decrypt decrypts ciphertext in KMS. Every failure of the decryption
// itself is backend.ErrDecryption and nothing more.
func (d *decrypter) Decrypt(_ io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	if err := d.b.check(); err != nil {
		return nil, err
	}
	p, err := backend.ParseDecrypterOpts(opts)
	if err != nil {
		return nil, err
	}
	if !p.OAEP {
		return nil, fmt.Errorf("awskms: RSA PKCS#1 v1.5 decryption: KMS offers RSA-OAEP only: %w", backend.ErrUnsupported)
	}
	algo, ok := oaepAlgorithms[p.Hash]
	if !ok || p.MGFHash != p.Hash {
		return nil, fmt.Errorf("awskms: RSA-OAEP with %v and MGF1-%v: KMS offers SHA-1 and SHA-256, MGF1 with the same hash: %w", p.Hash, p.MGFHash, backend.ErrUnsupported)
	}
	if len(p.Label) > 0 {
		return nil, fmt.Errorf("awskms: RSA-OAEP with a label: KMS takes none: %w", backend.ErrUnsupported)
	}
	if d.ki.usage != types.KeyUsageTypeEncryptDecrypt {
		return nil, fmt.Errorf("awskms: key %s has key usage %s and cannot decrypt: %w", d.ki.keyID, d.ki.usage, backend.ErrUnsupported)
	}
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("awskms: Decrypt: %w", backend.ErrDecryption)
	}
	ctx, cancel := d.b.callContext()
	defer cancel()
	out, err := d.b.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:               aws.String(d.ki.keyID),
		CiphertextBlob:      ciphertext,
		EncryptionAlgorithm: algo,
	})
	if err != nil {
		return nil, classify("Decrypt", err)
	}
	return out.Plaintext, nil
}

var _ backend.Backend = (*Backend)(nil)
