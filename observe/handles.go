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

// observeHandle observes the making of a handle: get asks the inner
// backend for it, and wrap puts it in its observed type, with the key it
// was made for. A failure is recorded and returned as it came.
func observeHandle[H any](o *observed, ctx context.Context, method, ref string, get func(context.Context) (H, error), wrap func(handle, H) H) (H, error) {
	ctx, p := o.begin(ctx, method, method, refKey(ref))
	inner, err := get(ctx)
	if err != nil {
		p.end(err)
		var none H
		return none, err
	}
	h := o.newHandle(ctx, ref)
	p.key = h.key
	p.end(nil)
	return wrap(h, inner), nil
}

func (o *observed) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	return observeHandle(o, ctx, methodSigner, ref,
		func(ctx context.Context) (crypto.Signer, error) { return o.inner.Signer(ctx, ref) },
		func(h handle, s crypto.Signer) crypto.Signer { return &signer{handle: h, s: s} })
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
	return observeHandle(o, ctx, methodDecrypter, ref,
		func(ctx context.Context) (crypto.Decrypter, error) { return o.inner.Decrypter(ctx, ref) },
		func(h handle, d crypto.Decrypter) crypto.Decrypter { return &decrypter{handle: h, d: d} })
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
	return observeHandle(o, ctx, methodAEAD, ref,
		func(ctx context.Context) (backend.AEAD, error) { return o.inner.(backend.AEADBackend).AEAD(ctx, ref) },
		func(h handle, a backend.AEAD) backend.AEAD { return &aead{handle: h, a: a} })
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
	return observeHandle(o, ctx, methodFernet, ref,
		func(ctx context.Context) (backend.FernetKey, error) {
			return o.inner.(backend.FernetBackend).Fernet(ctx, ref)
		},
		func(h handle, f backend.FernetKey) backend.FernetKey { return &fernetKey{handle: h, f: f} })
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
