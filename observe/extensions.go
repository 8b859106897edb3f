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

// versions returns the inner backend's KeyVersions, or ends p with
// ErrUnsupported and returns that error.
func (o *observed) versions(p *op) (backend.KeyVersions, error) {
	kv, ok := o.inner.(backend.KeyVersions)
	if !ok {
		err := o.unsupported("key versions")
		p.end(err)
		return nil, err
	}
	return kv, nil
}

func (o *observed) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	ctx, p := o.begin(ctx, methodRotate, methodRotate, o.lookup(ctx, ref))
	kv, err := o.versions(p)
	if err != nil {
		return nil, err
	}
	k, err := kv.Rotate(ctx, ref)
	if err == nil {
		p.key = keyOf(k)
	}
	p.end(err)
	return k, err
}

func (o *observed) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	ctx, p := o.begin(ctx, methodVersions, methodVersions, o.lookup(ctx, ref))
	kv, err := o.versions(p)
	if err != nil {
		return nil, err
	}
	ks, err := kv.Versions(ctx, ref)
	p.end(err)
	return ks, err
}

func (o *observed) SetMinVersion(ctx context.Context, ref string, min int) error {
	ctx, p := o.begin(ctx, methodSetMinVersion, methodSetMinVersion, o.lookup(ctx, ref))
	kv, err := o.versions(p)
	if err != nil {
		return err
	}
	err = kv.SetMinVersion(ctx, ref, min)
	p.end(err)
	return err
}

func (o *observed) DeleteVersion(ctx context.Context, ref string, version int) error {
	ctx, p := o.begin(ctx, methodDeleteVersion, methodDeleteVersion, o.lookup(ctx, ref))
	kv, err := o.versions(p)
	if err != nil {
		return err
	}
	err = kv.DeleteVersion(ctx, ref, version)
	p.end(err)
	return err
}
