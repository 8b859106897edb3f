package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
)

// Signer returns a crypto.Signer for an asymmetric key. The public key is
// fetched (GetPublicKey) once per key and cached; each Sign is one KMS
// Sign request with MessageType DIGEST.
func (b *Backend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	ki, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ki.public == nil {
		return nil, fmt.Errorf("awskms: key %q is a %s key, which cannot sign: %w", ref, ki.alg, backend.ErrUnsupported)
	}
	return &signer{b: b, ki: ki}, nil
}

type signer struct {
	b  *Backend
	ki *keyInfo
}

func (s *signer) Public() crypto.PublicKey { return s.ki.public }

// Sign signs digest in KMS. RSA-PSS takes only the salt length the
// endpoint makes (Config.PSSSalt), and each PSS signature is checked
// against the cached public key before it is returned; ECDSA takes any
// supported hash, the digest being fitted to the curve's KMS algorithm as
// ECDSA itself reads it (FIPS 186-5: the leftmost bits of the digest, as
// an integer).
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := s.b.check(); err != nil {
		return nil, err
	}
	p, err := backend.ParseSignerOpts(s.ki.alg, s.ki.public, digest, opts)
	if err != nil {
		return nil, err
	}
	if s.ki.usage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("awskms: key %s has key usage %s and cannot sign: %w", s.ki.keyID, s.ki.usage, backend.ErrUnsupported)
	}
	algo, msg, err := s.kmsAlgorithm(p, digest)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.b.callContext()
	defer cancel()
	out, err := s.b.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.ki.keyID),
		Message:          msg,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: algo,
	})
	if err != nil {
		return nil, classify("Sign", err)
	}
	if p.PSS {
		if err := s.verifyPSS(p, digest, out.Signature); err != nil {
			return nil, err
		}
	}
	return out.Signature, nil
}

// kmsAlgorithm picks the KMS signing algorithm and the message to send.
func (s *signer) kmsAlgorithm(p backend.SignParams, digest []byte) (types.SigningAlgorithmSpec, []byte, error) {
	switch pub := s.ki.public.(type) {
	case *rsa.PublicKey:
		if p.PSS {
			maxSalt := (pub.N.BitLen()-1+7)/8 - p.Hash.Size() - 2
			want := p.Hash.Size()
			if s.b.cfg.pssSalt() == PSSSaltMaximum {
				want = maxSalt
			}
			if p.SaltLength != want {
				return "", nil, fmt.Errorf("awskms: RSA-PSS with a salt of %d bytes: this KMS endpoint signs with %d (pss-salt=%s): %w", p.SaltLength, want, s.b.cfg.pssSalt(), backend.ErrUnsupported)
			}
		}
		a, ok := rsaAlgorithms[rsaKey{p.Hash, p.PSS}]
		if !ok {
			return "", nil, fmt.Errorf("awskms: RSA signatures with %v: KMS signs with SHA-256, SHA-384, SHA-512: %w", p.Hash, backend.ErrUnsupported)
		}
		return a, digest, nil
	case *ecdsa.PublicKey:
		var a types.SigningAlgorithmSpec
		var n int
		switch s.ki.alg {
		case backend.ECP256:
			a, n = types.SigningAlgorithmSpecEcdsaSha256, 32
		case backend.ECP384:
			a, n = types.SigningAlgorithmSpecEcdsaSha384, 48
		case backend.ECP521:
			a, n = types.SigningAlgorithmSpecEcdsaSha512, 64
		}
		return a, fitDigest(digest, n, pub.Curve.Params().BitSize), nil
	}
	return "", nil, fmt.Errorf("awskms: a %s key cannot sign: %w", s.ki.alg, backend.ErrUnsupported)
}

// fitDigest returns the n-byte message that KMS's ECDSA algorithm for a
// curve of bits takes and that gives the same ECDSA integer as digest.
// ECDSA reads the leftmost min(bits, 8·len(digest)) bits of a digest as an
// integer: a shorter digest left-padded with zeros is the same integer,
// and a longer one cut to n bytes keeps every bit the curve reads (n·8 is
// 256 for P-256 and 384 for P-384, the curves' sizes; for P-521, n is 64,
// the longest digest there is).
func fitDigest(digest []byte, n, bits int) []byte {
	if len(digest) > n && n*8 >= bits {
		return digest[:n]
	}
	out := make([]byte, n)
	copy(out[n-len(digest):], digest)
	return out
}

type rsaKey struct {
	h   crypto.Hash
	pss bool
}

var rsaAlgorithms = map[rsaKey]types.SigningAlgorithmSpec{
	{crypto.SHA256, false}: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	{crypto.SHA384, false}: types.SigningAlgorithmSpecRsassaPkcs1V15Sha384,
	{crypto.SHA512, false}: types.SigningAlgorithmSpecRsassaPkcs1V15Sha512,
	{crypto.SHA256, true}:  types.SigningAlgorithmSpecRsassaPssSha256,
	{crypto.SHA384, true}:  types.SigningAlgorithmSpecRsassaPssSha384,
	{crypto.SHA512, true}:  types.SigningAlgorithmSpecRsassaPssSha512,
}

// verifyPSS checks an RSA-PSS signature from KMS with the cached public
// key and the salt length asked for, so that a signature made with
// another salt (an endpoint whose pss-salt is not what the URI says)
// never reaches the caller. RSA verification costs about 1% of a KMS
// round trip; ECDSA and PKCS#1 v1.5 signatures, which have no such
// parameter, are not checked (an ECDSA verification costs as much as a
// local-kms signature).
func (s *signer) verifyPSS(p backend.SignParams, digest, sig []byte) error {
	pub := s.ki.public.(*rsa.PublicKey)
	err := rsa.VerifyPSS(pub, p.Hash, digest, sig, &rsa.PSSOptions{Hash: p.Hash, SaltLength: p.SaltLength})
	if err == nil {
		return nil
	}
	if rsa.VerifyPSS(pub, p.Hash, digest, sig, &rsa.PSSOptions{Hash: p.Hash, SaltLength: rsa.PSSSaltLengthAuto}) == nil {
		return fmt.Errorf("awskms: KMS made an RSA-PSS signature with another salt length than %d bytes (local-kms uses the maximum: open it with pss-salt=%s): %w", p.SaltLength, PSSSaltMaximum, backend.ErrUnsupported)
	}
	return fmt.Errorf("awskms: the RSA-PSS signature KMS returned does not verify with the key's public key: %w", backend.ErrUnavailable)
}
