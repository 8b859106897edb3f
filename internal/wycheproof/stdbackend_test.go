package wycheproof

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

// stdBackend is a minimal backend.Backend over crypto/*, so that the
// runners can be tested without any real backend. Its faults make it
// misbehave on purpose, to show the runners catch it.
type stdBackend struct {
	mu     sync.Mutex
	keys   map[string]any
	faults faults
}

type faults struct {
	leakyErrors    bool // decryption errors name the padding
	noImplicitRej  bool // SessionKeyLen failures are errors
	wrongPlaintext bool // valid OAEP decryptions return a changed message
	p1363Sigs      bool // ECDSA signatures in r ‖ s instead of DER
	refuseLabels   bool // OAEP with a label is unsupported (SoftHSM2 without the fallback)
	unsupportedBad bool // failed OAEP decryptions say ErrUnsupported (an oracle)
}

func newStdBackend(f faults) *stdBackend { return &stdBackend{keys: map[string]any{}, faults: f} }

var (
	_             backend.Backend     = (*stdBackend)(nil)
	_             backend.Importer    = (*stdBackend)(nil)
	_             backend.AEADBackend = (*stdBackend)(nil)
	errStdDecrypt                     = backend.ErrDecryption
	errLeaky                          = fmt.Errorf("bad OAEP padding: %w", backend.ErrDecryption)
)

func (b *stdBackend) get(ref string) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.keys[ref]
	if !ok {
		return nil, fmt.Errorf("key %q: %w", ref, backend.ErrNotFound)
	}
	return k, nil
}

func (b *stdBackend) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	var alg backend.Algorithm
	switch k := key.(type) {
	case backend.SecretKey:
		if k.Algorithm != backend.AES256 || len(k.Value) != 32 {
			return nil, fmt.Errorf("secret key %s of %d bytes: %w", k.Algorithm, len(k.Value), backend.ErrUnsupported)
		}
		alg = k.Algorithm
	default:
		var err error
		if alg, err = backend.AlgorithmOf(key); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.keys[label]; dup {
		return nil, fmt.Errorf("label %q: %w", label, backend.ErrAlreadyExists)
	}
	b.keys[label] = key
	return &backend.Key{Label: label, Algorithm: alg}, nil
}

func (b *stdBackend) GenerateKey(context.Context, backend.KeySpec) (*backend.Key, error) {
	return nil, fmt.Errorf("stdBackend generates nothing: %w", backend.ErrUnsupported)
}

func (b *stdBackend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	k, err := b.get(ref)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %q cannot sign: %w", ref, backend.ErrUnsupported)
	}
	return &stdSigner{s, b.faults}, nil
}

type stdSigner struct {
	crypto.Signer
	faults faults
}

func (s *stdSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := backend.AlgorithmOf(s.Public())
	if err != nil {
		return nil, err
	}
	if _, err := backend.ParseSignerOpts(alg, s.Public(), digest, opts); err != nil {
		return nil, err
	}
	sig, err := s.Signer.Sign(r, digest, opts)
	if err == nil && s.faults.p1363Sigs && alg.Family() == backend.FamilyEC {
		k := s.Signer.(*ecdsa.PrivateKey)
		return ecsig.ASN1ToP1363(sig, ecsig.ScalarSize(k.Curve))
	}
	return sig, err
}

func (b *stdBackend) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	k, err := b.get(ref)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %q cannot decrypt: %w", ref, backend.ErrUnsupported)
	}
	return &stdDecrypter{priv, b.faults}, nil
}

type stdDecrypter struct {
	priv   *rsa.PrivateKey
	faults faults
}

func (d *stdDecrypter) Public() crypto.PublicKey { return &d.priv.PublicKey }

func (d *stdDecrypter) Decrypt(r io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	p, err := backend.ParseDecrypterOpts(opts)
	if err != nil {
		return nil, err
	}
	fail := errStdDecrypt
	if d.faults.leakyErrors {
		fail = errLeaky
	}
	if p.OAEP {
		if d.faults.refuseLabels && len(p.Label) > 0 {
			return nil, fmt.Errorf("OAEP with a label: %w", backend.ErrUnsupported)
		}
		m, err := d.priv.Decrypt(r, ct, &rsa.OAEPOptions{Hash: p.Hash, MGFHash: p.MGFHash, Label: p.Label})
		if err != nil && d.faults.unsupportedBad {
			return nil, fmt.Errorf("token said CKR_ARGUMENTS_BAD: %w", backend.ErrUnsupported)
		}
		if err != nil {
			return nil, fail
		}
		if d.faults.wrongPlaintext {
			m = append(m, 0)
		}
		return m, nil
	}
	m, err := rsa.DecryptPKCS1v15(nil, d.priv, ct)
	if p.SessionKeyLen == 0 || d.faults.noImplicitRej {
		if err != nil {
			return nil, fail
		}
		return m, nil
	}
	if len(ct) != d.priv.Size() {
		return nil, fail // public: the ciphertext's length
	}
	return backend.ImplicitRejection(r, m, err == nil, p.SessionKeyLen)
}

func (b *stdBackend) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	k, err := b.get(ref)
	if err != nil {
		return nil, err
	}
	sk, ok := k.(backend.SecretKey)
	if !ok {
		return nil, fmt.Errorf("key %q is not an AES key: %w", ref, backend.ErrUnsupported)
	}
	block, err := aes.NewCipher(sk.Value)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return stdAEAD{g}, nil
}

type stdAEAD struct{ g cipher.AEAD }

func (a stdAEAD) NonceSize() int { return a.g.NonceSize() }
func (a stdAEAD) Overhead() int  { return a.g.NonceSize() + a.g.Overhead() }
func (a stdAEAD) Seal(_ context.Context, pt, ad []byte) ([]byte, error) {
	nonce := make([]byte, a.g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.g.Seal(nonce, nonce, pt, ad), nil
}
func (a stdAEAD) Open(_ context.Context, sealed, ad []byte) ([]byte, error) {
	n := a.g.NonceSize()
	if len(sealed) < n+a.g.Overhead() {
		return nil, backend.ErrDecryption
	}
	m, err := a.g.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, backend.ErrDecryption
	}
	return m, nil
}

func (b *stdBackend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	if _, err := b.get(ref); err != nil {
		return nil, err
	}
	return &backend.Key{Label: ref}, nil
}

func (b *stdBackend) Keys(ctx context.Context) ([]*backend.Key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*backend.Key
	for l := range b.keys {
		out = append(out, &backend.Key{Label: l})
	}
	slices.SortFunc(out, func(x, y *backend.Key) int { return compare(x.Label, y.Label) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (b *stdBackend) DeleteKey(ctx context.Context, ref string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.keys[ref]; !ok {
		return fmt.Errorf("key %q: %w", ref, backend.ErrNotFound)
	}
	delete(b.keys, ref)
	return nil
}

func (b *stdBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}

func (b *stdBackend) Capabilities(context.Context) (*backend.Capabilities, error) {
	return &backend.Capabilities{Backend: "std-test", Import: true}, nil
}

func (b *stdBackend) Close() error { return nil }
