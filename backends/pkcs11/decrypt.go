//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/oaep"
	"github.com/miekg/pkcs11"
)

// Decrypter returns a crypto.Decrypter for the RSA key ref names. It
// decrypts RSA-OAEP (SHA-1 or SHA-2, any MGF1 hash, with a label) and
// PKCS#1 v1.5 (with implicit rejection when SessionKeyLen is set). Every
// decryption failure is the bare backend.ErrDecryption — except that a
// token doing implicit rejection itself (NSS softokn;
// Capabilities.PKCS1v15ImplicitRejection) answers bad PKCS#1 v1.5 padding
// with a synthetic plaintext, which is returned as it is.
func (b *Backend) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	k, ref, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if k.alg.Family() != backend.FamilyRSA {
		return nil, fmt.Errorf("pkcs11: key %q is a %s key and cannot decrypt: %w", k.label, k.alg, backend.ErrUnsupported)
	}
	return &decrypter{b: b, ref: ref, pub: k.pub.(*rsa.PublicKey)}, nil
}

type decrypter struct {
	b   *Backend
	ref string
	pub *rsa.PublicKey
	key *keyObject // set for the capability probe's session key: no lookup
}

func (d *decrypter) Public() crypto.PublicKey { return d.pub }

// oaepMode is what the backend knows about the token and one set of OAEP
// parameters.
type oaepMode int32

const (
	oaepUnknown oaepMode = iota
	oaepNative           // the token's CKM_RSA_PKCS_OAEP takes them
	oaepRefused          // the token refused them at C_DecryptInit
)

type oaepKey struct {
	hash, mgf crypto.Hash
	label     bool
}

func (b *Backend) oaepModeFor(k oaepKey) oaepMode {
	if v, ok := b.oaepState.Load(k); ok {
		return v.(oaepMode)
	}
	return oaepUnknown
}

// errRefused marks a C_DecryptInit refusal of OAEP parameters: it is what
// switches to the fallback, never a failure of C_Decrypt (a tampered
// ciphertext cannot flip the mode).
type errRefused struct{ err error }

func (e *errRefused) Error() string { return e.err.Error() }
func (e *errRefused) Unwrap() error { return e.err }

// Decrypt decrypts ciphertext. rand is used only for PKCS#1 v1.5 implicit
// rejection (crypto/rand when nil).
func (d *decrypter) Decrypt(random io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	p, err := backend.ParseDecrypterOpts(opts)
	if err != nil {
		return nil, err
	}
	size := d.pub.Size()
	if !p.OAEP {
		if random == nil {
			random = rand.Reader
		}
		pt, err := d.run(pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), ciphertext, size)
		if p.SessionKeyLen > 0 {
			if err != nil && backend.Kind(err) != backend.ErrDecryption {
				return nil, err
			}
			return backend.ImplicitRejection(random, pt, err == nil, p.SessionKeyLen)
		}
		return pt, err
	}
	key := oaepKey{p.Hash, p.MGFHash, len(p.Label) > 0}
	native := key == oaepKey{crypto.SHA1, crypto.SHA1, false}
	if !native && d.b.oaepModeFor(key) == oaepUnknown {
		if err := d.probe(key); err != nil {
			return nil, err
		}
	}
	if native || d.b.oaepModeFor(key) == oaepNative {
		return d.run(oaepMechanism(p.Hash, p.MGFHash, p.Label), ciphertext, size)
	}
	if d.b.oaepOff {
		return nil, fmt.Errorf("pkcs11: token %q refuses OAEP with %v/MGF1-%v%s, and oaep-fallback=off: %w",
			d.b.tokenLabel(), p.Hash, p.MGFHash, labelNote(key.label), backend.ErrUnsupported)
	}
	if !d.b.hasMechanism(pkcs11.CKM_RSA_X_509) {
		return nil, fmt.Errorf("pkcs11: token %q refuses OAEP with %v%s and has no CKM_RSA_X_509 for the fallback: %w",
			d.b.tokenLabel(), p.Hash, labelNote(key.label), backend.ErrUnsupported)
	}
	em, err := d.run(pkcs11.NewMechanism(pkcs11.CKM_RSA_X_509, nil), ciphertext, size)
	if err != nil {
		return nil, err
	}
	return oaep.Decode(p.Hash, p.MGFHash, p.Label, em, size)
}

func oaepMechanism(hash, mgfHash crypto.Hash, label []byte) *pkcs11.Mechanism {
	h, mgf := hashMechs[hash], hashMechs[mgfHash]
	// The label is the CKZ_DATA_SPECIFIED source (empty for none).
	return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(h.mech, mgf.mgf, pkcs11.CKZ_DATA_SPECIFIED, label))
}

// probe learns, once per token and set of OAEP parameters other than
// SHA-1 without a label, whether the token's CKM_RSA_PKCS_OAEP really
// does them: it decrypts a ciphertext made here with those parameters
// (and, with a label, checks that a wrong label fails — SoftHSM2 2.6.1
// takes SHA-1 with a label and ignores the label). Only this self-made
// ciphertext decides the mode, so a caller's tampered ciphertext can never
// switch a token to the fallback or back.
func (d *decrypter) probe(key oaepKey) error {
	msg := []byte("keyplane OAEP probe")
	var label []byte
	if key.label {
		label = []byte("keyplane-probe-label")
	}
	ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, d.pub, msg, &rsa.OAEPOptions{Hash: key.hash, MGFHash: key.mgf, Label: label})
	if err != nil {
		return fmt.Errorf("pkcs11: OAEP probe: %v: %w", err, backend.ErrUnsupported)
	}
	size := d.pub.Size()
	mode := oaepRefused
	pt, err := d.run(oaepMechanism(key.hash, key.mgf, label), ct, size)
	var refused *errRefused
	switch {
	case err == nil && bytes.Equal(pt, msg):
		mode = oaepNative
		if key.label {
			if _, err := d.run(oaepMechanism(key.hash, key.mgf, []byte("another label")), ct, size); err == nil {
				mode = oaepRefused // the token ignores the label
			} else if err != backend.ErrDecryption && !asRefused(err, &refused) {
				return err
			}
		}
	case err == nil, err == backend.ErrDecryption, asRefused(err, &refused):
	default:
		return err // the token is unavailable: decide later
	}
	d.b.oaepState.Store(key, mode)
	return nil
}

func labelNote(label bool) string {
	if label {
		return " and a label"
	}
	return ""
}

func asRefused(err error, target **errRefused) bool {
	e, ok := err.(*errRefused)
	if ok {
		*target = e
	}
	return ok
}

// run does one C_DecryptInit/C_Decrypt. Failures of C_Decrypt that come
// from the data are backend.ErrDecryption (a code of two meanings too,
// when the token answers diagnose: opencryptoki 3.8 fails a tampered OAEP
// ciphertext with CKR_FUNCTION_FAILED); CKR_ARGUMENTS_BAD or
// CKR_MECHANISM_PARAM_INVALID at C_DecryptInit is an *errRefused.
func (d *decrypter) run(mech *pkcs11.Mechanism, ciphertext []byte, size int) ([]byte, error) {
	if len(ciphertext) != size {
		return nil, backend.ErrDecryption
	}
	b := d.b
	var out []byte
	var failed bool
	err := b.withSession(context.Background(), func(s *session) error {
		k := d.key
		if k == nil {
			var err error
			if k, err = b.lookup(s, d.ref); err != nil {
				return err
			}
		}
		if k.priv == 0 || k.alg.Family() != backend.FamilyRSA {
			return fmt.Errorf("pkcs11: key %q changed since the decrypter was made: %w", k.label, backend.ErrNotFound)
		}
		if mech.Mechanism == pkcs11.CKM_RSA_X_509 && !k.canDecrypt {
			return fmt.Errorf("pkcs11: key %q does not permit decryption (CKA_DECRYPT false): %w", k.label, backend.ErrUnsupported)
		}
		if err := b.p.DecryptInit(s.h, []*pkcs11.Mechanism{mech}, k.priv); err != nil {
			e := ckErr("C_DecryptInit", err)
			if c := codeOf(e); mech.Mechanism == pkcs11.CKM_RSA_PKCS_OAEP && (c == pkcs11.CKR_ARGUMENTS_BAD || c == pkcs11.CKR_MECHANISM_PARAM_INVALID) {
				return &errRefused{e}
			}
			return e
		}
		if err := b.contextLogin(s, k, func() { b.endDecrypt(s) }); err != nil {
			return err
		}
		var err error
		out, err = b.p.Decrypt(s.h, ciphertext)
		if err != nil {
			e := ckErr("C_Decrypt", err)
			b.endDecryptAfter(s, codeOf(e))
			if decryptFailure(codeOf(e)) {
				failed = true
				return nil // the session is fine: the operation has ended
			}
			return e
		}
		return nil
	})
	if failedOnHealthyToken(err, "C_Decrypt") {
		return nil, backend.ErrDecryption
	}
	if err != nil {
		if _, ok := err.(*errRefused); ok {
			return nil, err
		}
		return nil, fmt.Errorf("pkcs11: decrypt with %q: %w", d.ref, err)
	}
	if failed { // read only now: fn may still run after an error (withSession)
		return nil, backend.ErrDecryption
	}
	return out, nil
}
