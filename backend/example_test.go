package backend_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/keyplane/keyplane/backend"
)

// exampleBackend is the smallest backend that keeps the contract: Ed25519
// keys in memory. It is registered as "example" for the examples below.
type exampleBackend struct {
	mu     sync.Mutex
	keys   map[string]ed25519.PrivateKey
	ids    map[string]string // label → ID
	closed bool
}

func init() {
	backend.Register("example", func(ctx context.Context, uri string) (backend.Backend, error) {
		if uri != "example:memory" {
			return nil, fmt.Errorf("example: want example:memory, got %q: %w", backend.Redact(uri), backend.ErrInvalidInput)
		}
		return &exampleBackend{keys: map[string]ed25519.PrivateKey{}, ids: map[string]string{}}, nil
	})
}

func (b *exampleBackend) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if err := backend.ValidateLabel(spec.Label); err != nil {
		return nil, err
	}
	if spec.Algorithm != backend.Ed25519 {
		return nil, fmt.Errorf("example: %s keys: %w", spec.Algorithm, backend.ErrUnsupported)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backend.ErrClosed
	}
	if _, ok := b.keys[spec.Label]; ok {
		return nil, fmt.Errorf("example: %q: %w", spec.Label, backend.ErrAlreadyExists)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(priv.Public().(ed25519.PublicKey))
	b.keys[spec.Label], b.ids[spec.Label] = priv, string(id[:8])
	return b.describe(spec.Label), nil
}

func (b *exampleBackend) describe(label string) *backend.Key {
	return &backend.Key{ID: []byte(b.ids[label]), Label: label, Algorithm: backend.Ed25519, Public: b.keys[label].Public()}
}

// find returns the label ref names.
func (b *exampleBackend) find(ref string) (string, error) {
	r, err := backend.ParseKeyRef(ref)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", backend.ErrClosed
	}
	for label := range b.keys {
		if r.Matches(b.describe(label)) {
			return label, nil
		}
	}
	return "", fmt.Errorf("example: %q: %w", ref, backend.ErrNotFound)
}

func (b *exampleBackend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	label, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.describe(label), nil
}

func (b *exampleBackend) Keys(ctx context.Context) ([]*backend.Key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backend.ErrClosed
	}
	var out []*backend.Key
	for label := range b.keys {
		out = append(out, b.describe(label))
	}
	slices.SortFunc(out, func(x, y *backend.Key) int { return strings.Compare(x.Label, y.Label) })
	return out, nil
}

func (b *exampleBackend) DeleteKey(ctx context.Context, ref string) error {
	label, err := b.find(ref)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.keys, label)
	delete(b.ids, label)
	return nil
}

// exampleSigner checks its options with ParseSignerOpts, as every backend
// should, before signing.
type exampleSigner struct{ priv ed25519.PrivateKey }

func (s exampleSigner) Public() crypto.PublicKey { return s.priv.Public() }

func (s exampleSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, err := backend.ParseSignerOpts(backend.Ed25519, s.Public(), msg, opts); err != nil {
		return nil, err
	}
	return ed25519.Sign(s.priv, msg), nil
}

func (b *exampleBackend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	label, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return exampleSigner{b.keys[label]}, nil
}

func (b *exampleBackend) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	if _, err := b.find(ref); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("example: Ed25519 keys do not decrypt: %w", backend.ErrUnsupported)
}

func (b *exampleBackend) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backend.ErrClosed
	}
	return &backend.Capabilities{
		Backend:    "example",
		Algorithms: []backend.Algorithm{backend.Ed25519},
		Operations: []backend.Operation{backend.PureEd25519},
	}, nil
}

func (b *exampleBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func ExampleOpen() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "example:memory")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	key, err := b.GenerateKey(ctx, backend.KeySpec{Label: "release", Algorithm: backend.Ed25519})
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, err := b.Signer(ctx, "id:"+key.IDHex()) // or by label: "release"
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := []byte("release v1.2.3")
	sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0)) // Ed25519 signs the message itself
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signed by", key.Label, "valid:", ed25519.Verify(key.Public.(ed25519.PublicKey), msg, sig))

	_, err = b.Key(ctx, "missing")
	fmt.Println("missing key is ErrNotFound:", errors.Is(err, backend.ErrNotFound))
	_, err = backend.Open(ctx, "no-such-backend:x")
	fmt.Println("unknown scheme is ErrUnsupported:", errors.Is(err, backend.ErrUnsupported))
	// Output:
	// signed by release valid: true
	// missing key is ErrNotFound: true
	// unknown scheme is ErrUnsupported: true
}

func ExampleRegister() {
	// A wrapper scheme ends in "+": it receives every "audit+<scheme>:..."
	// URI that has no registration of its own. A program registers once,
	// in an init function: Register panics on a scheme registered before
	// (the check is here only so that this example can run twice, as with
	// go test -count=2).
	if !slices.Contains(backend.Schemes(), "audit+") {
		backend.Register("audit+", func(ctx context.Context, uri string) (backend.Backend, error) {
			inner := strings.TrimPrefix(uri, "audit+")
			fmt.Println("audit wraps", inner)
			return backend.Open(ctx, inner)
		})
	}
	b, err := backend.Open(context.Background(), "audit+example:memory")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	caps, _ := b.Capabilities(context.Background())
	fmt.Println("backend:", caps.Backend)
	// Output:
	// audit wraps example:memory
	// backend: example
}

func ExampleRedact() {
	fmt.Println(backend.Redact("pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"))
	// Output: pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=REDACTED
}

func ExampleParseKeyRef() {
	for _, ref := range []string{"release", "id:0a1b", "id:zz"} {
		r, err := backend.ParseKeyRef(ref)
		switch {
		case err != nil:
			fmt.Println(ref, "→ error, ErrInvalidInput:", errors.Is(err, backend.ErrInvalidInput))
		case r.ID != nil:
			fmt.Printf("%s → ID %x\n", ref, r.ID)
		default:
			fmt.Println(ref, "→ label", r.Label)
		}
	}
	// Output:
	// release → label release
	// id:0a1b → ID 0a1b
	// id:zz → error, ErrInvalidInput: true
}

func ExampleParseSignerOpts() {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	digest := sha256.Sum256([]byte("message"))

	// What a backend learns from a crypto.Signer call:
	p, _ := backend.ParseSignerOpts(backend.RSA2048, &priv.PublicKey, digest[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	fmt.Printf("PSS %v, hash %v, salt %d bytes (the longest, as crypto/rsa does)\n", p.PSS, p.Hash, p.SaltLength)

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := backend.ParseSignerOpts(backend.ECP256, &ec.PublicKey, digest[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	fmt.Println("PSS options on an EC key, ErrUnsupported:", errors.Is(err, backend.ErrUnsupported))
	// Output:
	// PSS true, hash SHA-256, salt 222 bytes (the longest, as crypto/rsa does)
	// PSS options on an EC key, ErrUnsupported: true
}

func ExampleOperation_SignerOpts() {
	for _, op := range []backend.Operation{backend.RSAPSSSHA384, backend.ECDSASHA256, backend.PureEd25519} {
		fmt.Printf("%s: %#v\n", op, op.SignerOpts())
	}
	// Output:
	// rsa-pss-sha384: &rsa.PSSOptions{SaltLength:-1, Hash:0x6}
	// ecdsa-sha256: 0x5
	// ed25519: 0x0
}
