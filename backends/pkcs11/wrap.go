//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

var (
	_ backend.KeyWrapper   = (*Backend)(nil)
	_ backend.KeyUnwrapper = (*Backend)(nil)
)

// Boolean attributes a wrapped key carries (backend.WrappedKey.Attributes)
// and UnwrapKey sets again. Private keys carry privateWrapAttrs, secret
// keys secretWrapAttrs.
var (
	wrapAttrTypes = map[string]uint{
		"CKA_PRIVATE":           pkcs11.CKA_PRIVATE,
		"CKA_SENSITIVE":         pkcs11.CKA_SENSITIVE,
		"CKA_EXTRACTABLE":       pkcs11.CKA_EXTRACTABLE,
		"CKA_WRAP_WITH_TRUSTED": pkcs11.CKA_WRAP_WITH_TRUSTED,
		"CKA_SIGN":              pkcs11.CKA_SIGN,
		"CKA_VERIFY":            pkcs11.CKA_VERIFY,
		"CKA_ENCRYPT":           pkcs11.CKA_ENCRYPT,
		"CKA_DECRYPT":           pkcs11.CKA_DECRYPT,
		"CKA_WRAP":              pkcs11.CKA_WRAP,
		"CKA_UNWRAP":            pkcs11.CKA_UNWRAP,
		"CKA_DERIVE":            pkcs11.CKA_DERIVE,
	}
	privateWrapAttrs = []string{"CKA_PRIVATE", "CKA_SENSITIVE", "CKA_EXTRACTABLE", "CKA_WRAP_WITH_TRUSTED",
		"CKA_SIGN", "CKA_DECRYPT", "CKA_UNWRAP", "CKA_DERIVE"}
	secretWrapAttrs = []string{"CKA_PRIVATE", "CKA_SENSITIVE", "CKA_EXTRACTABLE", "CKA_WRAP_WITH_TRUSTED",
		"CKA_SIGN", "CKA_VERIFY", "CKA_ENCRYPT", "CKA_DECRYPT", "CKA_WRAP", "CKA_UNWRAP", "CKA_DERIVE"}
)

// oaepSHA1 is the OAEP parameter every token of the matrix takes for
// wrapping: SHA-1, MGF1-SHA1, no label (SoftHSM2 2.6.1 takes nothing
// else, MechParamCheckRSAPKCSOAEP).
func oaepSHA1() *pkcs11.Mechanism {
	return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1, pkcs11.CKZ_DATA_SPECIFIED, nil))
}

// ckmAESKeyWrapKWP is PKCS#11 3.0's CKM_AES_KEY_WRAP_KWP, RFC 5649 by
// name; miekg/pkcs11 v1.1.2 lacks it.
const ckmAESKeyWrapKWP = 0x210B

// kwpMech is the token's mechanism for RFC 5649: CKM_AES_KEY_WRAP_KWP
// where the token has it, else CKM_AES_KEY_WRAP_PAD. The two are not the
// same everywhere: PKCS#11 2.40 left CKM_AES_KEY_WRAP_PAD loosely
// defined, SoftHSM2 2.6.1 does RFC 5649 under it (its unwrap takes what
// WrapPad of package keywrap and pyca/cryptography make), NSS softokn
// 3.87 does RFC 3394 with PKCS#7 padding under it (CKR_WRAPPED_KEY_INVALID
// for an RFC 5649 ciphertext) and RFC 5649 under CKM_AES_KEY_WRAP_KWP.
func (b *Backend) kwpMech() uint {
	if b.hasMechanism(ckmAESKeyWrapKWP) {
		return ckmAESKeyWrapKWP
	}
	return pkcs11.CKM_AES_KEY_WRAP_PAD
}

func (b *Backend) kwp() *pkcs11.Mechanism { return pkcs11.NewMechanism(b.kwpMech(), nil) }

// canWrap and canUnwrap report whether the token offers mech in that
// direction. rsa-aes-key-wrap-sha1 unwraps in two steps (the AES key with
// CKM_RSA_PKCS_OAEP into a session object, then the key with
// CKM_AES_KEY_WRAP_PAD), so it needs both; it is not offered for
// wrapping, since a key made wrappable (CKA_WRAP_WITH_TRUSTED) leaves only
// under a trusted key, which a fresh AES key cannot be, and no token of
// the matrix has CKM_RSA_AES_KEY_WRAP.
func (b *Backend) canWrap(mech backend.WrapMechanism) bool {
	if _, ok := b.p.(wrapAPI); !ok {
		return false
	}
	switch mech {
	case backend.WrapAESKeyWrapPad:
		return b.mechAllows(b.kwpMech(), pkcs11.CKF_WRAP, 0)
	case backend.WrapRSAOAEP:
		return b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_WRAP, 0)
	}
	return false
}

func (b *Backend) canUnwrap(mech backend.WrapMechanism) bool {
	if _, ok := b.p.(wrapAPI); !ok {
		return false
	}
	k := b.mechAllows(b.kwpMech(), pkcs11.CKF_UNWRAP, 0)
	o := b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_UNWRAP, 0)
	switch mech {
	case backend.WrapAESKeyWrapPad:
		return k
	case backend.WrapRSAOAEP:
		return o
	case backend.WrapRSAAESKeyWrap:
		return k && o
	}
	return false
}

// wrapCapabilities adds the wrap mechanisms to a capability report.
func (b *Backend) wrapCapabilities(c *backend.Capabilities) {
	var wrap, unwrap []string
	for _, m := range backend.AllWrapMechanisms() {
		if b.canWrap(m) {
			wrap = append(wrap, string(m))
		}
		if b.canUnwrap(m) {
			unwrap = append(unwrap, string(m))
		}
	}
	c.Details[backend.DetailWrap] = strings.Join(wrap, ", ")
	c.Details[backend.DetailUnwrap] = strings.Join(unwrap, ", ")
	var lacks []string
	for _, m := range []uint{b.kwpMech(), pkcs11.CKM_RSA_PKCS_OAEP} {
		for _, f := range []struct {
			flag uint
			name string
		}{{pkcs11.CKF_WRAP, "CKF_WRAP"}, {pkcs11.CKF_UNWRAP, "CKF_UNWRAP"}} {
			if !b.mechAllows(m, f.flag, 0) {
				lacks = append(lacks, mechName(m)+" "+f.name)
			}
		}
	}
	if len(lacks) > 0 {
		c.Notes = append(c.Notes, "key wrapping: the token lacks "+strings.Join(lacks, ", "))
	}
}

// wrappingKey is a wrapping or unwrapping key found by findWrappingKey.
type wrappingKey struct {
	h         pkcs11.ObjectHandle
	trusted   bool // CKA_TRUSTED
	modulus   int  // bytes of an RSA key's modulus
	reference string
}

// findWrappingKey finds the key ref names that can do usage (CKA_WRAP or
// CKA_UNWRAP) with mech: an AES secret key for aes-key-wrap-pad, an RSA
// public key (wrap) or private key (unwrap) for the RSA mechanisms. Of
// several objects matching ref, the one with usage true is taken.
func (b *Backend) findWrappingKey(s *session, ref string, mech backend.WrapMechanism, usage uint) (*wrappingKey, error) {
	q, err := b.parseRef(ref)
	if err != nil {
		return nil, err
	}
	class, ktype := uint(pkcs11.CKO_SECRET_KEY), uint(pkcs11.CKK_AES)
	if mech != backend.WrapAESKeyWrapPad {
		class, ktype = pkcs11.CKO_PUBLIC_KEY, pkcs11.CKK_RSA
		if usage == pkcs11.CKA_UNWRAP {
			class = pkcs11.CKO_PRIVATE_KEY
		}
	}
	use := "CKA_WRAP"
	if usage == pkcs11.CKA_UNWRAP {
		use = "CKA_UNWRAP"
	}
	hs, err := b.findObjects(s, append(q.template(class), attr(pkcs11.CKA_KEY_TYPE, ktype)))
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("pkcs11: %s key %s for %s: no %s on token %q: %w", strings.ToLower(use[4:]), q, mech, wrapKeyKind(class, ktype), b.tokenLabel(), backend.ErrNotFound)
	}
	var found []pkcs11.ObjectHandle
	for _, h := range hs {
		a, err := b.boolAttrs(s, h, use)
		if err != nil {
			return nil, err
		}
		if a[use] {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("pkcs11: key %s has %s false: it may not %s keys: %w", q, use, strings.ToLower(use[4:]), backend.ErrUnsupported)
	case 1:
	default:
		return nil, fmt.Errorf("pkcs11: key %s: %d keys with %s true match; name one by id: %w", q, len(found), use, backend.ErrInvalidInput)
	}
	w := &wrappingKey{h: found[0], reference: q.String()}
	a, err := b.boolAttrs(s, w.h, "CKA_TRUSTED")
	if err != nil {
		return nil, err
	}
	w.trusted = a["CKA_TRUSTED"]
	if ktype == pkcs11.CKK_RSA {
		v, err := b.attrs(s, w.h, pkcs11.CKA_MODULUS)
		if err != nil {
			return nil, err
		}
		w.modulus = len(bytes.TrimLeft(v[pkcs11.CKA_MODULUS], "\x00"))
	}
	return w, nil
}

func wrapKeyKind(class, ktype uint) string {
	switch {
	case class == pkcs11.CKO_SECRET_KEY:
		return "AES secret key"
	case class == pkcs11.CKO_PUBLIC_KEY:
		return "RSA public key"
	}
	return "RSA private key"
}

// boolAttrs reads boolean attributes of an object by name (wrapAttrTypes,
// and CKA_TRUSTED), one C_GetAttributeValue each, so that an attribute
// the token does not have (CKR_ATTRIBUTE_TYPE_INVALID: NSS softokn has
// no CKA_ALWAYS_AUTHENTICATE, for one) is left out instead of failing the
// others.
func (b *Backend) boolAttrs(s *session, h pkcs11.ObjectHandle, names ...string) (map[string]bool, error) {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		typ, ok := wrapAttrTypes[n]
		if n == "CKA_TRUSTED" {
			typ, ok = pkcs11.CKA_TRUSTED, true
		}
		if !ok {
			return nil, fmt.Errorf("pkcs11: attribute %s: %w", n, backend.ErrInvalidInput)
		}
		a, err := b.attrs(s, h, typ)
		switch codeOf(err) {
		case pkcs11.CKR_OK:
			if v, ok := a[typ]; ok && len(v) == 1 {
				out[n] = v[0] != 0
			}
		case pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_ATTRIBUTE_SENSITIVE:
		default:
			return nil, err
		}
	}
	return out, nil
}

// WrapKey encrypts the key ref names under the wrapping key wrappingRef
// inside the token (C_WrapKey): an AES-256 key or a private key (its
// PKCS#8 encoding, as the token makes it) with aes-key-wrap-pad under an
// AES key, an AES-256 key with rsa-oaep-sha1 under an RSA public key. The
// token lets out only a key with CKA_EXTRACTABLE true, and a key with
// CKA_WRAP_WITH_TRUSTED true (KeySpec.Wrappable) only under a wrapping
// key with CKA_TRUSTED true (see CreateTrustedWrappingKey); keyplane
// checks both itself too, and its errors name the attribute.
func (b *Backend) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if _, err := backend.ParseWrapMechanism(string(mech)); err != nil {
		return nil, fmt.Errorf("pkcs11: wrap %q: %w", ref, err)
	}
	if !b.canWrap(mech) {
		return nil, fmt.Errorf("pkcs11: wrap %q: token %q cannot wrap with %s (wrap mechanisms: %q): %w", ref, b.tokenLabel(), mech, b.wrapList(b.canWrap), backend.ErrUnsupported)
	}
	wa := b.p.(wrapAPI)
	ckm := b.kwp()
	if mech == backend.WrapRSAOAEP {
		ckm = oaepSHA1()
	}
	var w *backend.WrappedKey
	err := b.withSession(ctx, func(s *session) error {
		k, err := b.lookup(s, ref)
		if err != nil {
			return err
		}
		target, names := k.priv, privateWrapAttrs
		switch {
		case k.alg == backend.Fernet:
			return fmt.Errorf("pkcs11: wrap %q: fernet keys (two token objects) are not wrapped: %w", k.label, backend.ErrUnsupported)
		case k.priv == 0:
			target, names = k.secret, secretWrapAttrs
		case mech == backend.WrapRSAOAEP:
			return fmt.Errorf("pkcs11: wrap %q: %s wraps AES keys only (a %s private key does not fit one RSA block); use %s: %w", k.label, mech, k.alg, backend.WrapAESKeyWrapPad, backend.ErrUnsupported)
		}
		attrs, err := b.boolAttrs(s, target, names...)
		if err != nil {
			return err
		}
		wk, err := b.findWrappingKey(s, wrappingRef, mech, pkcs11.CKA_WRAP)
		if err != nil {
			return err
		}
		ct, err := wa.WrapKey(s.h, []*pkcs11.Mechanism{ckm}, wk.h, target)
		refusal := wrapRefusal(k, attrs, wk)
		switch {
		case err != nil && refusal != "":
			return fmt.Errorf("pkcs11: wrap %q: %s: %w", k.label, refusal, ckErr("C_WrapKey", err))
		case err != nil:
			return fmt.Errorf("pkcs11: wrap %q under %s: %w", k.label, wk.reference, ckErr("C_WrapKey", err))
		case refusal != "":
			// The token wrapped a key its attributes forbid it to
			// let out: keyplane does not hand the result on.
			clear(ct)
			return fmt.Errorf("pkcs11: wrap %q: %s (the token wrapped it anyway; the result was discarded): %w", k.label, refusal, backend.ErrUnsupported)
		}
		w = &backend.WrappedKey{Mechanism: mech, Algorithm: k.alg, Label: k.label, ID: slices.Clone(k.id), Public: k.pub, Attributes: attrs, Ciphertext: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// wrapRefusal says why the attributes forbid wrapping k under wk, or "".
func wrapRefusal(k *keyObject, attrs map[string]bool, wk *wrappingKey) string {
	switch {
	case !attrs["CKA_EXTRACTABLE"]:
		return "the key has CKA_EXTRACTABLE false: it was made never to leave the token (generate it wrappable to move it)"
	case attrs["CKA_WRAP_WITH_TRUSTED"] && !wk.trusted:
		return fmt.Sprintf("the key has CKA_WRAP_WITH_TRUSTED true and wrapping key %s has CKA_TRUSTED false: only a wrapping key the token's security officer marked trusted may wrap it", wk.reference)
	}
	return ""
}

func (b *Backend) wrapList(can func(backend.WrapMechanism) bool) string {
	var l []string
	for _, m := range backend.AllWrapMechanisms() {
		if can(m) {
			l = append(l, string(m))
		}
	}
	return strings.Join(l, ", ")
}

// UnwrapKey decrypts w inside the token with the unwrapping key
// unwrappingRef (C_UnwrapKey) and stores it as a token object with w's
// ID (a fresh one when w has none), the label (w.Label when label is
// empty) and w.Attributes (keyplane's defaults for what w does not say:
// private, sensitive, not extractable, the usage GenerateKey gives). A
// private key gets its public object from w.Public, and is checked
// against it by one signature before UnwrapKey returns: a WrappedKey
// whose Public is not the wrapped key's is refused and the objects
// destroyed.
//
// aes-key-wrap-pad unwraps with an AES key with CKA_UNWRAP true;
// rsa-oaep-sha1 (AES keys) and rsa-aes-key-wrap-sha1 (any key; made by
// package keywrap on the host, or a token with CKM_RSA_AES_KEY_WRAP) with
// an RSA private key with CKA_UNWRAP true. rsa-aes-key-wrap-sha1 is done
// in two steps: the AES key is unwrapped with CKM_RSA_PKCS_OAEP into a
// session object (sensitive, never extractable), the key with
// CKM_AES_KEY_WRAP_PAD under it, and the session object destroyed.
//
// A ciphertext the token will not unwrap is ErrInvalidInput: by its code
// (CKR_WRAPPED_KEY_INVALID, ...), or, for CKR_GENERAL_ERROR and
// CKR_FUNCTION_FAILED (SoftHSM2 2.6.1's answer to a damaged ciphertext),
// once the token answered the check that it is well.
//
// The token sets CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE false
// and CKA_LOCAL false on an unwrapped key, as PKCS#11 requires: they say
// that the key was once outside a token.
func (b *Backend) UnwrapKey(ctx context.Context, w *backend.WrappedKey, unwrappingRef, label string) (*backend.Key, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if w == nil || len(w.Ciphertext) == 0 {
		return nil, fmt.Errorf("pkcs11: unwrap: no wrapped key: %w", backend.ErrInvalidInput)
	}
	if label == "" {
		label = w.Label
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	alg := w.Algorithm
	if err := checkWrapped(w); err != nil {
		return nil, fmt.Errorf("pkcs11: unwrap %q: %w", label, err)
	}
	if !b.supportsAlgorithm(alg) {
		return nil, fmt.Errorf("pkcs11: unwrap %q: token %q cannot hold %s keys: %w", label, b.tokenLabel(), alg, backend.ErrUnsupported)
	}
	if !b.canUnwrap(w.Mechanism) {
		return nil, fmt.Errorf("pkcs11: unwrap %q: token %q cannot unwrap %s (unwrap mechanisms: %q): %w", label, b.tokenLabel(), w.Mechanism, b.wrapList(b.canUnwrap), backend.ErrUnsupported)
	}
	id := slices.Clone(w.ID)
	if len(id) == 0 {
		id = newID()
	}
	t, err := unwrapTemplate(alg, label, id, w.Attributes)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: unwrap %q: %w", label, err)
	}
	var pubT []*pkcs11.Attribute
	if alg.Asymmetric() {
		if pubT, err = b.publicObject(alg, w.Public, label, id); err != nil {
			return nil, fmt.Errorf("pkcs11: unwrap %q: %w", label, err)
		}
	}
	release, err := b.reserveLabel(label)
	if err != nil {
		return nil, err
	}
	defer release()
	wa := b.p.(wrapAPI)
	var info *backend.Key
	err = b.withSession(ctx, func(s *session) error {
		if taken, err := b.labelTaken(s, label); err != nil {
			return err
		} else if taken {
			return fmt.Errorf("pkcs11: label %q: %w", label, backend.ErrAlreadyExists)
		}
		if hs, err := b.findObjects(s, []*pkcs11.Attribute{attr(pkcs11.CKA_ID, id)}); err != nil {
			return err
		} else if len(hs) > 0 {
			return fmt.Errorf("pkcs11: unwrap %q: CKA_ID %x is taken on token %q (give the key another ID by unwrapping it without one): %w", label, id, b.tokenLabel(), backend.ErrAlreadyExists)
		}
		uk, err := b.findWrappingKey(s, unwrappingRef, w.Mechanism, pkcs11.CKA_UNWRAP)
		if err != nil {
			return err
		}
		h, err := b.unwrapObject(s, wa, w, uk, t)
		if err != nil {
			return err
		}
		if pubT != nil {
			if _, err := b.p.CreateObject(s.h, pubT); err != nil {
				_ = b.p.DestroyObject(s.h, h)
				return fmt.Errorf("pkcs11: unwrap %q: the public object: %w", label, ckErr("C_CreateObject", err))
			}
			k, err := b.readKeyPair(s, h)
			if err != nil {
				return err
			}
			info = k.info(b.tokenLabel())
			return nil
		}
		k, err := b.readSecret(s, keyQuery{label: label, hasLabel: true, id: id}, []pkcs11.ObjectHandle{h})
		if err != nil {
			_ = b.p.DestroyObject(s.h, h)
			return err
		}
		info = k.info(b.tokenLabel())
		return nil
	})
	if failedOnHealthyToken(err, "C_UnwrapKey") {
		// SoftHSM2 2.6.1 fails every ciphertext its cipher will not
		// unwrap (a damaged one, one under another key) with
		// CKR_GENERAL_ERROR; the token answered diagnose, so it is the
		// data's fault, not the token's (%v: not ErrUnavailable).
		return nil, fmt.Errorf("pkcs11: unwrap %s %q: the ciphertext does not unwrap under %q (%v): %w", alg, label, unwrappingRef, err, backend.ErrInvalidInput)
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: unwrap %s %q: %w", alg, label, err)
	}
	if alg.Asymmetric() && (w.Attributes == nil || w.Attributes["CKA_SIGN"]) {
		if err := b.checkUnwrappedPair(ctx, info, w.Public); err != nil {
			_ = b.DeleteKey(ctx, info.URI)
			return nil, fmt.Errorf("pkcs11: unwrap %s %q: %w", alg, label, err)
		}
	}
	return info, nil
}

// unwrapObject runs C_UnwrapKey for w's mechanism and returns the new
// object.
func (b *Backend) unwrapObject(s *session, wa wrapAPI, w *backend.WrappedKey, uk *wrappingKey, t []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	ct := w.Ciphertext
	unwrap := func(m *pkcs11.Mechanism, key pkcs11.ObjectHandle, ct []byte) (pkcs11.ObjectHandle, error) {
		h, err := wa.UnwrapKey(s.h, []*pkcs11.Mechanism{m}, key, ct, t)
		return h, ckErr("C_UnwrapKey", err)
	}
	switch w.Mechanism {
	case backend.WrapAESKeyWrapPad:
		return unwrap(b.kwp(), uk.h, ct)
	case backend.WrapRSAOAEP:
		h, err := wa.UnwrapKey(s.h, []*pkcs11.Mechanism{oaepSHA1()}, uk.h, ct, t)
		return h, ckErr("C_UnwrapKey", err)
	}
	// rsa-aes-key-wrap-sha1: one RSA block, then the key under it.
	if uk.modulus == 0 || len(ct) <= uk.modulus {
		return 0, fmt.Errorf("%s ciphertext of %d bytes for a %d-byte RSA modulus: %w", w.Mechanism, len(ct), uk.modulus, backend.ErrInvalidInput)
	}
	ephemeral := []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		attr(pkcs11.CKA_TOKEN, false), attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_SENSITIVE, true),
		attr(pkcs11.CKA_EXTRACTABLE, false), attr(pkcs11.CKA_UNWRAP, true), attr(pkcs11.CKA_WRAP, false),
		attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_DECRYPT, false), attr(pkcs11.CKA_SIGN, false),
		attr(pkcs11.CKA_LABEL, "keyplane-unwrap-ephemeral"),
	}
	tmp, err := wa.UnwrapKey(s.h, []*pkcs11.Mechanism{oaepSHA1()}, uk.h, ct[:uk.modulus], ephemeral)
	if err != nil {
		return 0, fmt.Errorf("the AES key under RSA-OAEP: %w", ckErr("C_UnwrapKey", err))
	}
	defer func() { _ = b.p.DestroyObject(s.h, tmp) }()
	h, err := unwrap(b.kwp(), tmp, ct[uk.modulus:])
	if err != nil {
		return 0, fmt.Errorf("the key under the AES key: %w", err)
	}
	return h, nil
}

// checkWrapped checks that w describes a key keyplane can unwrap.
func checkWrapped(w *backend.WrappedKey) error {
	if _, err := backend.ParseWrapMechanism(string(w.Mechanism)); err != nil {
		return err
	}
	alg := w.Algorithm
	switch {
	case alg == backend.AES256:
		if w.Public != nil {
			return fmt.Errorf("an %s key with a public key: %w", alg, backend.ErrInvalidInput)
		}
		// A 32-byte key wrapped with RFC 5649 is 40 bytes: checked here
		// because a token may not say how long an unwrapped key is
		// (SoftHSM2 2.6.1 leaves CKA_VALUE_LEN 0).
		if n := len(w.Ciphertext); w.Mechanism == backend.WrapAESKeyWrapPad && n != 40 {
			return fmt.Errorf("an %s key wrapped with %s in %d bytes (a 32-byte key takes 40): %w", alg, w.Mechanism, n, backend.ErrInvalidInput)
		}
	case alg.Asymmetric():
		got, err := backend.AlgorithmOf(w.Public)
		if err != nil {
			return fmt.Errorf("public key of the wrapped %s key: %w", alg, err)
		}
		if got != alg {
			return fmt.Errorf("wrapped %s key with a %s public key: %w", alg, got, backend.ErrInvalidInput)
		}
		if w.Mechanism == backend.WrapRSAOAEP {
			return fmt.Errorf("%s wraps AES keys only, not %s private keys: %w", w.Mechanism, alg, backend.ErrInvalidInput)
		}
	default:
		return fmt.Errorf("wrapped key of algorithm %q (unwrapped: aes-256, RSA, EC, Ed25519): %w", alg, backend.ErrUnsupported)
	}
	return nil
}

// unwrapTemplate is the template of the unwrapped private or secret
// object: keyplane's template for alg, with attrs set over it.
func unwrapTemplate(alg backend.Algorithm, label string, id []byte, attrs map[string]bool) ([]*pkcs11.Attribute, error) {
	var t []*pkcs11.Attribute
	if alg == backend.AES256 {
		// No CKA_VALUE_LEN: SoftHSM2 2.6.1 refuses it in an unwrap
		// template (CKR_ATTRIBUTE_READ_ONLY) and leaves it 0.
		t = append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, label, id),
			attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true),
			attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
	} else {
		_, privU := usage(alg, false) // CKA_DERIVE as the wrapped key says (attrs)
		t = append(privateTemplate(pkcs11.CKO_PRIVATE_KEY, keyType(alg), label, id), privU...)
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		typ, ok := wrapAttrTypes[n]
		if !ok {
			return nil, fmt.Errorf("wrapped key with attribute %q (known: the CKA_ names of PKCS#11 boolean attributes keyplane keeps): %w", n, backend.ErrInvalidInput)
		}
		if i := slices.IndexFunc(t, func(a *pkcs11.Attribute) bool { return a.Type == typ }); i >= 0 {
			t[i] = attr(typ, attrs[n])
		} else {
			t = append(t, attr(typ, attrs[n]))
		}
	}
	return t, nil
}

// publicObject is the template of the public key object of an unwrapped
// private key.
func (b *Backend) publicObject(alg backend.Algorithm, pub crypto.PublicKey, label string, id []byte) ([]*pkcs11.Attribute, error) {
	pubU, _ := usage(alg, false)
	if alg.Family() != backend.FamilyRSA && b.tokenSetsPublicUsage.Load() {
		pubU = nil
	}
	t := append(publicTemplate(keyType(alg), label, id), pubU...)
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		t = append(t, attr(pkcs11.CKA_MODULUS, pub.N.Bytes()), attr(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(pub.E)).Bytes()))
	case *ecdsa.PublicKey:
		point, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("EC public key: %v: %w", err, backend.ErrInvalidInput)
		}
		t = append(t, attr(pkcs11.CKA_EC_PARAMS, ecParams(alg)), attr(pkcs11.CKA_EC_POINT, ecPoint(point)))
	case ed25519.PublicKey:
		t = append(t, attr(pkcs11.CKA_EC_PARAMS, ecParams(alg)), attr(pkcs11.CKA_EC_POINT, ecPoint(pub)))
	default:
		return nil, fmt.Errorf("public key of type %T: %w", pub, backend.ErrUnsupported)
	}
	return t, nil
}

// checkUnwrappedPair signs once with the unwrapped key and verifies the
// signature with want, the public key the WrappedKey carried.
func (b *Backend) checkUnwrappedPair(ctx context.Context, k *backend.Key, want crypto.PublicKey) error {
	signer, err := b.Signer(ctx, k.URI)
	if err != nil {
		return err
	}
	msg := make([]byte, 32)
	_, _ = rand.Read(msg)
	digest := sha256.Sum256(msg)
	var opts crypto.SignerOpts = crypto.SHA256
	in := digest[:]
	if k.Algorithm == backend.Ed25519 {
		opts, in = crypto.Hash(0), msg
	}
	sig, err := signer.Sign(rand.Reader, in, opts)
	if err != nil {
		return fmt.Errorf("signing with the unwrapped key: %w", err)
	}
	ok := false
	switch pub := want.(type) {
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, in, sig) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, in, sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, in, sig)
	}
	if !ok {
		return fmt.Errorf("the unwrapped private key is not the half of the public key the wrapped key carries (its signature does not verify); both objects were destroyed: %w", backend.ErrInvalidInput)
	}
	return nil
}
