//go:build cgo && !nopkcs11

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

// Key returns the key that ref names: a label (its primary version),
// "id:<hex>", or a key URI.
func (b *Backend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	var k *keyObject
	err := b.withSession(ctx, func(s *session) (err error) {
		r, err := b.resolve(s, ref)
		if err != nil {
			return err
		}
		k, err = b.lookup(s, r)
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
	if err := b.checkOpen(); err != nil { // before any other check: a closed backend says so first
		return nil, err
	}
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
		// Group secret objects by label and ID (a fernet key is two; its
		// HMAC half's ID is fernetMACID of the key's).
		groups := map[string][]pkcs11.ObjectHandle{}
		var order []string
		queries := map[string]keyQuery{}
		for _, h := range secrets {
			a, err := b.attrs(s, h, pkcs11.CKA_LABEL, pkcs11.CKA_ID, pkcs11.CKA_KEY_TYPE)
			if err != nil {
				return err
			}
			id := a[pkcs11.CKA_ID]
			if ulong(a[pkcs11.CKA_KEY_TYPE]) == pkcs11.CKK_GENERIC_SECRET && bytes.HasSuffix(id, fernetMACSuffix) {
				id = id[:len(id)-len(fernetMACSuffix)]
			}
			key := string(a[pkcs11.CKA_LABEL]) + "\x00" + string(id)
			if _, ok := groups[key]; !ok {
				order = append(order, key)
				queries[key] = keyQuery{label: string(a[pkcs11.CKA_LABEL]), hasLabel: true, id: id}
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
		states, err := b.versionStates(s)
		if err != nil {
			return err
		}
		out = foldVersions(out, states)
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

// DeleteKey destroys the key's objects: both halves of a key pair and the
// certificate objects with its CKA_ID, both secrets of a fernet key; for
// a versioned key, those of every version, then its versions object.
func (b *Backend) DeleteKey(ctx context.Context, ref string) error {
	err := b.withSession(ctx, func(s *session) error {
		r, err := b.resolve(s, ref)
		if err != nil {
			return err
		}
		q, err := b.parseRef(r)
		if err != nil {
			return err
		}
		k, err := b.findKey(s, q)
		if err != nil {
			return err
		}
		v, err := b.versionOfKey(s, k)
		if err != nil {
			return err
		}
		if v.st == nil {
			if err := b.destroyKeyObjects(s, k); err != nil {
				return err
			}
			return b.destroyCerts(s, k) // certs.go: the key's certificates go with it
		}
		versions, err := b.versionsOf(s, v)
		if err != nil {
			return err
		}
		for _, vk := range versions {
			if err := b.destroyKeyObjects(s, vk); err != nil {
				return err
			}
			if err := b.destroyCerts(s, vk); err != nil {
				return err
			}
		}
		for _, h := range v.st.handles {
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

// destroyKeyObjects destroys a key's objects.
func (b *Backend) destroyKeyObjects(s *session, k *keyObject) error {
	destroyed := 0
	for _, h := range []pkcs11.ObjectHandle{k.priv, k.pubObj, k.secret, k.mac} {
		if h == 0 {
			continue
		}
		if err := b.p.DestroyObject(s.h, h); err != nil {
			return b.destroyFailed(s, k, h, destroyed, ckErr("C_DestroyObject", err))
		}
		destroyed++
	}
	return nil
}

// destroyFailed is DeleteKey's error when C_DestroyObject of h, an object
// of k, failed with err after destroyed of k's objects were gone. A code
// that can mean "not now" as well as "the token is gone"
// (CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR) is checked by reading the
// object on the same session: when that works, the token refused to
// destroy a key that is still there — tpm2-pkcs11 1.9 answers
// CKR_FUNCTION_FAILED for a key it counts as in use — and the error says
// so, wrapping ErrUnavailable without the CKR code, so that no recovery
// follows (withSession would reset every session and the key cache as
// after a dead device). Any other code, or a failed read, is returned as
// it is, for withSession to handle.
func (b *Backend) destroyFailed(s *session, k *keyObject, h pkcs11.ObjectHandle, destroyed int, err error) error {
	code := codeOf(err)
	if code != pkcs11.CKR_FUNCTION_FAILED && code != pkcs11.CKR_GENERAL_ERROR {
		return err
	}
	if _, rerr := b.p.GetAttributeValue(s.h, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil)}); rerr != nil {
		return err
	}
	what := "the key is still there, unchanged"
	if destroyed > 0 {
		what = fmt.Sprintf("%d of its objects are destroyed and the rest are still there (delete it again to finish)", destroyed)
	}
	return fmt.Errorf("pkcs11: token %q refuses to destroy key %q (%v) although the session works and the object is readable; %s: %w",
		b.tokenLabel(), k.label, err, what, backend.ErrUnavailable)
}

// labelTaken reports whether any object carries the label.
func (b *Backend) labelTaken(s *session, label string) (bool, error) {
	hs, err := b.findObjects(s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	if err != nil {
		return false, err
	}
	return len(hs) > 0, nil
}
