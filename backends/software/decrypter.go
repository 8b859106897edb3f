package software

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"crypto"
	crand "crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // OAEP hashes must be linked in
	_ "crypto/sha256"
	_ "crypto/sha512"
	"io"

	"github.com/keyplane/keyplane/backend"
)

// decrypter is the crypto.Decrypter of an RSA key.
type decrypter struct {
	ks   *Keystore
	priv *rsa.PrivateKey
}

func (d *decrypter) Public() crypto.PublicKey { return &d.priv.PublicKey }

// Decrypt takes *rsa.OAEPOptions (SHA-1 or SHA-2, MGF1 hash, label),
// *rsa.PKCS1v15DecryptOptions, or nil for PKCS#1 v1.5. With SessionKeyLen
// set, a bad ciphertext yields random bytes of that length instead of an
// error (implicit rejection, as crypto/rsa does). Every decryption failure
// is backend.ErrDecryption, with no detail.
func (d *decrypter) Decrypt(random io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	if d.ks.closed.Load() {
		return nil, errClosed
	}
	p, err := backend.ParseDecrypterOpts(opts)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = crand.Reader
	}
	var out []byte
	switch {
	case p.OAEP:
		out, err = d.priv.Decrypt(random, ciphertext, &rsa.OAEPOptions{Hash: p.Hash, MGFHash: p.MGFHash, Label: p.Label})
	case p.SessionKeyLen > 0:
		out, err = d.priv.Decrypt(random, ciphertext, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: p.SessionKeyLen})
	default:
		out, err = rsa.DecryptPKCS1v15(random, d.priv, ciphertext)
	}
	if err != nil {
		return nil, backend.ErrDecryption
	}
	return out, nil
}
