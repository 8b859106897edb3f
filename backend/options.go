package backend

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"io"
)

// SignParams is a signature request checked against the key: what every
// backend needs to know to sign, whatever options type the caller used.
type SignParams struct {
	// Hash is the digest's hash; 0 for Ed25519, which signs the message.
	Hash crypto.Hash
	// PSS is true for RSA-PSS.
	PSS bool
	// SaltLength is the PSS salt length in bytes, resolved from
	// rsa.PSSSaltLengthAuto (the longest the key allows) or
	// rsa.PSSSaltLengthEqualsHash.
	SaltLength int
	// Context is an ML-DSA signature's context string (MLDSAOptions).
	Context string
}

// signHashes are the digests keyplane signs. SHA-1 stays for PKCS#1 v1.5
// and ECDSA verification by older peers (TLS 1.2 clients); MD5 does not.
var signHashes = map[crypto.Hash]bool{
	crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true,
}

// ParseSignerOpts checks a crypto.Signer call (digest and opts) against a
// key of algorithm alg with public key pub, and returns what to do. It
// refuses what it does not understand: unknown options types, hashes it
// does not sign with, a digest of the wrong length, PSS options on a
// non-RSA key, Ed25519ph or an Ed25519 context. Errors wrap ErrUnsupported
// or ErrInvalidInput.
func ParseSignerOpts(alg Algorithm, pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (SignParams, error) {
	if opts == nil {
		return SignParams{}, fmt.Errorf("sign: nil crypto.SignerOpts (pass a crypto.Hash, *rsa.PSSOptions, or crypto.Hash(0) for Ed25519): %w", ErrInvalidInput)
	}
	var p SignParams
	switch alg.Family() {
	case FamilyEd25519:
		switch o := opts.(type) {
		case crypto.Hash:
			if o != 0 {
				return p, fmt.Errorf("sign: Ed25519 signs the message itself, want crypto.Hash(0), got %v (Ed25519ph): %w", o, ErrUnsupported)
			}
		case *ed25519.Options:
			if o.Hash != 0 || o.Context != "" {
				return p, fmt.Errorf("sign: Ed25519ph and Ed25519ctx are not supported, only pure Ed25519: %w", ErrUnsupported)
			}
		default:
			return p, fmt.Errorf("sign: options %T for an Ed25519 key: %w", opts, ErrUnsupported)
		}
		return p, nil
	case FamilyRSA:
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return p, fmt.Errorf("sign: RSA key with public key %T: %w", pub, ErrInvalidInput)
		}
		switch o := opts.(type) {
		case *rsa.PSSOptions:
			p.PSS = true
			p.Hash = o.Hash
			if err := checkDigest(p.Hash, digest); err != nil {
				return p, err
			}
			maxSalt := (rsaPub.N.BitLen()-1+7)/8 - p.Hash.Size() - 2
			switch {
			case o.SaltLength == rsa.PSSSaltLengthAuto:
				p.SaltLength = maxSalt
			case o.SaltLength == rsa.PSSSaltLengthEqualsHash:
				p.SaltLength = p.Hash.Size()
			case o.SaltLength > 0:
				p.SaltLength = o.SaltLength
			default:
				return p, fmt.Errorf("sign: PSS salt length %d: %w", o.SaltLength, ErrInvalidInput)
			}
			if p.SaltLength > maxSalt {
				return p, fmt.Errorf("sign: PSS salt length %d exceeds %d for this key and hash: %w", p.SaltLength, maxSalt, ErrInvalidInput)
			}
			return p, nil
		case crypto.Hash:
			p.Hash = o
			return p, checkDigest(p.Hash, digest)
		default:
			return p, fmt.Errorf("sign: options %T for an RSA key: %w", opts, ErrUnsupported)
		}
	case FamilyMLDSA:
		return parseMLDSAOpts(opts)
	case FamilyEC:
		o, ok := opts.(crypto.Hash)
		if !ok {
			return p, fmt.Errorf("sign: options %T for an ECDSA key (want a crypto.Hash): %w", opts, ErrUnsupported)
		}
		p.Hash = o
		return p, checkDigest(p.Hash, digest)
	}
	return p, fmt.Errorf("sign: a %s key cannot sign: %w", alg, ErrUnsupported)
}

func checkDigest(h crypto.Hash, digest []byte) error {
	if !signHashes[h] {
		return fmt.Errorf("sign: hash %v is not supported (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512): %w", h, ErrUnsupported)
	}
	if len(digest) != h.Size() {
		return fmt.Errorf("sign: digest of %d bytes for %v, want %d: %w", len(digest), h, h.Size(), ErrInvalidInput)
	}
	return nil
}

// DecryptParams is a decryption request, whatever options type the caller
// used.
type DecryptParams struct {
	// OAEP is true for RSA-OAEP, false for PKCS#1 v1.5.
	OAEP bool
	// Hash and MGFHash are the OAEP hashes (MGFHash defaults to Hash).
	Hash, MGFHash crypto.Hash
	// Label is the OAEP label.
	Label []byte
	// SessionKeyLen asks PKCS#1 v1.5 decryption for implicit rejection:
	// see rsa.PKCS1v15DecryptOptions and ImplicitRejection.
	SessionKeyLen int
}

var oaepHashes = map[crypto.Hash]bool{
	crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true,
}

// ParseDecrypterOpts reads a crypto.Decrypter's options: *rsa.OAEPOptions,
// *rsa.PKCS1v15DecryptOptions, or nil (PKCS#1 v1.5, as crypto/rsa does).
// Anything else is refused with ErrUnsupported.
func ParseDecrypterOpts(opts crypto.DecrypterOpts) (DecryptParams, error) {
	var p DecryptParams
	switch o := opts.(type) {
	case nil:
		return p, nil
	case *rsa.PKCS1v15DecryptOptions:
		if o.SessionKeyLen < 0 {
			return p, fmt.Errorf("decrypt: negative SessionKeyLen: %w", ErrInvalidInput)
		}
		p.SessionKeyLen = o.SessionKeyLen
		return p, nil
	case *rsa.OAEPOptions:
		p.OAEP = true
		p.Hash, p.MGFHash, p.Label = o.Hash, o.MGFHash, o.Label
		if p.MGFHash == 0 {
			p.MGFHash = p.Hash
		}
		if !oaepHashes[p.Hash] || !oaepHashes[p.MGFHash] {
			return p, fmt.Errorf("decrypt: OAEP with hash %v and MGF1 hash %v (SHA-1 and SHA-2 are supported): %w", p.Hash, p.MGFHash, ErrUnsupported)
		}
		return p, nil
	}
	return p, fmt.Errorf("decrypt: options %T (want *rsa.OAEPOptions or *rsa.PKCS1v15DecryptOptions): %w", opts, ErrUnsupported)
}

// ImplicitRejection finishes a PKCS#1 v1.5 decryption that asked for a
// session key of keyLen bytes, as crypto/rsa.DecryptPKCS1v15SessionKey
// does: if ok is false or the plaintext has another length, it returns
// random bytes of keyLen instead of an error, choosing in constant time, so
// that a Bleichenbacher attacker learns nothing from the answer.
func ImplicitRejection(random io.Reader, plaintext []byte, ok bool, keyLen int) ([]byte, error) {
	key := make([]byte, keyLen)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, fmt.Errorf("decrypt: reading randomness: %w", ErrUnavailable)
	}
	good := 0
	if ok {
		good = 1
	}
	good &= subtle.ConstantTimeEq(int32(len(plaintext)), int32(keyLen))
	if len(plaintext) == keyLen {
		subtle.ConstantTimeCopy(good, key, plaintext)
	}
	return key, nil
}
