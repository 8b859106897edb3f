//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// Key versions on a token (docs/backends/pkcs11.md, "Key versions"):
//
//   - version 1 is the key as it always was: CKA_LABEL L, CKA_ID I;
//   - version n ≥ 2 is a key of the same type with CKA_LABEL "L/v<n>" and
//     CKA_ID I ‖ n (two bytes, big-endian); keyplane labels never contain
//     "/", so no key's own label looks like that;
//   - the primary and minimum versions are in a CKO_DATA object (token,
//     private) with CKA_APPLICATION "keyplane key versions", CKA_LABEL L
//     and a short text CKA_VALUE ("id=<hex of I> primary=<n> min=<m>");
//     a key without one is unversioned: version 1, primary.
//
// A plain label (or a key URI with object= and no id=) names the primary
// version; "id:<hex>" and a URI with id= name exactly one version object,
// as they do for crypto11 and pkcs11-tool.

var _ backend.KeyVersions = (*Backend)(nil)

const (
	versionsApplication = "keyplane key versions"
	maxKeyVersion       = 0xffff
)

// versionLabel and versionID are the CKA_LABEL and CKA_ID of version n of
// the key labelled label with CKA_ID id.
func versionLabel(label string, n int) string {
	if n == 1 {
		return label
	}
	return label + "/v" + strconv.Itoa(n)
}

func versionID(id []byte, n int) []byte {
	if n == 1 {
		return slices.Clone(id)
	}
	return binary.BigEndian.AppendUint16(slices.Clone(id), uint16(n))
}

// parseVersion reads an object's label and ID as a key version: the key's
// label and ID and the version number (1 for an object that is not a
// later version).
func parseVersion(label string, id []byte) (base string, baseID []byte, n int) {
	i := strings.LastIndex(label, "/v")
	if i <= 0 || len(id) < 3 {
		return label, id, 1
	}
	v, err := strconv.Atoi(label[i+2:])
	if err != nil || v < 2 || v > maxKeyVersion || strconv.Itoa(v) != label[i+2:] ||
		binary.BigEndian.Uint16(id[len(id)-2:]) != uint16(v) {
		return label, id, 1
	}
	return label[:i], id[:len(id)-2], v
}

// versionState is a key's CKO_DATA versions object.
type versionState struct {
	handles []pkcs11.ObjectHandle // normally one; two for a moment while it is rewritten
	id      []byte                // the key's CKA_ID (version 1's)
	primary int
	min     int
}

func (st *versionState) String() string {
	return fmt.Sprintf("id=%s primary=%d min=%d", hex.EncodeToString(st.id), st.primary, st.min)
}

func parseVersionState(value []byte) (*versionState, bool) {
	st := &versionState{}
	for _, f := range strings.Fields(string(value)) {
		name, v, _ := strings.Cut(f, "=")
		switch name {
		case "id":
			id, err := hex.DecodeString(v)
			if err != nil {
				return nil, false
			}
			st.id = id
		case "primary", "min":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxKeyVersion {
				return nil, false
			}
			if name == "primary" {
				st.primary = n
			} else {
				st.min = n
			}
		}
	}
	return st, st.primary >= 1 && st.id != nil
}

func versionStateTemplate(label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		attr(pkcs11.CKA_APPLICATION, versionsApplication),
		attr(pkcs11.CKA_LABEL, label),
	}
}

// readVersionState returns the versions object of the key labelled label,
// or nil when the key has none (or the session cannot see it).
func (b *Backend) readVersionState(s *session, label string) (*versionState, error) {
	hs, err := b.findObjects(s, versionStateTemplate(label))
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	var out *versionState
	for _, h := range hs {
		a, err := b.attrs(s, h, pkcs11.CKA_VALUE)
		if err != nil {
			return nil, err
		}
		st, ok := parseVersionState(a[pkcs11.CKA_VALUE])
		if !ok {
			continue
		}
		// Two objects only while a writer replaces one: the larger numbers
		// are the newer.
		if out == nil {
			out = st
		} else {
			out.primary, out.min = max(out.primary, st.primary), max(out.min, st.min)
		}
		out.handles = append(out.handles, h)
	}
	return out, nil
}

// writeVersionState stores st as the versions object of label: a new
// object, then the old ones destroyed (the API keyplane uses has no
// C_SetAttributeValue, and some tokens refuse to change CKA_VALUE).
func (b *Backend) writeVersionState(s *session, label string, st *versionState) error {
	value := attr(pkcs11.CKA_VALUE, []byte(st.String()))
	base := append(versionStateTemplate(label), attr(pkcs11.CKA_TOKEN, true), value)
	// The full template first; then without CKA_MODIFIABLE and, last,
	// public (CKA_PRIVATE false), for tokens that refuse those on data
	// objects.
	var h pkcs11.ObjectHandle
	var err error
	for _, extra := range [][]*pkcs11.Attribute{
		{attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_MODIFIABLE, true)},
		{attr(pkcs11.CKA_PRIVATE, true)},
		{attr(pkcs11.CKA_PRIVATE, false)},
	} {
		h, err = b.p.CreateObject(s.h, append(slices.Clone(base), extra...))
		if err = ckErr("C_CreateObject", err); err == nil || !templateRefused(codeOf(err)) {
			break
		}
	}
	if err != nil {
		if code := codeOf(err); templateRefused(code) || code == pkcs11.CKR_FUNCTION_NOT_SUPPORTED {
			return fmt.Errorf("pkcs11: token %q refuses the data object that records key versions (%v): %w", b.tokenLabel(), err, backend.ErrUnsupported)
		}
		return err
	}
	for _, old := range st.handles {
		if err := b.p.DestroyObject(s.h, old); err != nil {
			return ckErr("C_DestroyObject", err)
		}
	}
	st.handles = []pkcs11.ObjectHandle{h}
	return nil
}

// versionOf is what a key object is as a key version: the key's label,
// its versions object (nil when unversioned) and the object's version.
type versionOf struct {
	label string
	id    []byte
	st    *versionState
	n     int
}

func (v versionOf) primary() int {
	if v.st == nil {
		return 1
	}
	return v.st.primary
}

func (v versionOf) min() int {
	if v.st == nil {
		return 0
	}
	return v.st.min
}

func (b *Backend) versionOfKey(s *session, k *keyObject) (versionOf, error) {
	label, id, n := parseVersion(k.label, k.id)
	st, err := b.readVersionState(s, label)
	if err != nil {
		return versionOf{}, err
	}
	if st != nil && !bytes.Equal(st.id, id) {
		st = nil // another key's record (a key made again under the label)
	}
	return versionOf{label: label, id: id, st: st, n: n}, nil
}

// plainLabel returns the label ref names when it names a key by label
// alone (a label, or a key URI with object= and no id=).
func (b *Backend) plainLabel(ref string) (string, bool) {
	q, err := b.parseRef(ref)
	if err != nil || !q.hasLabel || q.id != nil {
		return "", false
	}
	return q.label, true
}

// resolve returns the reference of the key version ref names: for a plain
// label of a versioned key, its primary version's URI; otherwise ref.
func (b *Backend) resolve(s *session, ref string) (string, error) {
	label, ok := b.plainLabel(ref)
	if !ok {
		return ref, nil
	}
	st, err := b.readVersionState(s, label)
	if err != nil || st == nil || st.primary == 1 {
		return ref, err
	}
	u := URI{Token: b.tokenLabel(), Object: versionLabel(label, st.primary), ID: versionID(st.id, st.primary)}
	return u.String(), nil
}

// usableKey returns the key version ref names and a reference that keeps
// naming that version (for the handle), refusing a retired version.
func (b *Backend) usableKey(ctx context.Context, ref string) (*keyObject, string, error) {
	var k *keyObject
	err := b.withSession(ctx, func(s *session) (err error) {
		if ref, err = b.resolve(s, ref); err != nil {
			return err
		}
		if k, err = b.lookup(s, ref); err != nil {
			return err
		}
		v, err := b.versionOfKey(s, k)
		if err != nil {
			return err
		}
		if v.n < v.min() {
			return fmt.Errorf("pkcs11: key %q version %d is below its minimum version %d: %w", v.label, v.n, v.min(), backend.ErrKeyRetired)
		}
		return nil
	})
	return k, ref, err
}

// Rotate makes a new version of the key ref names — a key of the same
// type (wrappable when the key is) with the label "<label>/v<n>" and
// CKA_ID "<id> ‖ n" — and makes it
// primary in the key's versions object (created on the first rotation).
// A token that refuses data objects gives ErrUnsupported, before any key
// is made.
func (b *Backend) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	var k *keyObject
	err := b.withSession(ctx, func(s *session) error {
		r, err := b.resolve(s, ref)
		if err != nil {
			return err
		}
		cur, err := b.lookup(s, r)
		if err != nil {
			return err
		}
		v, err := b.versionOfKey(s, cur)
		if err != nil {
			return err
		}
		st := v.st
		if st == nil {
			// Record version 1 as primary first: a token that refuses
			// the record refuses before a key is made.
			st = &versionState{id: slices.Clone(v.id), primary: 1}
			if err := b.writeVersionState(s, v.label, st); err != nil {
				return err
			}
		}
		n := st.primary + 1
		for ; n <= maxKeyVersion; n++ { // skip what a failed rotation left
			taken, err := b.labelTaken(s, versionLabel(v.label, n))
			if err != nil {
				return err
			}
			if !taken {
				break
			}
		}
		if n > maxKeyVersion {
			return fmt.Errorf("pkcs11: key %q has reached version %d: %w", v.label, maxKeyVersion, backend.ErrUnsupported)
		}
		wrappable, err := b.wrappableKey(s, cur)
		if err != nil {
			return err
		}
		nk, err := b.generateObjects(s, backend.KeySpec{Label: versionLabel(v.label, n), Algorithm: cur.alg, Wrappable: wrappable}, versionID(v.id, n))
		if err != nil {
			return err
		}
		next := *st
		next.primary = n
		if err := b.writeVersionState(s, v.label, &next); err != nil {
			_ = b.destroyKeyObjects(s, nk)
			return err
		}
		k = nk
		return nil
	})
	b.keys.clear()
	if err != nil {
		return nil, fmt.Errorf("pkcs11: rotate %s: %w", ref, err)
	}
	return k.info(b.tokenLabel()), nil
}

// wrappableKey reports whether k was made wrappable (KeySpec.Wrappable:
// CKA_WRAP_WITH_TRUSTED true), so that its next version is made alike.
func (b *Backend) wrappableKey(s *session, k *keyObject) (bool, error) {
	h := k.priv
	if h == 0 {
		h = k.secret
	}
	a, err := b.p.GetAttributeValue(s.h, h, []*pkcs11.Attribute{attr(pkcs11.CKA_WRAP_WITH_TRUSTED, nil)})
	if err != nil {
		if codeOf(ckErr("C_GetAttributeValue", err)) == pkcs11.CKR_ATTRIBUTE_TYPE_INVALID {
			return false, nil // a token without the attribute made no wrappable key
		}
		return false, ckErr("C_GetAttributeValue", err)
	}
	return len(a) == 1 && boolAttr(a[0].Value), nil
}

// versionsOf finds the objects of every version of the key whose
// version is v, oldest first.
func (b *Backend) versionsOf(s *session, v versionOf) ([]*keyObject, error) {
	var out []*keyObject
	for n := 1; n <= v.primary(); n++ {
		k, err := b.findKey(s, keyQuery{label: versionLabel(v.label, n), hasLabel: true, id: versionID(v.id, n), class: anyClass})
		if backend.Kind(err) == backend.ErrNotFound {
			continue // deleted
		}
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// keyVersions finds the key ref names and its version record.
func (b *Backend) keyVersions(s *session, ref string) (versionOf, error) {
	r, err := b.resolve(s, ref)
	if err != nil {
		return versionOf{}, err
	}
	k, err := b.lookup(s, r)
	if err != nil {
		return versionOf{}, err
	}
	return b.versionOfKey(s, k)
}

// Versions lists the key's versions, oldest first; each Key's URI names
// its version's objects by label and ID.
func (b *Backend) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	var out []*backend.Key
	err := b.withSession(ctx, func(s *session) error {
		v, err := b.keyVersions(s, ref)
		if err != nil {
			return err
		}
		ks, err := b.versionsOf(s, v)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, k := range ks {
			out = append(out, k.info(b.tokenLabel()))
		}
		return nil
	})
	return out, err
}

// SetMinVersion records the key's minimum version in its versions object
// (creating it for an unversioned key, whose only valid minimum is 1).
func (b *Backend) SetMinVersion(ctx context.Context, ref string, min int) error {
	err := b.withSession(ctx, func(s *session) error {
		v, err := b.keyVersions(s, ref)
		if err != nil {
			return err
		}
		if min < 1 || min > v.primary() {
			return fmt.Errorf("pkcs11: minimum version %d of key %q: want 1 to %d (its primary version): %w", min, v.label, v.primary(), backend.ErrInvalidInput)
		}
		st := v.st
		if st == nil {
			st = &versionState{id: slices.Clone(v.id), primary: 1}
		}
		next := *st
		next.min = min
		return b.writeVersionState(s, v.label, &next)
	})
	b.keys.clear()
	return err
}

// DeleteVersion destroys the objects of one version (never the primary).
func (b *Backend) DeleteVersion(ctx context.Context, ref string, version int) error {
	err := b.withSession(ctx, func(s *session) error {
		v, err := b.keyVersions(s, ref)
		if err != nil {
			return err
		}
		if version == v.primary() {
			return fmt.Errorf("pkcs11: version %d is the primary version of key %q and cannot be deleted: %w", version, v.label, backend.ErrInvalidInput)
		}
		if version < 1 || version > v.primary() {
			return fmt.Errorf("pkcs11: key %q has no version %d: %w", v.label, version, backend.ErrNotFound)
		}
		k, err := b.findKey(s, keyQuery{label: versionLabel(v.label, version), hasLabel: true, id: versionID(v.id, version), class: anyClass})
		if err != nil {
			return err
		}
		return b.destroyKeyObjects(s, k)
	})
	b.keys.clear()
	return err
}

// foldVersions keeps, of the keys Keys found, one per versioned key: its
// primary version. states are the versions objects by label.
func foldVersions(keys []*backend.Key, states map[string]*versionState) []*backend.Key {
	out := keys[:0]
	for _, k := range keys {
		st := states[k.Label]
		if st != nil && !bytes.Equal(st.id, idOfVersion(k)) {
			st = nil // another key's record
		}
		primary := 1
		if st != nil {
			primary = st.primary
		}
		if k.Version == primary {
			out = append(out, k)
		}
	}
	return out
}

// idOfVersion is the key's CKA_ID (version 1's) from a version's ID.
func idOfVersion(k *backend.Key) []byte {
	if k.Version <= 1 || len(k.ID) < 2 {
		return k.ID
	}
	return k.ID[:len(k.ID)-2]
}

// versionStates reads every versions object on the token, by label.
func (b *Backend) versionStates(s *session) (map[string]*versionState, error) {
	hs, err := b.findObjects(s, []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_DATA), attr(pkcs11.CKA_APPLICATION, versionsApplication)})
	if err != nil {
		return nil, err
	}
	out := map[string]*versionState{}
	for _, h := range hs {
		a, err := b.attrs(s, h, pkcs11.CKA_LABEL, pkcs11.CKA_VALUE)
		if err != nil {
			return nil, err
		}
		st, ok := parseVersionState(a[pkcs11.CKA_VALUE])
		if !ok {
			continue
		}
		label := string(a[pkcs11.CKA_LABEL])
		if o := out[label]; o != nil {
			st.primary, st.min = max(o.primary, st.primary), max(o.min, st.min)
		}
		out[label] = st
	}
	return out, nil
}
