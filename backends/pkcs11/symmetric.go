//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/aes"
	"crypto/rand"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/pkcs7"
	"github.com/miekg/pkcs11"
)

// AES-GCM parameters: a 96-bit random nonce made on the host, a 128-bit tag.
const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// AEAD returns AES-256-GCM with the aes-256 key ref names.
func (b *Backend) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	k, ref, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if k.alg != backend.AES256 {
		return nil, fmt.Errorf("pkcs11: key %q is a %s key, not aes-256: %w", k.label, k.alg, backend.ErrUnsupported)
	}
	return &aead{b: b, ref: ref}, nil
}

type aead struct {
	b   *Backend
	ref string
}

func (a *aead) NonceSize() int { return gcmNonceSize }
func (a *aead) Overhead() int  { return gcmNonceSize + gcmTagSize }

// Seal returns nonce ‖ ciphertext ‖ tag.
func (a *aead) Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, gcmNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pkcs11: AES-GCM nonce: %v: %w", err, backend.ErrUnavailable)
	}
	var ct []byte
	err := a.b.withSession(ctx, func(s *session) error {
		k, err := a.b.secretKey(s, a.ref, backend.AES256)
		if err != nil {
			return err
		}
		// miekg/pkcs11 keeps the C copy of the GCM parameters until Free,
		// after the operation (a token may write its own IV there).
		params := pkcs11.NewGCMParams(nonce, ad, gcmTagSize*8)
		defer params.Free()
		if err := a.b.p.EncryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, k.secret); err != nil {
			return ckErr("C_EncryptInit", err)
		}
		// The output is the plaintext and the tag: ask for exactly that,
		// not for what the token's size query says (NSS softokn leaves
		// the tag out of it).
		ct, err = a.b.p.EncryptSized(s.h, plaintext, len(plaintext)+gcmTagSize)
		if err != nil {
			return ckErr("C_Encrypt", err)
		}
		// Some HSMs (AWS CloudHSM) ignore the caller's IV and write their
		// own into the parameters: use what the token really used.
		if iv := params.IV(); len(iv) == gcmNonceSize {
			nonce = iv
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: seal with %q: %w", a.ref, err)
	}
	if len(ct) != len(plaintext)+gcmTagSize {
		return nil, fmt.Errorf("pkcs11: seal with %q: the token returned %d bytes for %d: %w", a.ref, len(ct), len(plaintext), backend.ErrUnavailable)
	}
	return append(nonce, ct...), nil
}

// Open authenticates and decrypts nonce ‖ ciphertext ‖ tag. Any failure
// to open is backend.ErrDecryption.
func (a *aead) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < gcmNonceSize+gcmTagSize {
		return nil, backend.ErrDecryption
	}
	nonce, ct := sealed[:gcmNonceSize], sealed[gcmNonceSize:]
	var pt []byte
	var failed bool
	err := a.b.withSession(ctx, func(s *session) error {
		k, err := a.b.secretKey(s, a.ref, backend.AES256)
		if err != nil {
			return err
		}
		params := pkcs11.NewGCMParams(nonce, ad, gcmTagSize*8)
		defer params.Free()
		if err := a.b.p.DecryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, k.secret); err != nil {
			return ckErr("C_DecryptInit", err)
		}
		pt, err = a.b.p.Decrypt(s.h, ct)
		return a.b.decryptResult(s, err, &failed)
	})
	if failedOnHealthyToken(err, "C_Decrypt") {
		return nil, backend.ErrDecryption
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: open with %q: %w", a.ref, err)
	}
	if failed { // read only now: fn may still run after an error (withSession)
		return nil, backend.ErrDecryption
	}
	return pt, nil
}

// decryptResult classifies a C_Decrypt error on s: data failures set
// *failed (to become the bare ErrDecryption) and leave the session in the
// pool. A code of two meanings goes back to withSession, which asks the
// token (diagnose); the caller checks failedOnHealthyToken. Either way the
// operation the failed C_Decrypt may have left active is ended first
// (endDecrypt).
func (b *Backend) decryptResult(s *session, err error, failed *bool) error {
	if err == nil {
		return nil
	}
	e := ckErr("C_Decrypt", err)
	b.endDecryptAfter(s, codeOf(e))
	if decryptFailure(codeOf(e)) || codeOf(e) == pkcs11.CKR_SIGNATURE_INVALID {
		*failed = true
		return nil
	}
	return e
}

// endDecrypt ends the decryption a failed C_Decrypt may have left active
// on s. PKCS#11 ends an operation whose C_Decrypt failed, but tpm2-pkcs11
// 1.9 does not: the session stays in the operation (its next C_DecryptInit
// is CKR_OPERATION_ACTIVE) and the key stays counted as in use, so that
// C_DestroyObject of that key fails with CKR_FUNCTION_FAILED for the rest
// of the process. C_DecryptFinal ends what it left. On a token that did
// end the operation it is CKR_OPERATION_NOT_INITIALIZED; whatever it
// returns is ignored (a session really in trouble shows on its next use).
func (b *Backend) endDecrypt(s *session) { _, _ = b.p.DecryptFinal(s.h) }

// endDecryptAfter ends the operation after a C_Decrypt that failed with
// code, unless the session or the token is gone (nothing to end, and no
// call to make on a dead device). tpm2-pkcs11 answers bad PKCS#1 v1.5
// padding with CKR_GENERAL_ERROR, a code of two meanings: that too.
func (b *Backend) endDecryptAfter(s *session, code uint) {
	if sessionGone(code) || tokenGone(code) {
		return
	}
	b.endDecrypt(s)
}

// secretKey looks up a secret key of algorithm alg.
func (b *Backend) secretKey(s *session, ref string, alg backend.Algorithm) (*keyObject, error) {
	k, err := b.lookup(s, ref)
	if err != nil {
		return nil, err
	}
	if k.alg != alg || k.secret == 0 {
		return nil, fmt.Errorf("pkcs11: key %q is a %s key, not %s: %w", k.label, k.alg, alg, backend.ErrUnsupported)
	}
	return k, nil
}

// Fernet returns the fernet key ref names.
func (b *Backend) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	k, ref, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if k.alg != backend.Fernet {
		return nil, fmt.Errorf("pkcs11: key %q is a %s key, not fernet: %w", k.label, k.alg, backend.ErrUnsupported)
	}
	return &fernetKey{b: b, ref: ref}, nil
}

type fernetKey struct {
	b   *Backend
	ref string
}

// MAC returns HMAC-SHA256 of data (CKM_SHA256_HMAC).
func (f *fernetKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	var mac []byte
	err := f.b.withSession(ctx, func(s *session) error {
		k, err := f.b.secretKey(s, f.ref, backend.Fernet)
		if err != nil {
			return err
		}
		if err := f.b.p.SignInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_HMAC, nil)}, k.mac); err != nil {
			return ckErr("C_SignInit", err)
		}
		mac, err = f.b.p.Sign(s.h, data)
		return ckErr("C_Sign", err)
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: fernet MAC with %q: %w", f.ref, err)
	}
	return mac, nil
}

// EncryptCBC encrypts with AES-128-CBC and PKCS#7 padding (CKM_AES_CBC_PAD).
func (f *fernetKey) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	if len(iv) != 16 {
		return nil, fmt.Errorf("pkcs11: fernet IV of %d bytes, want 16: %w", len(iv), backend.ErrInvalidInput)
	}
	var ct []byte
	err := f.b.withSession(ctx, func(s *session) error {
		k, err := f.b.secretKey(s, f.ref, backend.Fernet)
		if err != nil {
			return err
		}
		if err := f.b.p.EncryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_CBC_PAD, iv)}, k.secret); err != nil {
			return ckErr("C_EncryptInit", err)
		}
		ct, err = f.b.p.Encrypt(s.h, plaintext)
		return ckErr("C_Encrypt", err)
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: fernet encrypt with %q: %w", f.ref, err)
	}
	return ct, nil
}

// DecryptCBC reverses EncryptCBC; any failure is backend.ErrDecryption.
// Where the token has CKM_AES_CBC it decrypts with that and checks the
// PKCS#7 padding here (internal/pkcs7, in constant time): opencryptoki
// 3.8's CKM_AES_CBC_PAD returns the whole last block when the padding is
// bad instead of failing. A token without CKM_AES_CBC, or a key that does
// not allow it (CKR_MECHANISM_INVALID), decrypts with CKM_AES_CBC_PAD. The
// padding is no secret either way: the plaintext comes to the host.
func (f *fernetKey) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, backend.ErrDecryption
	}
	mech := uint(pkcs11.CKM_AES_CBC_PAD)
	if f.b.mechAllows(pkcs11.CKM_AES_CBC, pkcs11.CKF_DECRYPT, 0) {
		mech = pkcs11.CKM_AES_CBC
	}
	var pt []byte
	var failed bool
	err := f.b.withSession(ctx, func(s *session) error {
		k, err := f.b.secretKey(s, f.ref, backend.Fernet)
		if err != nil {
			return err
		}
		err = f.b.p.DecryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, iv)}, k.secret)
		if mech == pkcs11.CKM_AES_CBC && codeOf(err) == pkcs11.CKR_MECHANISM_INVALID {
			// A key whose CKA_ALLOWED_MECHANISMS leaves CKM_AES_CBC out.
			mech = pkcs11.CKM_AES_CBC_PAD
			err = f.b.p.DecryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, iv)}, k.secret)
		}
		if err != nil {
			return ckErr("C_DecryptInit", err)
		}
		pt, err = f.b.p.Decrypt(s.h, ciphertext)
		return f.b.decryptResult(s, err, &failed)
	})
	if failedOnHealthyToken(err, "C_Decrypt") {
		return nil, backend.ErrDecryption
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: fernet decrypt with %q: %w", f.ref, err)
	}
	if failed { // read only now: fn may still run after an error (withSession)
		return nil, backend.ErrDecryption
	}
	if mech == pkcs11.CKM_AES_CBC {
		n, ok := pkcs7.Unpad(pt, aes.BlockSize)
		if !ok {
			return nil, backend.ErrDecryption
		}
		pt = pt[:n]
	}
	return pt, nil
}
