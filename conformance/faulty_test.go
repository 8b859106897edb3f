package conformance_test

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/keyplane/keyplane/backend"
)

// faulty wraps a working backend and breaks one thing, to show that the
// suite notices. Each hook is nil unless the test sets it.
type faulty struct {
	backend.Backend

	caps      func(*backend.Capabilities)
	signer    func(crypto.Signer) crypto.Signer
	decrypter func(crypto.Decrypter) crypto.Decrypter
	keys      func([]*backend.Key) []*backend.Key
	deleteKey func(ctx context.Context, ref string) error
	aead      func(backend.AEAD) backend.AEAD
	generate  func(ctx context.Context, spec backend.KeySpec) (*backend.Key, error)
	key       func(*backend.Key) *backend.Key
	closed    bool // keep answering after Close
}

func (f *faulty) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	c, err := f.Backend.Capabilities(ctx)
	if err == nil && f.caps != nil {
		f.caps(c)
	}
	return c, err
}

func (f *faulty) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if f.generate != nil {
		return f.generate(ctx, spec)
	}
	return f.Backend.GenerateKey(ctx, spec)
}

func (f *faulty) Key(ctx context.Context, ref string) (*backend.Key, error) {
	k, err := f.Backend.Key(ctx, ref)
	if err == nil && f.key != nil {
		k = f.key(k)
	}
	return k, err
}

func (f *faulty) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	s, err := f.Backend.Signer(ctx, ref)
	if err == nil && f.signer != nil {
		s = f.signer(s)
	}
	return s, err
}

func (f *faulty) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	d, err := f.Backend.Decrypter(ctx, ref)
	if err == nil && f.decrypter != nil {
		d = f.decrypter(d)
	}
	return d, err
}

func (f *faulty) Keys(ctx context.Context) ([]*backend.Key, error) {
	ks, err := f.Backend.Keys(ctx)
	if err == nil && f.keys != nil {
		ks = f.keys(ks)
	}
	return ks, err
}

func (f *faulty) DeleteKey(ctx context.Context, ref string) error {
	if f.deleteKey != nil {
		return f.deleteKey(ctx, ref)
	}
	return f.Backend.DeleteKey(ctx, ref)
}

func (f *faulty) Close() error {
	if f.closed {
		return nil
	}
	return f.Backend.Close()
}

// The optional interfaces, forwarded.

func (f *faulty) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	a, err := f.Backend.(backend.AEADBackend).AEAD(ctx, ref)
	if err == nil && f.aead != nil {
		a = f.aead(a)
	}
	return a, err
}

func (f *faulty) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	return f.Backend.(backend.FernetBackend).Fernet(ctx, ref)
}

func (f *faulty) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	return f.Backend.(backend.Importer).ImportKey(ctx, label, key)
}

func (f *faulty) ExportKey(ctx context.Context, ref string) (any, error) {
	return f.Backend.(backend.Exporter).ExportKey(ctx, ref)
}

// signerFunc is a crypto.Signer made of functions.
type signerFunc struct {
	crypto.Signer
	sign func(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

func (s signerFunc) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.sign(r, d, o)
}

// decrypterFunc is a crypto.Decrypter made of functions.
type decrypterFunc struct {
	crypto.Decrypter
	decrypt func(rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error)
}

func (d decrypterFunc) Decrypt(r io.Reader, m []byte, o crypto.DecrypterOpts) ([]byte, error) {
	return d.decrypt(r, m, o)
}

// aeadFunc overrides Seal.
type aeadFunc struct {
	backend.AEAD
	seal func(ctx context.Context, pt, ad []byte) ([]byte, error)
}

func (a aeadFunc) Seal(ctx context.Context, pt, ad []byte) ([]byte, error) {
	return a.seal(ctx, pt, ad)
}

// The faults.

// signsOtherDigest signs a digest it was not given (as a backend that
// hashes twice would).
func signsOtherDigest(s crypto.Signer) crypto.Signer {
	return signerFunc{s, func(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
		other := append([]byte(nil), d...)
		other[0] ^= 1
		return s.Sign(r, other, o)
	}}
}

// leaksPadding turns decryption errors into a padding oracle.
func leaksPadding(d crypto.Decrypter) crypto.Decrypter {
	return decrypterFunc{d, func(r io.Reader, m []byte, o crypto.DecrypterOpts) ([]byte, error) {
		pt, err := d.Decrypt(r, m, o)
		if errors.Is(err, backend.ErrDecryption) {
			err = fmt.Errorf("CKR_ENCRYPTED_DATA_INVALID: invalid padding: %w", err)
		}
		return pt, err
	}}
}

// variesWithCause tells failures apart by the ciphertext's last byte.
func variesWithCause(d crypto.Decrypter) crypto.Decrypter {
	return decrypterFunc{d, func(r io.Reader, m []byte, o crypto.DecrypterOpts) ([]byte, error) {
		pt, err := d.Decrypt(r, m, o)
		if err != nil && len(m) > 0 {
			err = fmt.Errorf("block %02x: %w", m[len(m)-1], err)
		}
		return pt, err
	}}
}

// explicitRejection returns an error where PKCS#1 v1.5 with SessionKeyLen
// must answer random bytes (a Bleichenbacher oracle).
func explicitRejection(d crypto.Decrypter) crypto.Decrypter {
	return decrypterFunc{d, func(r io.Reader, m []byte, o crypto.DecrypterOpts) ([]byte, error) {
		if po, ok := o.(*rsa.PKCS1v15DecryptOptions); ok && po.SessionKeyLen > 0 {
			pt, err := d.Decrypt(r, m, &rsa.PKCS1v15DecryptOptions{})
			if err != nil {
				return nil, err
			}
			if len(pt) != po.SessionKeyLen {
				return nil, fmt.Errorf("wrong key length: %w", backend.ErrDecryption)
			}
			return pt, nil
		}
		return d.Decrypt(r, m, o)
	}}
}

// unsortedKeys lists keys in reverse order.
func unsortedKeys(ks []*backend.Key) []*backend.Key {
	ks = slices.Clone(ks)
	slices.Reverse(ks)
	return ks
}

// fixedNonce reuses one nonce: it seals, then overwrites the nonce. (The
// message then fails to open, which the suite also notices; the point is
// the repeated nonce.)
func fixedNonce(a backend.AEAD) backend.AEAD {
	return aeadFunc{a, func(ctx context.Context, pt, ad []byte) ([]byte, error) {
		out, err := a.Seal(ctx, pt, ad)
		if err == nil {
			copy(out, make([]byte, a.NonceSize()))
		}
		return out, err
	}}
}

// implicitRejection answers a PKCS#1 v1.5 decryption that fails (without
// SessionKeyLen) with a synthetic plaintext, as NSS softokn does: with
// deterministic, bytes derived from the ciphertext with HMAC-SHA256 under
// a per-decrypter secret, of a length (at most k-11) derived the same way;
// without, fresh random bytes every time (which tells a rejection from a
// success to anyone who asks twice).
func implicitRejection(deterministic bool) func(crypto.Decrypter) crypto.Decrypter {
	return func(d crypto.Decrypter) crypto.Decrypter {
		secret := make([]byte, 32)
		rand.Read(secret)
		k := d.Public().(*rsa.PublicKey).Size()
		return decrypterFunc{d, func(r io.Reader, m []byte, o crypto.DecrypterOpts) ([]byte, error) {
			pt, err := d.Decrypt(r, m, o)
			po, _ := o.(*rsa.PKCS1v15DecryptOptions)
			_, oaep := o.(*rsa.OAEPOptions)
			if err == nil || oaep || po != nil && po.SessionKeyLen > 0 || len(m) != k {
				return pt, err
			}
			var stream []byte
			if deterministic {
				for i := byte(0); len(stream) < k; i++ {
					h := hmac.New(sha256.New, secret)
					h.Write([]byte{i})
					h.Write(m)
					stream = h.Sum(stream)
				}
			} else {
				stream = make([]byte, k)
				rand.Read(stream)
			}
			n := int(binary.BigEndian.Uint16(stream)) % (k - 10)
			return stream[2 : 2+n], nil
		}}
	}
}

// reportsImplicitRejection sets Capabilities.PKCS1v15ImplicitRejection.
func reportsImplicitRejection(c *backend.Capabilities) { c.PKCS1v15ImplicitRejection = true }
