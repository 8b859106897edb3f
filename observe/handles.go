package observe

import (
	"context"
	"crypto"
	"io"

	"github.com/keyplane/keyplane/backend"
	"go.opentelemetry.io/otel/trace"
)

// A handle's uses are observed with the key the handle was made for (its
// label and ID, looked up once when the handle is made) and as children of
// the span that was current then: crypto.Signer's and crypto.Decrypter's
// methods take no context.
type handle struct {
	o      *observed
	key    keyInfo
	parent trace.SpanContext
}

func (o *observed) newHandle(ctx context.Context, ref string) handle {
	return handle{o: o, key: o.lookup(ctx, ref), parent: trace.SpanContextFromContext(ctx)}
}

// ctx is the context of a use of a context-free handle method.
func (h handle) ctx() context.Context {
	return trace.ContextWithSpanContext(context.Background(), h.parent)
}

func (o *observed) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	ctx, p := o.begin(ctx, methodSigner, methodSigner, refKey(ref))
	s, err := o.inner.Signer(ctx, ref)
	if err != nil {
		p.end(err)
		return nil, err
	}
	h := o.newHandle(ctx, ref)
	p.key = h.key
	p.end(nil)
	return &signer{handle: h, s: s}, nil
}

type signer struct {
	handle
	s crypto.Signer
}

func (s *signer) Public() crypto.PublicKey { return s.s.Public() }

func (s *signer) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	_, p := s.o.begin(s.ctx(), methodSign, signOperation(s.s.Public(), opts), s.key)
	sig, err := s.s.Sign(random, digest, opts)
	p.end(err)
	return sig, err
}

func (o *observed) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	ctx, p := o.begin(ctx, methodDecrypter, methodDecrypter, refKey(ref))
	d, err := o.inner.Decrypter(ctx, ref)
	if err != nil {
		p.end(err)
		return nil, err
	}
	h := o.newHandle(ctx, ref)
	p.key = h.key
	p.end(nil)
	return &decrypter{handle: h, d: d}, nil
}

type decrypter struct {
	handle
	d crypto.Decrypter
}

func (d *decrypter) Public() crypto.PublicKey { return d.d.Public() }

func (d *decrypter) Decrypt(random io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	_, p := d.o.begin(d.ctx(), methodDecrypt, decryptOperation(opts), d.key)
	pt, err := d.d.Decrypt(random, ciphertext, opts)
	p.end(err)
	return pt, err
}

func (o *observed) aead(ctx context.Context, ref string) (backend.AEAD, error) {
	ctx, p := o.begin(ctx, methodAEAD, methodAEAD, refKey(ref))
	a, err := o.inner.(backend.AEADBackend).AEAD(ctx, ref)
	if err != nil {
		p.end(err)
		return nil, err
	}
	h := o.newHandle(ctx, ref)
	p.key = h.key
	p.end(nil)
	return &aead{handle: h, a: a}, nil
}

type aead struct {
	handle
	a backend.AEAD
}

func (a *aead) NonceSize() int { return a.a.NonceSize() }
func (a *aead) Overhead() int  { return a.a.Overhead() }

func (a *aead) Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	ctx, p := a.o.begin(ctx, methodSeal, string(backend.AES256GCM), a.key)
	out, err := a.a.Seal(ctx, plaintext, ad)
	p.end(err)
	return out, err
}

func (a *aead) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	ctx, p := a.o.begin(ctx, methodOpen, string(backend.AES256GCM), a.key)
	out, err := a.a.Open(ctx, sealed, ad)
	p.end(err)
	return out, err
}

func (o *observed) fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	ctx, p := o.begin(ctx, methodFernet, methodFernet, refKey(ref))
	f, err := o.inner.(backend.FernetBackend).Fernet(ctx, ref)
	if err != nil {
		p.end(err)
		return nil, err
	}
	h := o.newHandle(ctx, ref)
	p.key = h.key
	p.end(nil)
	return &fernetKey{handle: h, f: f}, nil
}

type fernetKey struct {
	handle
	f backend.FernetKey
}

func (f *fernetKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	ctx, p := f.o.begin(ctx, methodMAC, string(backend.FernetToken), f.key)
	out, err := f.f.MAC(ctx, data)
	p.end(err)
	return out, err
}

func (f *fernetKey) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	ctx, p := f.o.begin(ctx, methodEncryptCBC, string(backend.FernetToken), f.key)
	out, err := f.f.EncryptCBC(ctx, iv, plaintext)
	p.end(err)
	return out, err
}

func (f *fernetKey) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	ctx, p := f.o.begin(ctx, methodDecryptCBC, string(backend.FernetToken), f.key)
	out, err := f.f.DecryptCBC(ctx, iv, ciphertext)
	p.end(err)
	return out, err
}
