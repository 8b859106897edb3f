package software

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/keyplane/keyplane/backend"
)

var _ backend.KeyVersions = (*Keystore)(nil)

// A key's versions are separate entries (in a directory, separate file
// pairs) sharing its label, each with its own ID and a version number in
// its metadata; the highest is primary. "id:<hex>" names one version, the
// label names the primary. A key stored before versions existed has no
// version in its metadata and is version 1.

// versionsOf returns the entries labelled label, oldest version first.
func versionsOf(entries []*keyEntry, label string) []*keyEntry {
	var out []*keyEntry
	for _, e := range entries {
		if e.meta.Label == label {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *keyEntry) int { return cmp.Compare(a.meta.Version, b.meta.Version) })
	return out
}

// versionRef is the reference of one version: its ID.
func versionRef(e *keyEntry) string { return "id:" + e.meta.IDHex() }

// Rotate makes a new version of the key ref names, with fresh material of
// the same algorithm, and makes it primary. The new version inherits the
// key's minimum version.
func (ks *Keystore) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	priv, err := generate(e.meta.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("software: generating %s key: %v: %w", e.meta.Algorithm, err, backend.ErrUnavailable)
	}
	next, err := newEntry(e.meta.Label, e.meta.Algorithm, priv)
	if err != nil {
		return nil, err
	}
	if err := ks.st.add(ctx, next, true); err != nil {
		return nil, err
	}
	k := next.describe()
	k.URI = versionRef(next)
	return k, nil
}

// Versions lists the versions of the key ref names, oldest first; each
// Key's URI is "id:<hex>", which names that version.
func (ks *Keystore) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	entries, err := ks.st.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []*backend.Key
	for _, v := range versionsOf(entries, e.meta.Label) {
		k := v.describe()
		k.URI = versionRef(v)
		out = append(out, k)
	}
	return out, nil
}

// SetMinVersion sets the key's minimum version: versions below min no
// longer sign, decrypt, seal or open (backend.ErrKeyRetired), though Key
// and Versions still describe them and their public keys still verify.
// min may be lowered again while the versions exist. The check happens
// when a handle is obtained (Signer, Decrypter, AEAD, Fernet): a handle
// obtained before keeps working until the keystore is closed.
func (ks *Keystore) SetMinVersion(ctx context.Context, ref string, min int) error {
	_, primary, err := ks.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if min < 1 || min > primary.meta.Version {
		return fmt.Errorf("software: minimum version %d of key %q: want 1 to %d (its primary version): %w", min, primary.meta.Label, primary.meta.Version, backend.ErrInvalidInput)
	}
	return ks.st.setMin(ctx, primary, min)
}

// DeleteVersion removes one version of the key ref names. The primary
// version cannot be deleted (delete the key, or rotate first).
func (ks *Keystore) DeleteVersion(ctx context.Context, ref string, version int) error {
	e, primary, err := ks.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if version == primary.meta.Version {
		return fmt.Errorf("software: version %d is the primary version of key %q and cannot be deleted: %w", version, e.meta.Label, backend.ErrInvalidInput)
	}
	entries, err := ks.st.list(ctx)
	if err != nil {
		return err
	}
	for _, v := range versionsOf(entries, e.meta.Label) {
		if v.meta.Version == version {
			if err := ks.st.remove(ctx, v); err != nil {
				return err
			}
			v.forget()
			return nil
		}
	}
	return fmt.Errorf("software: key %q has no version %d: %w", e.meta.Label, version, backend.ErrNotFound)
}
