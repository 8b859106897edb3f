//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// Key returns the key that ref names: a label, "id:<hex>", or a key URI.
func (b *Backend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	var k *keyObject
	err := b.withSession(ctx, func(s *session) (err error) {
		k, err = b.lookup(s, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return k.info(b.tokenLabel()), nil
}

func (b *Backend) tokenLabel() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.token.Label
}

// Keys lists the token's key pairs (by their private key objects) and
// secret keys that keyplane can use, sorted by label. Keys of types or
// sizes keyplane does not support are left out.
func (b *Backend) Keys(ctx context.Context) ([]*backend.Key, error) {
	if !b.hasPIN && b.loginRequired() {
		return nil, fmt.Errorf("pkcs11: token %q requires a login to list its private keys and the URI gives no PIN (add pin-source=file:/path): %w", b.tokenLabel(), backend.ErrAuthentication)
	}
	var out []*backend.Key
	tok := b.tokenLabel()
	err := b.withSession(ctx, func(s *session) error {
		out = out[:0]
		privs, err := b.findObjects(s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)})
		if err != nil {
			return err
		}
		for _, h := range privs {
			k, err := b.readKeyPair(s, h)
			if err != nil {
				if backend.Kind(err) == backend.ErrUnsupported || backend.Kind(err) == backend.ErrInvalidInput {
					continue
				}
				return err
			}
			out = append(out, k.info(tok))
		}
		secrets, err := b.findObjects(s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY)})
		if err != nil {
			return err
		}
		// Group secret objects by label and ID (a fernet key is two).
		groups := map[string][]pkcs11.ObjectHandle{}
		var order []string
		queries := map[string]keyQuery{}
		for _, h := range secrets {
			a, err := b.attrs(s, h, pkcs11.CKA_LABEL, pkcs11.CKA_ID)
			if err != nil {
				return err
			}
			key := string(a[pkcs11.CKA_LABEL]) + "\x00" + string(a[pkcs11.CKA_ID])
			if _, ok := groups[key]; !ok {
				order = append(order, key)
				queries[key] = keyQuery{label: string(a[pkcs11.CKA_LABEL]), hasLabel: true, id: a[pkcs11.CKA_ID]}
			}
			groups[key] = append(groups[key], h)
		}
		for _, key := range order {
			k, err := b.readSecret(s, queries[key], groups[key])
			if err != nil {
				if backend.Kind(err) == backend.ErrUnsupported || backend.Kind(err) == backend.ErrInvalidInput {
					continue
				}
				return err
			}
			out = append(out, k.info(tok))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(x, y *backend.Key) int {
		if c := strings.Compare(x.Label, y.Label); c != 0 {
			return c
		}
		return bytes.Compare(x.ID, y.ID)
	})
	return out, nil
}

// DeleteKey destroys the key's objects: both halves of a key pair, both
// secrets of a fernet key.
func (b *Backend) DeleteKey(ctx context.Context, ref string) error {
	err := b.withSession(ctx, func(s *session) error {
		q, err := b.parseRef(ref)
		if err != nil {
			return err
		}
		k, err := b.findKey(s, q)
		if err != nil {
			return err
		}
		for _, h := range []pkcs11.ObjectHandle{k.priv, k.pubObj, k.secret, k.mac} {
			if h == 0 {
				continue
			}
			if err := b.p.DestroyObject(s.h, h); err != nil {
				return ckErr("C_DestroyObject", err)
			}
		}
		return nil
	})
	b.keys.clear()
	if err != nil {
		return fmt.Errorf("pkcs11: delete %s: %w", ref, err)
	}
	return nil
}

// labelTaken reports whether any object carries the label.
func (b *Backend) labelTaken(s *session, label string) (bool, error) {
	hs, err := b.findObjects(s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	if err != nil {
		return false, err
	}
	return len(hs) > 0, nil
}
