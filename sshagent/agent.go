package sshagent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ErrReadOnly is what the agent returns for requests that would change it:
// adding or removing keys, locking and unlocking. It wraps
// backend.ErrUnsupported.
var ErrReadOnly = fmt.Errorf("sshagent: the agent serves a backend's keys and cannot add, remove, lock or unlock them: %w", backend.ErrUnsupported)

// Backend is what the agent needs of a backend: its keys and their signers.
// Every backend.Backend is one.
type Backend interface {
	backend.KeyManager
	backend.Signer
}

// Option configures an Agent.
type Option func(*Agent)

// WithKeys limits the agent to the keys that refs name (labels, "id:<hex>"
// or backend key URIs, as Backend.Key accepts). Without it, the agent
// serves every key it can (RSA, ECDSA on P-256/P-384/P-521, Ed25519).
func WithKeys(refs ...string) Option {
	return func(a *Agent) { a.refs = slices.Clone(refs) }
}

// Agent serves a backend's keys: an agent.ExtendedAgent whose List and
// SignWithFlags go to the backend and whose other requests are refused.
type Agent struct {
	b    Backend
	refs []string // nil: every key

	mu      sync.Mutex
	signers map[string]*keySigner // by public key wire blob
}

// keySigner is one key as the agent offers it.
type keySigner struct {
	key    *backend.Key
	pub    ssh.PublicKey
	signer ssh.AlgorithmSigner // nil until first used
}

var _ agent.ExtendedAgent = (*Agent)(nil)

// New returns an agent serving b's keys. With WithKeys, it checks now that
// every key exists and can be used for SSH.
func New(b Backend, opts ...Option) (*Agent, error) {
	if b == nil {
		return nil, fmt.Errorf("sshagent: nil backend: %w", backend.ErrInvalidInput)
	}
	a := &Agent{b: b, signers: map[string]*keySigner{}}
	for _, o := range opts {
		o(a)
	}
	if a.refs != nil {
		if _, err := a.loadStrict(context.Background(), true); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// load lists the keys the agent serves, refreshing the cache. A key of
// WithKeys deleted since New is left out.
func (a *Agent) load(ctx context.Context) ([]*keySigner, error) {
	return a.loadStrict(ctx, false)
}

// loadStrict is load; when strict, a key of WithKeys that is missing or
// has no SSH form is an error.
func (a *Agent) loadStrict(ctx context.Context, strict bool) ([]*keySigner, error) {
	var keys []*backend.Key
	if a.refs == nil {
		all, err := a.b.Keys(ctx)
		if err != nil {
			return nil, fmt.Errorf("sshagent: listing keys: %w", err)
		}
		for _, k := range all {
			if _, err := sshPublicKey(k); err == nil {
				keys = append(keys, k)
			}
		}
	} else {
		for _, ref := range a.refs {
			k, err := a.b.Key(ctx, ref)
			if !strict && errors.Is(err, backend.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sshagent: key %q: %w", backend.Redact(ref), err)
			}
			if _, err := sshPublicKey(k); err != nil {
				return nil, fmt.Errorf("sshagent: key %q: %w", k.Label, err)
			}
			keys = append(keys, k)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*keySigner, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		pub, _ := sshPublicKey(k)
		blob := string(pub.Marshal())
		if seen[blob] {
			continue // the same key under two refs
		}
		seen[blob] = true
		ks := a.signers[blob]
		if ks == nil || ks.key.Label != k.Label {
			ks = &keySigner{key: k, pub: pub}
			a.signers[blob] = ks
		}
		out = append(out, ks)
	}
	return out, nil
}

// sshPublicKey returns k's public key for SSH, or an error wrapping
// backend.ErrUnsupported for keys SSH has no form for.
func sshPublicKey(k *backend.Key) (ssh.PublicKey, error) {
	switch p := k.Public.(type) {
	case *rsa.PublicKey:
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, fmt.Errorf("SSH has no name for curve %s: %w", p.Curve.Params().Name, backend.ErrUnsupported)
		}
	case nil:
		return nil, fmt.Errorf("a %s key has no public key for SSH: %w", k.Algorithm, backend.ErrUnsupported)
	default:
		return nil, fmt.Errorf("no SSH form for public key %T: %w", k.Public, backend.ErrUnsupported)
	}
	pub, err := ssh.NewPublicKey(k.Public)
	if err != nil {
		return nil, fmt.Errorf("encoding the SSH public key: %v: %w", err, backend.ErrUnsupported)
	}
	return pub, nil
}

// List returns the keys the agent serves, each with its label as comment.
func (a *Agent) List() ([]*agent.Key, error) {
	ks, err := a.load(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]*agent.Key, len(ks))
	for i, k := range ks {
		out[i] = &agent.Key{Format: k.pub.Type(), Blob: k.pub.Marshal(), Comment: k.key.Label}
	}
	return out, nil
}

// Sign signs data with the key, as SignWithFlags with no flags (ssh-rsa,
// SHA-1, for RSA keys).
func (a *Agent) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return a.SignWithFlags(key, data, 0)
}

// SignWithFlags signs data with the key whose public key is key. For RSA
// keys, agent.SignatureFlagRsaSha256 asks for rsa-sha2-256 and
// agent.SignatureFlagRsaSha512 for rsa-sha2-512 (SHA-256 wins when both
// are set, as in OpenSSH's agent); other keys ignore the flags. A key the
// agent does not serve is an error wrapping backend.ErrNotFound.
func (a *Agent) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	ctx := context.Background()
	ks, err := a.find(ctx, key)
	if err != nil {
		return nil, err
	}
	s, err := a.signerFor(ctx, ks)
	if err != nil {
		return nil, err
	}
	alg := ""
	if ks.pub.Type() == ssh.KeyAlgoRSA {
		switch {
		case flags&agent.SignatureFlagRsaSha256 != 0:
			alg = ssh.KeyAlgoRSASHA256
		case flags&agent.SignatureFlagRsaSha512 != 0:
			alg = ssh.KeyAlgoRSASHA512
		default:
			alg = ssh.KeyAlgoRSA
		}
	}
	var sig *ssh.Signature
	if alg == "" {
		sig, err = s.Sign(rand.Reader, data)
	} else {
		sig, err = s.SignWithAlgorithm(rand.Reader, data, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("sshagent: signing with key %q: %w", ks.key.Label, err)
	}
	return sig, nil
}

// find returns the served key whose public key is key. It lists the keys
// again each time, so that a key deleted from the backend is not used
// through a signer made before (a software signer would still hold it).
func (a *Agent) find(ctx context.Context, key ssh.PublicKey) (*keySigner, error) {
	if key == nil {
		return nil, fmt.Errorf("sshagent: no key: %w", backend.ErrInvalidInput)
	}
	blob := key.Marshal()
	list, err := a.load(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range list {
		if bytes.Equal(k.pub.Marshal(), blob) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("sshagent: the agent holds no %s key %s: %w", key.Type(), ssh.FingerprintSHA256(key), backend.ErrNotFound)
}

// signerFor returns (making it once) the ssh signer of a served key.
func (a *Agent) signerFor(ctx context.Context, ks *keySigner) (ssh.AlgorithmSigner, error) {
	a.mu.Lock()
	s := ks.signer
	a.mu.Unlock()
	if s != nil {
		return s, nil
	}
	ref := ks.key.URI
	if ref == "" {
		ref = ks.key.Label
	}
	cs, err := a.b.Signer(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("sshagent: signer for key %q: %w", ks.key.Label, err)
	}
	sshSigner, err := ssh.NewSignerFromSigner(cs)
	if err != nil {
		return nil, fmt.Errorf("sshagent: key %q: %v: %w", ks.key.Label, err, backend.ErrUnsupported)
	}
	as, ok := sshSigner.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("sshagent: key %q: no algorithm choice: %w", ks.key.Label, backend.ErrUnsupported)
	}
	a.mu.Lock()
	ks.signer = as
	a.mu.Unlock()
	return as, nil
}

// Signers returns ssh.Signers for the served keys, backed by the backend
// (no private key is in them), for a Go SSH client:
// ssh.PublicKeysCallback(a.Signers). RSA signers choose rsa-sha2-256 or
// rsa-sha2-512 as the server negotiates.
func (a *Agent) Signers() ([]ssh.Signer, error) {
	ctx := context.Background()
	ks, err := a.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ssh.Signer, 0, len(ks))
	for _, k := range ks {
		s, err := a.signerFor(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Add refuses: keys come from the backend. It returns ErrReadOnly.
func (a *Agent) Add(agent.AddedKey) error { return ErrReadOnly }

// Remove refuses: keys are deleted in the backend. It returns ErrReadOnly.
func (a *Agent) Remove(ssh.PublicKey) error { return ErrReadOnly }

// RemoveAll refuses, as Remove. It returns ErrReadOnly.
func (a *Agent) RemoveAll() error { return ErrReadOnly }

// Lock refuses: stop the agent instead. It returns ErrReadOnly.
func (a *Agent) Lock([]byte) error { return ErrReadOnly }

// Unlock refuses, as Lock. It returns ErrReadOnly.
func (a *Agent) Unlock([]byte) error { return ErrReadOnly }

// Extension answers every extension (session-bind@openssh.com included)
// with agent.ErrExtensionUnsupported.
func (a *Agent) Extension(string, []byte) ([]byte, error) {
	return nil, agent.ErrExtensionUnsupported
}
