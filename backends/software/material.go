package software

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// keyEntry is one key known to a keystore: its public description and,
// once loaded, its private material (crypto.Signer for asymmetric keys,
// []byte for secret keys).
type keyEntry struct {
	meta backend.Key
	name string // dir store: the key's file-name stem (hex ID)

	// min is the key's minimum version, meaningful in its primary
	// version's entry (0: none retired).
	min atomic.Int64
	// stat is the size and modification time of the dir store's sidecar
	// when it was read: SetMinVersion rewrites a sidecar, and list
	// re-reads one whose stat changed.
	stat fileStamp

	mu    sync.Mutex
	priv  any
	certs []byte // memory store: the stored chain, PEM (certs.go)
}

func (e *keyEntry) minVersion() int { return int(e.min.Load()) }

// describe returns a copy of the entry's description for callers.
func (e *keyEntry) describe() *backend.Key {
	k := e.meta
	k.ID = append([]byte(nil), e.meta.ID...)
	return &k
}

func newID() ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("software: reading randomness: %w", backend.ErrUnavailable)
	}
	return id, nil
}

// generate makes fresh key material of algorithm alg.
func generate(alg backend.Algorithm) (any, error) {
	switch alg.Family() {
	case backend.FamilyX25519, backend.FamilyMLKEM, backend.FamilyMLDSA:
		return generatePQ(alg)
	case backend.FamilyRSA:
		return rsa.GenerateKey(rand.Reader, alg.RSABits())
	case backend.FamilyEC:
		return ecdsa.GenerateKey(alg.Curve(), rand.Reader)
	case backend.FamilyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case backend.FamilyAES, backend.FamilyFernet:
		k := make([]byte, alg.SecretSize())
		_, err := rand.Read(k)
		return k, err
	}
	return nil, fmt.Errorf("software: key type %q (known: %v): %w", alg, backend.AllAlgorithms(), backend.ErrUnsupported)
}

// newEntry describes freshly made or imported material.
func newEntry(label string, alg backend.Algorithm, priv any) (*keyEntry, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	e := &keyEntry{
		meta: backend.Key{ID: id, Label: label, Algorithm: alg, Created: time.Now().UTC().Truncate(time.Second), Version: 1},
		priv: priv,
	}
	e.meta.Public = publicOf(priv)
	return e, nil
}

// normalizeImport checks key material handed to ImportKey and returns a
// private copy of it with its algorithm. A malformed value never panics.
func normalizeImport(key any) (priv any, alg backend.Algorithm, err error) {
	defer func() {
		if r := recover(); r != nil {
			priv, alg, err = nil, "", fmt.Errorf("software: import: malformed %T: %w", key, backend.ErrInvalidInput)
		}
	}()
	switch k := key.(type) {
	case backend.SecretKey:
		return normalizeSecret(k)
	case *backend.SecretKey:
		if k == nil {
			return nil, "", fmt.Errorf("software: import: nil *SecretKey: %w", backend.ErrInvalidInput)
		}
		return normalizeSecret(*k)
	case *rsa.PrivateKey:
		if k == nil || k.N == nil || k.D == nil || len(k.Primes) < 2 {
			return nil, "", fmt.Errorf("software: import: incomplete RSA private key: %w", backend.ErrInvalidInput)
		}
		if alg, err = backend.AlgorithmOf(&k.PublicKey); err != nil {
			return nil, "", fmt.Errorf("software: import: %w", err)
		}
		if err := k.Validate(); err != nil {
			return nil, "", fmt.Errorf("software: import: invalid RSA private key: %v: %w", err, backend.ErrInvalidInput)
		}
	case *ecdsa.PrivateKey:
		//lint:ignore SA1019 a hand-built key without D makes (*ecdsa.PrivateKey).Bytes panic, so D is checked, not used
		if k == nil || k.Curve == nil || k.D == nil {
			return nil, "", fmt.Errorf("software: import: incomplete ECDSA private key: %w", backend.ErrInvalidInput)
		}
		if alg, err = backend.AlgorithmOf(&k.PublicKey); err != nil {
			return nil, "", fmt.Errorf("software: import: %w", err)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, "", fmt.Errorf("software: import: Ed25519 private key of %d bytes, want %d: %w", len(k), ed25519.PrivateKeySize, backend.ErrInvalidInput)
		}
		if !ed25519.NewKeyFromSeed(k.Seed()).Equal(k) {
			return nil, "", fmt.Errorf("software: import: Ed25519 private key whose public half does not match its seed: %w", backend.ErrInvalidInput)
		}
		return ed25519.NewKeyFromSeed(k.Seed()), backend.Ed25519, nil
	case *ecdh.PrivateKey, *mlkem.DecapsulationKey768, *mlkem.DecapsulationKey1024, *mldsa.PrivateKey:
		return normalizePQ(key)
	default:
		return nil, "", fmt.Errorf("software: import: key of type %T (want *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ecdh.PrivateKey (X25519), *mlkem.DecapsulationKey768/1024, *mldsa.PrivateKey or backend.SecretKey): %w", key, backend.ErrUnsupported)
	}
	// RSA and ECDSA: a round trip through PKCS#8 validates the key (the
	// public point is on the curve and matches) and gives a private copy.
	copied, err := clonePrivate(key)
	if err != nil {
		return nil, "", fmt.Errorf("software: import: %w", err)
	}
	if !copied.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.(crypto.Signer).Public()) {
		return nil, "", fmt.Errorf("software: import: the private key does not match its public key: %w", backend.ErrInvalidInput)
	}
	return copied, alg, nil
}

func normalizeSecret(k backend.SecretKey) (any, backend.Algorithm, error) {
	switch k.Algorithm {
	case backend.AES256, backend.Fernet:
	default:
		return nil, "", fmt.Errorf("software: import: secret key of type %q (want %s or %s): %w", k.Algorithm, backend.AES256, backend.Fernet, backend.ErrUnsupported)
	}
	if len(k.Value) != k.Algorithm.SecretSize() {
		return nil, "", fmt.Errorf("software: import: %s key of %d bytes, want %d: %w", k.Algorithm, len(k.Value), k.Algorithm.SecretSize(), backend.ErrInvalidInput)
	}
	return append([]byte(nil), k.Value...), k.Algorithm, nil
}

// clonePrivate returns a deep copy of an RSA, ECDSA or Ed25519 private key
// (through PKCS#8, which also validates it), or of secret bytes.
func clonePrivate(key any) (any, error) {
	switch k := key.(type) {
	case []byte:
		return append([]byte(nil), k...), nil
	case ed25519.PrivateKey:
		return append(ed25519.PrivateKey(nil), k...), nil
	}
	der, err := pkcs8.MarshalPrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return pkcs8.ParsePrivateKey(der)
}

// checkMaterial verifies that loaded material is what the metadata says.
func checkMaterial(meta *backend.Key, priv any) error {
	if secret, ok := priv.([]byte); ok {
		if meta.Algorithm.Asymmetric() || len(secret) != meta.Algorithm.SecretSize() {
			return fmt.Errorf("software: key %q: key file holds a secret key, metadata says %s: %w", meta.Label, meta.Algorithm, backend.ErrInvalidInput)
		}
		return nil
	}
	pub := publicOf(priv)
	if pub == nil {
		return fmt.Errorf("software: key %q: key file holds %T: %w", meta.Label, priv, backend.ErrInvalidInput)
	}
	alg, err := backend.AlgorithmOf(pub)
	if err != nil {
		return fmt.Errorf("software: key %q: %w", meta.Label, err)
	}
	if alg != meta.Algorithm || !samePublic(pub, meta.Public) {
		return fmt.Errorf("software: key %q: key file does not match its metadata (algorithm %s, public key): %w", meta.Label, alg, backend.ErrInvalidInput)
	}
	return nil
}

// forget drops the entry's private material, zeroing secret bytes.
func (e *keyEntry) forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch k := e.priv.(type) {
	case []byte:
		clear(k)
	case ed25519.PrivateKey:
		clear(k)
	}
	e.priv = nil
}
