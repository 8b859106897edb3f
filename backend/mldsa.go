package backend

import (
	"crypto"
	"fmt"
)

// MLDSAOptions are the crypto.SignerOpts of an ML-DSA signature with a
// context string (FIPS 204, section 5.2). An ML-DSA crypto.Signer of any
// backend signs the whole message, as Ed25519 does: pass crypto.Hash(0)
// for the empty context, or a *MLDSAOptions. HashML-DSA (a pre-hashed
// message) and the external-μ form are refused with ErrUnsupported.
//
// filippo.io/mldsa has an Options type of the same shape; backend, which
// imports only the standard library, cannot name it, so keyplane's
// signers take this one (docs/decisions.md: from Go 1.27, crypto/mldsa's
// Options will be taken too).
type MLDSAOptions struct {
	// Context is the context string, at most 255 bytes; the verifier must
	// use the same.
	Context string
}

// HashFunc returns 0: ML-DSA signs the message itself.
func (*MLDSAOptions) HashFunc() crypto.Hash { return 0 }

// MaxMLDSAContext is the longest context string FIPS 204 allows.
const MaxMLDSAContext = 255

func parseMLDSAOpts(opts crypto.SignerOpts) (SignParams, error) {
	var p SignParams
	switch o := opts.(type) {
	case crypto.Hash:
		if o != 0 {
			return p, fmt.Errorf("sign: ML-DSA signs the message itself, want crypto.Hash(0) or *backend.MLDSAOptions, got %v (HashML-DSA is not supported): %w", o, ErrUnsupported)
		}
	case *MLDSAOptions:
		if o == nil {
			return p, fmt.Errorf("sign: nil *backend.MLDSAOptions: %w", ErrInvalidInput)
		}
		if len(o.Context) > MaxMLDSAContext {
			return p, fmt.Errorf("sign: ML-DSA context of %d bytes, at most %d: %w", len(o.Context), MaxMLDSAContext, ErrInvalidInput)
		}
		p.Context = o.Context
	default:
		return p, fmt.Errorf("sign: options %T for an ML-DSA key (want crypto.Hash(0) or *backend.MLDSAOptions): %w", opts, ErrUnsupported)
	}
	return p, nil
}
