package software

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/keyplane/keyplane/backend"
)

func init() {
	backend.Register(Scheme, func(ctx context.Context, uri string) (backend.Backend, error) {
		ks, err := Open(ctx, uri)
		if err != nil {
			return nil, err
		}
		return ks, nil
	})
}

// Keystore is the software backend: keys in memory or in a directory.
type Keystore struct {
	cfg       Config
	st        store
	encrypted bool
	closed    atomic.Bool
}

var (
	_ backend.Backend       = (*Keystore)(nil)
	_ backend.AEADBackend   = (*Keystore)(nil)
	_ backend.FernetBackend = (*Keystore)(nil)
	_ backend.Importer      = (*Keystore)(nil)
	_ backend.Exporter      = (*Keystore)(nil)
	_ backend.KeyAgreement  = (*Keystore)(nil)
	_ backend.KEM           = (*Keystore)(nil)

	_ backend.CertificateStore = (*Keystore)(nil)
)

// Open opens the keystore that uri names:
//
//	software:memory
//	software:<dir>[?passphrase-source=file:<path>]
//
// software:memory holds keys in memory for the life of the process; each
// Open gives a new, empty store.
//
// software:<dir> is a keystore directory, absolute or relative to the
// working directory, created (mode 0700) if missing. Examples:
//
//	software:/var/lib/myapp/keys
//	software:keys                      (./keys)
//	software:./memory                  (a directory named "memory")
//	software:/srv/keys?passphrase-source=file:/run/secrets/keystore-pass
//	software:/srv/my%3Fodd%25dir       (the directory "/srv/my?odd%dir")
//
// In the path, "%" followed by two hex digits is a byte ("%25" is "%",
// "%3F" is "?"); "~" is not expanded.
//
// The passphrase that encrypts private keys on disk comes from the file
// named by passphrase-source=file:<path> (which must be a regular file
// that only its owner can access, mode 0600 or stricter; one trailing
// newline is dropped). Without it, keys are stored unencrypted and the
// first write logs one warning, like ssh-keygen given an empty
// passphrase. The passphrase never goes in the URI itself; a program that
// holds it (or fetches it from a secret manager) supplies it in code:
// ParseURI, set Config.Passphrase, then OpenConfig. Open reads no
// environment variable (the keyplane CLI reads KEYPLANE_PASSPHRASE and
// passes it that way).
//
// Unknown query parameters are refused with an error wrapping
// backend.ErrInvalidInput that names them.
func Open(ctx context.Context, uri string) (*Keystore, error) {
	cfg, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig opens the keystore cfg describes (from ParseURI, or built in
// code). It calls cfg.Passphrase, when set, once; the keystore keeps the
// passphrase until Close, which zeroes it. cfg is not kept: changing it
// afterwards changes nothing.
func OpenConfig(ctx context.Context, cfg *Config) (*Keystore, error) {
	if cfg == nil {
		return nil, fmt.Errorf("software: nil Config: %w", backend.ErrInvalidInput)
	}
	c := *cfg
	c.Passphrase = nil // the keystore keeps the bytes, not the callback
	if cfg.Memory {
		if cfg.Passphrase != nil || cfg.PassphraseFile != "" {
			return nil, fmt.Errorf("software: a passphrase has no use with software:memory (keys in memory are never written): %w", backend.ErrInvalidInput)
		}
		return &Keystore{cfg: c, st: newMemStore()}, nil
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("software: no keystore directory: %w", backend.ErrInvalidInput)
	}
	pass, err := resolvePassphrase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ds, err := openDirStore(cfg.Dir, pass)
	if err != nil {
		clear(pass)
		return nil, err
	}
	return &Keystore{cfg: c, st: ds, encrypted: pass != nil}, nil
}

// String returns the keystore's URI (no secret).
func (ks *Keystore) String() string { return ks.cfg.String() }

var errClosed = fmt.Errorf("software: keystore is closed: %w", backend.ErrClosed)

func (ks *Keystore) check(ctx context.Context) error {
	if ks.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("software: %w", err)
	}
	return nil
}

// find returns the key version ref names: the one version an "id:" ref
// names, or the primary (highest) version of the key a label names. It
// does not check retirement (see usable).
func (ks *Keystore) find(ctx context.Context, ref string) (*keyEntry, error) {
	e, _, err := ks.resolve(ctx, ref)
	return e, err
}

// resolve returns the key version ref names (as find) and the primary
// version of its key.
func (ks *Keystore) resolve(ctx context.Context, ref string) (e, primary *keyEntry, err error) {
	if err := ks.check(ctx); err != nil {
		return nil, nil, err
	}
	r, err := backend.ParseKeyRef(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("software: %w", err)
	}
	entries, err := ks.st.list(ctx)
	if err != nil {
		return nil, nil, err
	}
	var found []*keyEntry
	for _, e := range entries {
		if r.Matches(&e.meta) {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		return nil, nil, fmt.Errorf("software: no key %q in %s: %w", r, ks.st.describe(), backend.ErrNotFound)
	}
	if r.ID != nil && len(found) > 1 {
		return nil, nil, fmt.Errorf("software: %d keys have ID %s: %w", len(found), r, backend.ErrInvalidInput)
	}
	label := found[0].meta.Label
	versions := versionsOf(entries, label)
	for i := 1; i < len(versions); i++ {
		if versions[i].meta.Version == versions[i-1].meta.Version {
			return nil, nil, fmt.Errorf("software: %d keys labelled %q have version %d (refer to one by id:<hex>): %w", 2, label, versions[i].meta.Version, backend.ErrInvalidInput)
		}
	}
	primary = versions[len(versions)-1]
	if r.ID != nil {
		return found[0], primary, nil
	}
	return primary, primary, nil
}

// usable returns the key version ref names, refusing one below its key's
// minimum version with backend.ErrKeyRetired.
func (ks *Keystore) usable(ctx context.Context, ref string) (*keyEntry, error) {
	e, primary, err := ks.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if min := primary.minVersion(); e.meta.Version < min {
		return nil, fmt.Errorf("software: key %q version %d is below its minimum version %d: %w", e.meta.Label, e.meta.Version, min, backend.ErrKeyRetired)
	}
	return e, nil
}

// private returns the entry's private material, loading (and decrypting)
// it on first use.
func (ks *Keystore) private(e *keyEntry) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.priv == nil {
		p, err := ks.st.load(e)
		if err != nil {
			return nil, err
		}
		e.priv = p
	}
	return e.priv, nil
}

// GenerateKey makes a key inside the keystore.
func (ks *Keystore) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if err := ks.check(ctx); err != nil {
		return nil, err
	}
	if err := backend.ValidateLabel(spec.Label); err != nil {
		return nil, fmt.Errorf("software: %w", err)
	}
	if spec.Algorithm.Family() == backend.FamilyUnknown {
		return nil, fmt.Errorf("software: key type %q (known: %s): %w", spec.Algorithm, joinAlgs(), backend.ErrUnsupported)
	}
	if spec.Wrappable {
		return nil, fmt.Errorf("software: generate %q: a wrappable key (leaving only under a trusted wrapping key) needs a backend that enforces it, and a keystore's keys can always be exported: %w", spec.Label, backend.ErrUnsupported)
	}
	priv, err := generate(spec.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("software: generating %s key: %v: %w", spec.Algorithm, err, backend.ErrUnavailable)
	}
	return ks.store(ctx, spec.Label, spec.Algorithm, priv)
}

func joinAlgs() string {
	algs := backend.AllAlgorithms()
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func (ks *Keystore) store(ctx context.Context, label string, alg backend.Algorithm, priv any) (*backend.Key, error) {
	e, err := newEntry(label, alg, priv)
	if err != nil {
		return nil, err
	}
	if err := ks.st.add(ctx, e, false); err != nil {
		return nil, err
	}
	return e.describe(), nil
}

// ImportKey stores existing key material: *rsa.PrivateKey (2048, 3072 or
// 4096 bits), *ecdsa.PrivateKey (P-256, P-384, P-521), ed25519.PrivateKey,
// or backend.SecretKey (aes-256, fernet; 32 bytes). The keystore keeps its
// own copy.
func (ks *Keystore) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	if err := ks.check(ctx); err != nil {
		return nil, err
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, fmt.Errorf("software: %w", err)
	}
	priv, alg, err := normalizeImport(key)
	if err != nil {
		return nil, err
	}
	return ks.store(ctx, label, alg, priv)
}

// ExportKey returns a copy of the key's material: *rsa.PrivateKey,
// *ecdsa.PrivateKey, ed25519.PrivateKey or backend.SecretKey.
func (ks *Keystore) ExportKey(ctx context.Context, ref string) (any, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	c, err := clonePrivate(priv)
	if err != nil {
		return nil, fmt.Errorf("software: export: %w", err)
	}
	if secret, ok := c.([]byte); ok {
		return backend.SecretKey{Algorithm: e.meta.Algorithm, Value: secret}, nil
	}
	return c, nil
}

// Key describes the key version ref names: for a label, its primary
// version.
func (ks *Keystore) Key(ctx context.Context, ref string) (*backend.Key, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	return e.describe(), nil
}

// Keys lists every key, sorted by label: one entry per key, its primary
// version (Versions lists the others).
func (ks *Keystore) Keys(ctx context.Context) ([]*backend.Key, error) {
	if err := ks.check(ctx); err != nil {
		return nil, err
	}
	entries, err := ks.st.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*backend.Key, 0, len(entries))
	for _, e := range entries {
		if versions := versionsOf(entries, e.meta.Label); versions[len(versions)-1] == e {
			out = append(out, e.describe())
		}
	}
	slices.SortFunc(out, func(a, b *backend.Key) int {
		if c := strings.Compare(a.Label, b.Label); c != 0 {
			return c
		}
		return strings.Compare(a.IDHex(), b.IDHex())
	})
	return out, nil
}

// DeleteKey removes the key's files (or its entry in memory): every
// version of the key ref names.
func (ks *Keystore) DeleteKey(ctx context.Context, ref string) error {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return err
	}
	entries, err := ks.st.list(ctx)
	if err != nil {
		return err
	}
	// The primary last: until it goes, the key is still whole enough to
	// delete again after a failure half-way.
	for _, v := range versionsOf(entries, e.meta.Label) {
		if err := ks.st.remove(ctx, v); err != nil && (v == e || !errors.Is(err, backend.ErrNotFound)) {
			return err
		}
		v.forget()
	}
	return nil
}

// Signer returns a crypto.Signer for an RSA, ECDSA or Ed25519 key. The
// private key is decrypted here, once per process, not at each signature.
func (ks *Keystore) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	e, err := ks.usable(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !e.meta.Algorithm.Asymmetric() {
		return nil, fmt.Errorf("software: key %q is a %s secret key and cannot sign: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
	}
	if !e.meta.Algorithm.Signs() {
		return nil, fmt.Errorf("software: key %q is a %s key and cannot sign: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	return newSigner(ks, e, priv)
}

// Decrypter returns a crypto.Decrypter for an RSA key.
func (ks *Keystore) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	e, err := ks.usable(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e.meta.Algorithm.Family() != backend.FamilyRSA {
		return nil, fmt.Errorf("software: key %q is a %s key; only RSA keys decrypt: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	return &decrypter{ks: ks, priv: priv.(*rsa.PrivateKey)}, nil
}

// AEAD returns AES-256-GCM with an aes-256 key.
func (ks *Keystore) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	e, err := ks.usable(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e.meta.Algorithm != backend.AES256 {
		return nil, fmt.Errorf("software: key %q is a %s key, not %s: %w", e.meta.Label, e.meta.Algorithm, backend.AES256, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(priv.([]byte))
	if err != nil {
		return nil, fmt.Errorf("software: key %q: %v: %w", e.meta.Label, err, backend.ErrInvalidInput)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("software: key %q: %v: %w", e.meta.Label, err, backend.ErrInvalidInput)
	}
	return &aeadKey{ks: ks, gcm: gcm}, nil
}

// Fernet returns the two halves of a fernet key.
func (ks *Keystore) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	e, err := ks.usable(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e.meta.Algorithm != backend.Fernet {
		return nil, fmt.Errorf("software: key %q is a %s key, not %s: %w", e.meta.Label, e.meta.Algorithm, backend.Fernet, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	return newFernetKey(ks, priv.([]byte))
}

// Capabilities reports every algorithm and operation, import and export.
func (ks *Keystore) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	if err := ks.check(ctx); err != nil {
		return nil, err
	}
	c := &backend.Capabilities{
		Backend:     Scheme,
		Description: ks.st.describe(),
		Algorithms:  backend.AllAlgorithms(),
		Operations:  backend.AllOperations(),
		Import:      true,
		Export:      true,
		Persistent:  ks.st.persistent(),

		Certificates: true,
	}
	switch {
	case ks.cfg.Memory:
		c.Notes = append(c.Notes, "keys live in this process's memory and vanish when it exits")
	case ks.encrypted:
		c.Notes = append(c.Notes, fmt.Sprintf("private keys encrypted on disk: PKCS#8 PBES2, PBKDF2-HMAC-SHA256 (%d iterations), AES-256-CBC", kdfIterations))
	default:
		c.Notes = append(c.Notes, "no passphrase configured: private keys are stored unencrypted (files 0600)")
	}
	return c, nil
}

// Close forgets every decrypted key. Later calls on the keystore, and on
// the signers and other handles it gave out, return backend.ErrClosed.
func (ks *Keystore) Close() error {
	if ks.closed.Swap(true) {
		return nil
	}
	ks.st.close()
	return nil
}
