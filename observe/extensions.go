package observe

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The extension interfaces (backend.KeyAgreement, backend.KEM,
// backend.KeyVersions) are methods of *observed itself, so every wrapped
// backend has them: composing a struct per combination, as compose does for
// the seven interfaces before them, would take 2^n types. When the backend
// inside lacks one, its methods return ErrUnsupported, which is what the
// contract says a backend answers for a key that cannot do the operation;
// what a backend can do is in its Capabilities (docs/decisions.md, "Wrappers
// and the extension interfaces").

// Methods of the extension interfaces and their handles.
const (
	methodKeyExchanger  = "key-exchanger"
	methodECDH          = "ecdh"
	methodDecapsulator  = "decapsulator"
	methodDecapsulate   = "decapsulate"
	methodRotate        = "rotate"
	methodVersions      = "versions"
	methodSetMinVersion = "set-min-version"
	methodDeleteVersion = "delete-version"
)

// unsupported is the error of an extension method the inner backend lacks.
func (o *observed) unsupported(what string) error {
	return fmt.Errorf("%s: the backend has no %s: %w", o.name, what, backend.ErrUnsupported)
}

func (o *observed) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	return observeHandle(o, ctx, methodKeyExchanger, ref,
		func(ctx context.Context) (ecdh.KeyExchanger, error) {
			ka, ok := o.inner.(backend.KeyAgreement)
			if !ok {
				return nil, o.unsupported("key agreement")
			}
			return ka.KeyExchanger(ctx, ref)
		},
		func(h handle, k ecdh.KeyExchanger) ecdh.KeyExchanger { return &keyExchanger{handle: h, k: k} })
}

type keyExchanger struct {
	handle
	k ecdh.KeyExchanger
}

func (k *keyExchanger) PublicKey() *ecdh.PublicKey { return k.k.PublicKey() }
func (k *keyExchanger) Curve() ecdh.Curve          { return k.k.Curve() }

func (k *keyExchanger) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	_, p := k.o.begin(k.ctx(), methodECDH, methodECDH, k.key)
	secret, err := k.k.ECDH(peer)
	p.end(err)
	return secret, err
}

func (o *observed) Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	return observeHandle(o, ctx, methodDecapsulator, ref,
		func(ctx context.Context) (crypto.Decapsulator, error) {
			kem, ok := o.inner.(backend.KEM)
			if !ok {
				return nil, o.unsupported("key encapsulation")
			}
			return kem.Decapsulator(ctx, ref)
		},
		func(h handle, d crypto.Decapsulator) crypto.Decapsulator { return &decapsulator{handle: h, d: d} })
}

type decapsulator struct {
	handle
	d crypto.Decapsulator
}

func (d *decapsulator) Encapsulator() crypto.Encapsulator { return d.d.Encapsulator() }

func (d *decapsulator) Decapsulate(ciphertext []byte) ([]byte, error) {
	_, p := d.o.begin(d.ctx(), methodDecapsulate, methodDecapsulate, d.key)
	shared, err := d.d.Decapsulate(ciphertext)
	p.end(err)
	return shared, err
}

// observeCall observes one call of the extension interface I on the inner
// backend, for the key described by key: ErrUnsupported, naming what, when
// the inner backend lacks I. resultKey, when not nil, gives the key the
// result describes (a new version, an unwrapped key) for the record.
func observeCall[I, R any](o *observed, ctx context.Context, method, operation string, key keyInfo, what string,
	do func(context.Context, I) (R, error), resultKey func(R) *backend.Key) (R, error) {
	ctx, p := o.begin(ctx, method, operation, key)
	inner, ok := o.inner.(I)
	if !ok {
		err := o.unsupported(what)
		p.end(err)
		var none R
		return none, err
	}
	r, err := do(ctx, inner)
	if err == nil && resultKey != nil {
		p.key = keyOf(resultKey(r))
	}
	p.end(err)
	return r, err
}

// observeCallErr is observeCall for a method that returns only an error.
func observeCallErr[I any](o *observed, ctx context.Context, method string, key keyInfo, what string, do func(context.Context, I) error) error {
	_, err := observeCall(o, ctx, method, method, key, what, func(ctx context.Context, i I) (struct{}, error) {
		return struct{}{}, do(ctx, i)
	}, nil)
	return err
}

func (o *observed) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	return observeCall(o, ctx, methodRotate, methodRotate, o.lookup(ctx, ref), "key versions",
		func(ctx context.Context, kv backend.KeyVersions) (*backend.Key, error) { return kv.Rotate(ctx, ref) },
		func(k *backend.Key) *backend.Key { return k })
}

func (o *observed) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	return observeCall(o, ctx, methodVersions, methodVersions, o.lookup(ctx, ref), "key versions",
		func(ctx context.Context, kv backend.KeyVersions) ([]*backend.Key, error) {
			return kv.Versions(ctx, ref)
		}, nil)
}

func (o *observed) SetMinVersion(ctx context.Context, ref string, min int) error {
	return observeCallErr(o, ctx, methodSetMinVersion, o.lookup(ctx, ref), "key versions",
		func(ctx context.Context, kv backend.KeyVersions) error { return kv.SetMinVersion(ctx, ref, min) })
}

func (o *observed) DeleteVersion(ctx context.Context, ref string, version int) error {
	return observeCallErr(o, ctx, methodDeleteVersion, o.lookup(ctx, ref), "key versions",
		func(ctx context.Context, kv backend.KeyVersions) error { return kv.DeleteVersion(ctx, ref, version) })
}
