//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// keyObject is what the backend knows about one key: its token objects'
// handles and its public half, cached so that an operation costs only the
// operation's own calls.
type keyObject struct {
	label string
	id    []byte
	alg   backend.Algorithm
	pub   crypto.PublicKey

	priv       pkcs11.ObjectHandle // private key (key pairs)
	pubObj     pkcs11.ObjectHandle // public key object, 0 when there is none
	secret     pkcs11.ObjectHandle // AES key (aes-256; the AES-128 half of fernet)
	mac        pkcs11.ObjectHandle // HMAC key (fernet)
	canDecrypt bool                // CKA_DECRYPT of the private key
	alwaysAuth bool                // CKA_ALWAYS_AUTHENTICATE of the private key (alwaysauth.go)
}

// info describes the key. A later version of a key (see versions.go) is
// described by the key's label and its version number; its URI names the
// version's own objects.
func (k *keyObject) info(tokenLabel string) *backend.Key {
	u := URI{Token: tokenLabel, Object: k.label, ID: k.id}
	label, _, n := parseVersion(k.label, k.id)
	return &backend.Key{ID: slices.Clone(k.id), Label: label, Algorithm: k.alg, Public: k.pub, URI: u.String(), Version: n}
}

// keyCache maps key references to found keys. stale marks every entry as
// needing its handles found again (after a stale handle, a fresh login or
// a recovery); the entry's label, ID and type still say what to look for.
type keyCache struct {
	mu  sync.RWMutex
	m   map[string]cachedKey
	gen uint64
}

type cachedKey struct {
	k   *keyObject
	gen uint64
}

// get returns the entry for ref and whether its handles are current.
func (c *keyCache) get(ref string) (*keyObject, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[ref]
	if !ok {
		return nil, false
	}
	return e.k, e.gen == c.gen
}

func (c *keyCache) put(ref string, k *keyObject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedKey{}
	}
	c.m[ref] = cachedKey{k, c.gen}
}

func (c *keyCache) stale() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
}

func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// keyQuery is a parsed key reference.
type keyQuery struct {
	label    string
	hasLabel bool
	id       []byte
	class    uint // CKO_PRIVATE_KEY or CKO_SECRET_KEY when the URI's type says; else anyClass
}

const anyClass = ^uint(0)

func (q keyQuery) String() string {
	switch {
	case q.hasLabel && q.id != nil:
		return fmt.Sprintf("label %q id %x", q.label, q.id)
	case q.id != nil:
		return "id:" + hex.EncodeToString(q.id)
	}
	return fmt.Sprintf("%q", q.label)
}

// parseRef reads a label, "id:<hex>", or a key URI.
func (b *Backend) parseRef(ref string) (keyQuery, error) {
	q := keyQuery{class: anyClass}
	if !strings.HasPrefix(ref, scheme) {
		r, err := backend.ParseKeyRef(ref)
		if err != nil {
			return q, err
		}
		q.label, q.hasLabel, q.id = r.Label, r.ID == nil, r.ID
		return q, nil
	}
	u, err := ParseURI(ref)
	if err != nil {
		return q, err
	}
	b.mu.Lock()
	tok := b.token
	b.mu.Unlock()
	if u.Token != "" && u.Token != tok.Label || u.Serial != "" && u.Serial != tok.SerialNumber ||
		u.Manufacturer != "" && u.Manufacturer != tok.ManufacturerID || u.Model != "" && u.Model != tok.Model {
		return q, fmt.Errorf("pkcs11: key URI %s names another token than %q: %w", u, tok.Label, backend.ErrNotFound)
	}
	if u.Object == "" && u.ID == nil {
		return q, fmt.Errorf("pkcs11: key URI %s has neither object= nor id=: %w", u, backend.ErrInvalidInput)
	}
	q.label, q.hasLabel, q.id = u.Object, u.Object != "", u.ID
	switch u.Type {
	case "", "private", "public":
		if u.Type != "" {
			q.class = pkcs11.CKO_PRIVATE_KEY
		}
	case "secret-key":
		q.class = pkcs11.CKO_SECRET_KEY
	default:
		return q, fmt.Errorf("pkcs11: key URI %s: type=%s objects are not keys: %w", u, u.Type, backend.ErrUnsupported)
	}
	return q, nil
}

// lookup returns the key ref names: from the cache, or found with s. A
// stale cache entry is refreshed with one search for its objects.
func (b *Backend) lookup(s *session, ref string) (*keyObject, error) {
	k, fresh := b.keys.get(ref)
	if k != nil && fresh {
		return k, nil
	}
	var err error
	if k != nil {
		k, err = b.refresh(s, k)
	} else {
		var q keyQuery
		if q, err = b.parseRef(ref); err == nil {
			k, err = b.findKey(s, q)
		}
	}
	if err != nil {
		return nil, err
	}
	b.keys.put(ref, k)
	return k, nil
}

// refresh finds the objects of a known key again by label, ID and class:
// one search for a key pair's private key, one for a secret key's objects.
func (b *Backend) refresh(s *session, old *keyObject) (*keyObject, error) {
	k, err := b.refreshOnce(s, old, true)
	if err == errSearchAgain {
		k, err = b.refreshOnce(s, old, false)
	}
	return k, err
}

func (b *Backend) refreshOnce(s *session, old *keyObject, first bool) (*keyObject, error) {
	gen := b.loginGen.Load()
	q := keyQuery{label: old.label, hasLabel: true, id: old.id}
	if old.priv == 0 {
		hs, err := b.findObjects(s, q.template(pkcs11.CKO_SECRET_KEY))
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 {
			return nil, b.notFound(s, q, gen, first)
		}
		return b.readSecret(s, q, hs)
	}
	hs, err := b.findObjects(s, q.template(pkcs11.CKO_PRIVATE_KEY))
	if err != nil {
		return nil, err
	}
	switch len(hs) {
	case 0:
		return nil, b.notFound(s, q, gen, first)
	case 1:
		k := *old
		k.priv, k.pubObj = hs[0], 0 // DeleteKey finds the public object again
		return &k, nil
	}
	return b.findKey(s, q) // several: findKey says so
}

// errSearchAgain: a search found nothing, but the login state may have
// changed under it; search once more.
var errSearchAgain = errors.New("pkcs11: search again")

// notFound is the error for a key that no search finds. Private objects
// are invisible without a login, and the application's login can change
// under a search (a C_Logout elsewhere in the process, a token timeout,
// another backend logging in again), so with a PIN: when this session is
// logged out, or this backend logged in again since the search began
// (gen), it is CKR_USER_NOT_LOGGED_IN (withSession logs in and retries);
// when the session is logged in, the first time, errSearchAgain; else
// ErrNotFound. Without a PIN, on a token that requires a login, it is
// ErrAuthentication.
func (b *Backend) notFound(s *session, q keyQuery, gen uint64, first bool) error {
	if !b.hasPIN {
		if b.loginRequired() {
			return fmt.Errorf("pkcs11: key %s: token %q requires a login to reach private keys and the URI gives no PIN (add pin-source=file:/path): %w", q, b.tokenLabel(), backend.ErrAuthentication)
		}
		return fmt.Errorf("pkcs11: key %s: %w", q, backend.ErrNotFound)
	}
	notLoggedIn := fmt.Errorf("pkcs11: key %s: %w", q, &Error{Func: "C_FindObjects", Code: pkcs11.CKR_USER_NOT_LOGGED_IN})
	if b.loginGen.Load() != gen {
		return notLoggedIn
	}
	info, err := b.p.GetSessionInfo(s.h)
	switch {
	case err != nil:
		return ckErr("C_GetSessionInfo", err)
	case info.State == pkcs11.CKS_RW_PUBLIC_SESSION || info.State == pkcs11.CKS_RO_PUBLIC_SESSION:
		return notLoggedIn
	case first:
		return errSearchAgain
	}
	return fmt.Errorf("pkcs11: key %s: %w", q, backend.ErrNotFound)
}

func (q keyQuery) template(class uint) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)}
	if q.hasLabel {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_LABEL, q.label))
	}
	if q.id != nil {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_ID, q.id))
	}
	return t
}

// findObjects returns every object matching the template.
func (b *Backend) findObjects(s *session, t []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := b.p.FindObjectsInit(s.h, t); err != nil {
		return nil, ckErr("C_FindObjectsInit", err)
	}
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := b.p.FindObjects(s.h, 64)
		if err != nil {
			_ = b.p.FindObjectsFinal(s.h)
			return nil, ckErr("C_FindObjects", err)
		}
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	if err := b.p.FindObjectsFinal(s.h); err != nil {
		return nil, ckErr("C_FindObjectsFinal", err)
	}
	return all, nil
}

// findKey finds the one key matching q: a private key (with its public
// object) or a secret key (for fernet, the pair of secret objects).
func (b *Backend) findKey(s *session, q keyQuery) (*keyObject, error) {
	k, err := b.findKeyOnce(s, q, true)
	if err == errSearchAgain {
		k, err = b.findKeyOnce(s, q, false)
	}
	return k, err
}

func (b *Backend) findKeyOnce(s *session, q keyQuery, first bool) (*keyObject, error) {
	gen := b.loginGen.Load()
	var privs, secrets []pkcs11.ObjectHandle
	var err error
	if q.class != pkcs11.CKO_SECRET_KEY {
		if privs, err = b.findObjects(s, q.template(pkcs11.CKO_PRIVATE_KEY)); err != nil {
			return nil, err
		}
	}
	if q.class != pkcs11.CKO_PRIVATE_KEY {
		if secrets, err = b.findObjects(s, q.template(pkcs11.CKO_SECRET_KEY)); err != nil {
			return nil, err
		}
	}
	switch {
	case len(privs) == 0 && len(secrets) == 0:
		return nil, b.notFound(s, q, gen, first)
	case len(privs) > 1, len(privs) == 1 && len(secrets) > 0:
		return nil, fmt.Errorf("pkcs11: key %s: %d keys match; name one by id: %w", q, len(privs)+len(secrets), backend.ErrInvalidInput)
	case len(privs) == 1:
		return b.readKeyPair(s, privs[0])
	}
	return b.readSecret(s, q, secrets)
}

// attrs reads attributes of an object into a map by type.
func (b *Backend) attrs(s *session, o pkcs11.ObjectHandle, types ...uint) (map[uint][]byte, error) {
	t := make([]*pkcs11.Attribute, len(types))
	for i, typ := range types {
		t[i] = pkcs11.NewAttribute(typ, nil)
	}
	got, err := b.p.GetAttributeValue(s.h, o, t)
	if err != nil {
		return nil, ckErr("C_GetAttributeValue", err)
	}
	m := make(map[uint][]byte, len(got))
	for _, a := range got {
		m[a.Type] = a.Value
	}
	return m, nil
}

// ulong decodes a CK_ULONG attribute value (native byte order, as miekg
// encodes it).
func ulong(v []byte) uint {
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v))
	case 4:
		return uint(binary.NativeEndian.Uint32(v))
	}
	return ^uint(0)
}

func boolAttr(v []byte) bool { return len(v) == 1 && v[0] != 0 }

// readKeyPair reads a private key object and its public half.
func (b *Backend) readKeyPair(s *session, priv pkcs11.ObjectHandle) (*keyObject, error) {
	a, err := b.attrs(s, priv, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_ID, pkcs11.CKA_LABEL, pkcs11.CKA_DECRYPT)
	if err != nil {
		return nil, err
	}
	k := &keyObject{priv: priv, label: string(a[pkcs11.CKA_LABEL]), id: a[pkcs11.CKA_ID], canDecrypt: boolAttr(a[pkcs11.CKA_DECRYPT]),
		alwaysAuth: b.readAlwaysAuth(s, priv)}
	// The public object shares CKA_ID (or, without one, the label).
	q := keyQuery{id: k.id}
	if len(k.id) == 0 {
		q = keyQuery{label: k.label, hasLabel: true}
	}
	pubs, err := b.findObjects(s, q.template(pkcs11.CKO_PUBLIC_KEY))
	if err != nil {
		return nil, err
	}
	if len(pubs) > 0 {
		k.pubObj = pubs[0]
	}
	src := k.pubObj
	switch ktype := ulong(a[pkcs11.CKA_KEY_TYPE]); ktype {
	case pkcs11.CKK_RSA:
		if src == 0 {
			src = priv // CKA_MODULUS and CKA_PUBLIC_EXPONENT are readable on the private key
		}
		v, err := b.attrs(s, src, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			return nil, err
		}
		e := new(big.Int).SetBytes(v[pkcs11.CKA_PUBLIC_EXPONENT])
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("pkcs11: key %q: RSA public exponent out of range: %w", k.label, backend.ErrUnsupported)
		}
		k.pub = &rsa.PublicKey{N: new(big.Int).SetBytes(v[pkcs11.CKA_MODULUS]), E: int(e.Int64())}
	case pkcs11.CKK_EC, ckkECEdwards, ckkECMontgomery:
		if src == 0 {
			return nil, fmt.Errorf("pkcs11: key %q: no public key object with its CKA_ID: %w", k.label, backend.ErrUnsupported)
		}
		v, err := b.attrs(s, src, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_EC_POINT)
		if err != nil {
			return nil, err
		}
		if k.pub, err = parseECPublic(ktype, v[pkcs11.CKA_EC_PARAMS], v[pkcs11.CKA_EC_POINT]); err != nil {
			return nil, fmt.Errorf("pkcs11: key %q: %w", k.label, err)
		}
	default:
		return nil, fmt.Errorf("pkcs11: key %q: key type 0x%x: %w", k.label, ktype, backend.ErrUnsupported)
	}
	if _, ok := k.pub.(*ecdh.PublicKey); ok {
		k.alg = backend.X25519 // parseECPublic makes no other ecdh key
		return k, nil
	}
	if k.alg, err = backend.AlgorithmOf(k.pub); err != nil {
		return nil, fmt.Errorf("pkcs11: key %q: %w", k.label, err)
	}
	return k, nil
}

// readSecret classifies the secret objects matching a query: one AES-256
// key, or a fernet pair (an AES-128 key and a generic secret with one
// label). The HMAC half's CKA_ID is fernetMACID of the AES half's, or (a
// pair made by older keyplane versions) the same; when the query found
// the AES half alone, the HMAC half is looked up by label and its ID.
func (b *Backend) readSecret(s *session, q keyQuery, hs []pkcs11.ObjectHandle) (*keyObject, error) {
	k := &keyObject{}
	var macID []byte
	lenUnknown := false // an AES object without CKA_VALUE_LEN
	for i, h := range hs {
		a, err := b.secretAttrs(s, h)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			k.label = string(a[pkcs11.CKA_LABEL])
		} else if k.label != string(a[pkcs11.CKA_LABEL]) {
			return nil, fmt.Errorf("pkcs11: key %s: %d secret keys match; name one by id: %w", q, len(hs), backend.ErrInvalidInput)
		}
		switch ulong(a[pkcs11.CKA_KEY_TYPE]) {
		case pkcs11.CKK_AES:
			if k.secret != 0 {
				return nil, fmt.Errorf("pkcs11: key %s: several AES keys match; name one by id: %w", q, backend.ErrInvalidInput)
			}
			k.secret, k.id = h, a[pkcs11.CKA_ID]
			v := a[pkcs11.CKA_VALUE_LEN]
			if len(v) == 0 {
				lenUnknown = true
				continue
			}
			switch ulong(v) {
			case 32:
				k.alg = backend.AES256
			case 0:
				// No AES key is 0 bytes long: this is one that
				// SoftHSM2 2.6.1 unwrapped (C_UnwrapKey sets CKA_VALUE
				// but not CKA_VALUE_LEN, and refuses it in the
				// template). keyplane unwraps aes-256 keys only
				// (UnwrapKey, wrap.go).
				k.alg = backend.AES256
			case 16:
				k.alg = backend.Fernet
			default:
				return nil, fmt.Errorf("pkcs11: key %s: AES key of %d bytes (keyplane uses AES-256): %w", q, ulong(a[pkcs11.CKA_VALUE_LEN]), backend.ErrUnsupported)
			}
		case pkcs11.CKK_GENERIC_SECRET:
			if k.mac != 0 {
				return nil, fmt.Errorf("pkcs11: key %s: several generic secrets match; name one by id: %w", q, backend.ErrInvalidInput)
			}
			k.mac, macID = h, a[pkcs11.CKA_ID]
		default:
			return nil, fmt.Errorf("pkcs11: key %s: secret key type 0x%x: %w", q, ulong(a[pkcs11.CKA_KEY_TYPE]), backend.ErrUnsupported)
		}
	}
	if k.secret != 0 && k.mac == 0 && (lenUnknown || k.alg == backend.Fernet) {
		// The AES half alone: its HMAC half has its own CKA_ID.
		mac, err := b.fernetMACHalf(s, k)
		switch {
		case err == nil:
			k.mac, macID = mac, fernetMACID(k.id)
		case lenUnknown && backend.Kind(err) == backend.ErrUnsupported:
			// No HMAC half: an AES key alone (below).
		default:
			return nil, err
		}
	}
	if lenUnknown {
		// The AES half of a fernet pair (an AES key with a generic
		// secret of the same label) is AES-128 by construction; an AES
		// key alone of unknown length cannot be told from AES-128, so it
		// is not taken for aes-256.
		if k.mac == 0 {
			return nil, fmt.Errorf("pkcs11: key %s: AES key whose length the token does not report (no CKA_VALUE_LEN): %w", q, backend.ErrUnsupported)
		}
		k.alg = backend.Fernet
	}
	switch {
	case k.alg == backend.AES256 && k.mac == 0:
	case k.alg == backend.Fernet && k.mac != 0 && (bytes.Equal(macID, k.id) || bytes.Equal(macID, fernetMACID(k.id))):
	case k.alg == backend.Fernet && k.mac != 0:
		return nil, fmt.Errorf("pkcs11: key %s: %d secret keys match; name one by id: %w", q, len(hs), backend.ErrInvalidInput)
	default:
		return nil, fmt.Errorf("pkcs11: key %s: secret objects that are neither an AES-256 key nor a fernet pair: %w", q, backend.ErrUnsupported)
	}
	return k, nil
}

// secretAttrs reads what readSecret needs of a secret key object:
// CKA_KEY_TYPE, CKA_ID, CKA_LABEL and CKA_VALUE_LEN, the last left out of
// the map when the object has none. opencryptoki 3.8 gives an AES key
// made with C_CreateObject (an imported key) no CKA_VALUE_LEN: reading it
// is CKR_ATTRIBUTE_TYPE_INVALID, and miekg/pkcs11 then returns no
// attribute at all, so the others are read again without it.
func (b *Backend) secretAttrs(s *session, h pkcs11.ObjectHandle) (map[uint][]byte, error) {
	a, err := b.attrs(s, h, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_VALUE_LEN, pkcs11.CKA_ID, pkcs11.CKA_LABEL)
	if codeOf(err) != pkcs11.CKR_ATTRIBUTE_TYPE_INVALID {
		return a, err
	}
	return b.attrs(s, h, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_ID, pkcs11.CKA_LABEL)
}

// fernetMACHalf finds the HMAC half of the fernet key whose AES half is k:
// the one generic secret with k's label and fernetMACID(k.id).
func (b *Backend) fernetMACHalf(s *session, k *keyObject) (pkcs11.ObjectHandle, error) {
	q := keyQuery{label: k.label, hasLabel: true, id: fernetMACID(k.id)}
	hs, err := b.findObjects(s, q.template(pkcs11.CKO_SECRET_KEY))
	if err != nil {
		return 0, err
	}
	if len(hs) == 1 {
		a, err := b.attrs(s, hs[0], pkcs11.CKA_KEY_TYPE)
		if err != nil {
			return 0, err
		}
		if ulong(a[pkcs11.CKA_KEY_TYPE]) == pkcs11.CKK_GENERIC_SECRET {
			return hs[0], nil
		}
	}
	return 0, fmt.Errorf("pkcs11: key %q: an AES-128 key without its fernet HMAC half (%d objects with label %q and CKA_ID %x): %w",
		k.label, len(hs), k.label, q.id, backend.ErrUnsupported)
}

// Curve object identifiers, as CKA_EC_PARAMS holds them (DER).
var (
	oidP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521    = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidX25519  = asn1.ObjectIdentifier{1, 3, 101, 110} // RFC 8410
)

func ecParams(alg backend.Algorithm) []byte {
	var oid asn1.ObjectIdentifier
	switch alg {
	case backend.ECP256:
		oid = oidP256
	case backend.ECP384:
		oid = oidP384
	case backend.ECP521:
		oid = oidP521
	case backend.Ed25519:
		oid = oidEd25519
	case backend.X25519:
		oid = oidX25519
	default:
		return nil
	}
	der, _ := asn1.Marshal(oid) // cannot fail for a valid OID
	return der
}

// parseECPublic reads CKA_EC_PARAMS and CKA_EC_POINT. The point is a DER
// OCTET STRING (as PKCS#11 says) or, from some tokens, the raw bytes.
func parseECPublic(ktype uint, params, point []byte) (crypto.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	var printable string
	if _, err := asn1.Unmarshal(params, &oid); err != nil {
		if _, err2 := asn1.Unmarshal(params, &printable); err2 != nil {
			return nil, fmt.Errorf("CKA_EC_PARAMS is neither an OID nor a curve name: %w", backend.ErrUnsupported)
		}
	}
	raw := point
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		raw = inner
	} else if shortFormOctetString(point) {
		raw = point[2:]
	}
	if oid.Equal(oidX25519) || printable == "curve25519" {
		if ktype != ckkECEdwards && ktype != ckkECMontgomery {
			return nil, fmt.Errorf("X25519 curve on key type 0x%x: %w", ktype, backend.ErrUnsupported)
		}
		return parseX25519Point(raw, point)
	}
	if ktype == ckkECMontgomery {
		return nil, fmt.Errorf("unsupported Montgomery curve %v%s (only X25519 is supported): %w", oid, printable, backend.ErrUnsupported)
	}
	if ktype == ckkECEdwards {
		if !oid.Equal(oidEd25519) && printable != "edwards25519" {
			return nil, fmt.Errorf("unsupported Edwards curve %v%s (only Ed25519 is supported): %w", oid, printable, backend.ErrUnsupported)
		}
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 point of %d bytes: %w", len(raw), backend.ErrInvalidInput)
		}
		return ed25519.PublicKey(slices.Clone(raw)), nil
	}
	var curve elliptic.Curve
	switch {
	case oid.Equal(oidP256):
		curve = elliptic.P256()
	case oid.Equal(oidP384):
		curve = elliptic.P384()
	case oid.Equal(oidP521):
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("EC curve %v%s (supported: P-256, P-384, P-521): %w", oid, printable, backend.ErrUnsupported)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		// A raw point that happened to parse as an OCTET STRING: try it whole.
		if pub2, err2 := ecdsa.ParseUncompressedPublicKey(curve, point); err2 == nil {
			return pub2, nil
		}
		return nil, fmt.Errorf("EC point: %v: %w", err, backend.ErrInvalidInput)
	}
	return pub, nil
}

// parseX25519Point reads an X25519 public key: 32 bytes, inside an OCTET
// STRING (raw) or bare (point).
func parseX25519Point(raw, point []byte) (*ecdh.PublicKey, error) {
	if len(raw) != 32 && len(point) == 32 {
		raw = point // bare bytes that happened to parse as an OCTET STRING
	}
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("X25519 point of %d bytes: %w", len(raw), backend.ErrInvalidInput)
	}
	return pub, nil
}

// shortFormOctetString reports whether point is an OCTET STRING whose
// length, over 127, is written in the short form, which DER does not
// allow: tpm2-pkcs11 1.9 encodes a P-521 point (133 bytes) as 04 85 04 …
// instead of 04 81 85 04 … Of the curves keyplane supports, only P-521
// has points of 128 bytes or more. (A bare P-521 point cannot look like
// this: its second byte, the top of x, is 0 or 1.)
func shortFormOctetString(point []byte) bool {
	return len(point) > 129 && point[0] == 0x04 && int(point[1]) == len(point)-2
}

// ecPoint encodes a public point as CKA_EC_POINT: a DER OCTET STRING.
func ecPoint(raw []byte) []byte {
	der, _ := asn1.Marshal(raw) // cannot fail for a byte slice
	return der
}
