package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // the hashes signatureHash may choose
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"

	"github.com/keyplane/keyplane/backend"
)

// plugin answers one request.
type plugin struct {
	init   *common.InitOptions
	stdin  io.Reader
	getenv func(string) string
}

// call runs the request's method.
func (p *plugin) call(ctx context.Context, m *common.MethodArgs) (*common.PluginResp, error) {
	switch m.MethodName {
	case common.DefaultAlgorithmMethodName:
		return &common.PluginResp{DefaultAlgorithm: &common.DefaultAlgorithmResp{DefaultAlgorithm: sigstoreAlgorithms()[0].Name}}, nil
	case common.SupportedAlgorithmsMethodName:
		var names []string
		for _, a := range sigstoreAlgorithms() {
			names = append(names, a.Name)
		}
		return &common.PluginResp{SupportedAlgorithms: &common.SupportedAlgorithmsResp{SupportedAlgorithms: names}}, nil
	case common.CreateKeyMethodName:
		if m.CreateKey == nil {
			return nil, errors.New("createKey without its arguments")
		}
		pemBytes, err := p.createKey(ctx, m.CreateKey.Algorithm)
		if err != nil {
			return nil, err
		}
		return &common.PluginResp{CreateKey: &common.CreateKeyResp{PublicKeyPEM: pemBytes}}, nil
	case common.PublicKeyMethodName:
		pemBytes, err := p.publicKey(ctx)
		if err != nil {
			return nil, err
		}
		return &common.PluginResp{PublicKey: &common.PublicKeyResp{PublicKeyPEM: pemBytes}}, nil
	case common.SignMessageMethodName:
		if m.SignMessage == nil || m.SignMessage.SignOptions == nil {
			return nil, errors.New("signMessage without its options")
		}
		sig, err := p.signMessage(ctx, &m.SignMessage.SignOptions.MessageOptions)
		if err != nil {
			return nil, err
		}
		return &common.PluginResp{SignMessage: &common.SignMessageResp{Signature: sig}}, nil
	case common.VerifySignatureMethodName:
		if m.VerifySignature == nil || m.VerifySignature.VerifyOptions == nil {
			return nil, errors.New("verifySignature without its options")
		}
		if err := p.verifySignature(ctx, m.VerifySignature.Signature, &m.VerifySignature.VerifyOptions.MessageOptions); err != nil {
			return nil, err
		}
		return &common.PluginResp{VerifySignature: &common.VerifySignatureResp{}}, nil
	default:
		return nil, fmt.Errorf("method %q is not part of protocol %s", m.MethodName, common.ProtocolVersion)
	}
}

// withKey opens the reference's backend and calls f with it and the
// parsed reference.
func (p *plugin) withKey(ctx context.Context, f func(b backend.Backend, ref keyRef) error) (err error) {
	ref, err := parseKeyRef(p.init.KeyResourceID, p.getenv)
	if err != nil {
		return err
	}
	b, err := open(ctx, ref.Backend, p.getenv)
	if err != nil {
		return fmt.Errorf("opening backend %s: %w", backend.Redact(ref.Backend), err)
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing backend: %w", cerr)
		}
	}()
	return f(b, ref)
}

// lookup returns the key ref names.
func lookup(ctx context.Context, b backend.Backend, ref keyRef) (*backend.Key, error) {
	k, err := b.Key(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", backend.Redact(ref.Key), err)
	}
	if k.Public == nil {
		return nil, fmt.Errorf("key %q is a %s key, with no public key: %w", backend.Redact(ref.Key), k.Algorithm, backend.ErrUnsupported)
	}
	return k, nil
}

// createKey makes the key the reference names, of the algorithm named,
// and returns its public key; a key that already exists with that
// algorithm is kept and its public key returned, as sigstore's other KMS
// providers do.
func (p *plugin) createKey(ctx context.Context, name string) (out []byte, err error) {
	alg, err := algorithmNamed(name)
	if err != nil {
		return nil, err
	}
	err = p.withKey(ctx, func(b backend.Backend, ref keyRef) error {
		k, err := b.Key(ctx, ref.Key)
		switch {
		case err == nil:
			if k.Algorithm != alg.Key {
				return fmt.Errorf("key %q exists and is %s, not %s (%s): %w", ref.Key, k.Algorithm, alg.Key, alg.Name, backend.ErrAlreadyExists)
			}
		case errors.Is(err, backend.ErrNotFound):
			k, err = b.GenerateKey(ctx, backend.KeySpec{Label: ref.Key, Algorithm: alg.Key})
			if err != nil {
				return fmt.Errorf("generating %s key %q: %w", alg.Key, ref.Key, err)
			}
		default:
			return fmt.Errorf("key %q: %w", backend.Redact(ref.Key), err)
		}
		out, err = publicKeyPEM(k.Public)
		return err
	})
	return out, err
}

// publicKey returns the PEM of the key's public key.
func (p *plugin) publicKey(ctx context.Context) (out []byte, err error) {
	err = p.withKey(ctx, func(b backend.Backend, ref keyRef) error {
		k, err := lookup(ctx, b, ref)
		if err != nil {
			return err
		}
		out, err = publicKeyPEM(k.Public)
		return err
	})
	return out, err
}

// signMessage signs the digest the options carry, or the message on
// standard input. When both are given, the digest must be the message's.
func (p *plugin) signMessage(ctx context.Context, mo *common.MessageOptions) (sig []byte, err error) {
	err = p.withKey(ctx, func(b backend.Backend, ref keyRef) error {
		k, err := lookup(ctx, b, ref)
		if err != nil {
			return err
		}
		signed, opts, err := p.toSign(k.Algorithm, mo)
		if err != nil {
			return err
		}
		s, err := b.Signer(ctx, ref.Key)
		if err != nil {
			return fmt.Errorf("key %q: %w", backend.Redact(ref.Key), err)
		}
		sig, err = s.Sign(rand.Reader, signed, opts)
		if err != nil {
			return fmt.Errorf("signing with key %q: %w", backend.Redact(ref.Key), err)
		}
		return nil
	})
	return sig, err
}

// verifySignature checks sig over the digest or message with the key's
// public key (in this process, with the standard library).
func (p *plugin) verifySignature(ctx context.Context, sig []byte, mo *common.MessageOptions) error {
	return p.withKey(ctx, func(b backend.Backend, ref keyRef) error {
		k, err := lookup(ctx, b, ref)
		if err != nil {
			return err
		}
		signed, opts, err := p.toSign(k.Algorithm, mo)
		if err != nil {
			return err
		}
		if !verify(k.Public, signed, sig, opts.HashFunc()) {
			return fmt.Errorf("invalid signature for key %q", backend.Redact(ref.Key))
		}
		return nil
	})
}

// toSign returns what a crypto.Signer of a key of type alg signs for the
// request, and the options: the digest (given, or computed from standard
// input) and its hash, or for Ed25519 the message itself.
func (p *plugin) toSign(alg backend.Algorithm, mo *common.MessageOptions) ([]byte, crypto.SignerOpts, error) {
	var digest []byte
	if mo.Digest != nil && len(*mo.Digest) > 0 {
		digest = *mo.Digest
	}
	h, err := signatureHash(alg, mo.HashFunc, p.init.HashFunc, digest)
	if err != nil {
		return nil, nil, err
	}
	if h == 0 { // Ed25519: the message
		msg, err := io.ReadAll(p.stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the message: %v", err)
		}
		return msg, crypto.Hash(0), nil
	}
	hasher := h.New()
	n, err := io.Copy(hasher, p.stdin)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the message: %v", err)
	}
	if digest == nil {
		return hasher.Sum(nil), h, nil
	}
	// cosign sends the message with its digest (and an empty message
	// with a digest alone, from its crypto.Signer wrapper): a message
	// that is there must be the one the digest is of.
	if n > 0 && !bytes.Equal(hasher.Sum(nil), digest) {
		return nil, nil, fmt.Errorf("the digest is not the %v digest of the message on standard input: %w", h, backend.ErrInvalidInput)
	}
	return digest, h, nil
}

// verify checks a signature made by toSign's signed bytes and hash.
func verify(pub crypto.PublicKey, signed, sig []byte, h crypto.Hash) bool {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, signed, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, h, signed, sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(pub, signed, sig)
	}
	return false
}

// publicKeyPEM encodes a public key as a PEM "PUBLIC KEY" (SPKI) block.
func publicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
