package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"

	"github.com/keyplane/keyplane/backend"
)

// importAlgorithms are the algorithms imported from keys made by the
// standard library (RSA at one size only: RSA key generation is slow).
var importAlgorithms = []backend.Algorithm{
	backend.RSA2048, backend.ECP256, backend.ECP384, backend.ECP521, backend.Ed25519, backend.AES256, backend.Fernet,
}

// importer returns the backend as an Importer, or skips t.
func (s *suite) importer(t tb) backend.Importer {
	t.Helper()
	imp, ok := s.backend().(backend.Importer)
	if !s.caps.Import || !ok {
		t.Skipf("the backend does not report import")
	}
	return imp
}

var (
	stdRSAOnce sync.Once
	stdRSAKey  *rsa.PrivateKey
	stdRSAErr  error
)

// stdlibKey makes a key of alg with the standard library.
func stdlibKey(alg backend.Algorithm) (any, error) {
	switch alg.Family() {
	case backend.FamilyRSA:
		if alg != backend.RSA2048 {
			return rsa.GenerateKey(rand.Reader, alg.RSABits())
		}
		// One RSA-2048 key per process is enough for every run.
		stdRSAOnce.Do(func() { stdRSAKey, stdRSAErr = rsa.GenerateKey(rand.Reader, 2048) })
		return stdRSAKey, stdRSAErr
	case backend.FamilyEC:
		return ecdsa.GenerateKey(alg.Curve(), rand.Reader)
	case backend.FamilyEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case backend.FamilyAES, backend.FamilyFernet:
		return backend.SecretKey{Algorithm: alg, Value: randomBytes(alg.SecretSize())}, nil
	}
	return nil, fmt.Errorf("no standard-library key for %s", alg)
}

// checkImport: a key made by the standard library imports, has the same
// public key, and computes what the standard library computes with it.
func (s *suite) checkImport(t tb, alg backend.Algorithm) {
	imp := s.importer(t)
	ctx := t.Context()
	key, err := stdlibKey(alg)
	if err != nil {
		t.Fatalf("making a %s key with the standard library: %v", alg, err)
	}
	label := s.label("imp-" + string(alg))
	k, err := imp.ImportKey(ctx, label, key)
	if err != nil {
		t.Fatalf("ImportKey(%q, %s key): %v", label, alg, err)
	}
	checkKeyMetadata(t, "ImportKey", k, label, alg)
	var pub crypto.PublicKey
	if p, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		pub = p.Public()
		if !equalPublic(pub, k.Public) {
			t.Errorf("ImportKey: the key's public key is not the imported one")
		}
	}
	got, err := s.backend().Key(ctx, label)
	if err != nil {
		t.Fatalf("Key(%q) after import: %v", label, err)
	}
	checkKeyMetadata(t, "Key after ImportKey", got, label, alg)
	if pub != nil && !equalPublic(pub, got.Public) {
		t.Errorf("Key(%q): public key differs from the imported one", label)
	}

	switch alg.Family() {
	case backend.FamilyRSA, backend.FamilyEC, backend.FamilyEd25519:
		s.checkImportedSigner(t, alg, label, key)
		if alg.Family() == backend.FamilyRSA {
			s.checkImportedDecrypter(t, label, key.(*rsa.PrivateKey))
		}
	case backend.FamilyAES:
		s.checkImportedAEAD(t, label, key.(backend.SecretKey).Value)
	case backend.FamilyFernet:
		if fk := s.fernetFor(t, label, false); fk != nil {
			checkFernetPrimitives(t, fk, fernetReference{key.(backend.SecretKey).Value}, "imported key")
		}
	}

	if ex, ok := s.backend().(backend.Exporter); ok && s.caps.Export {
		out, err := ex.ExportKey(ctx, label)
		if err != nil {
			t.Errorf("ExportKey(%q): %v", label, err)
			return
		}
		if !equalPrivate(key, out) {
			t.Errorf("ExportKey(%q) returned another key (%T) than was imported", label, out)
		}
	}
}

func equalPrivate(a, b any) bool {
	switch x := a.(type) {
	case backend.SecretKey:
		y, ok := b.(backend.SecretKey)
		return ok && x.Algorithm == y.Algorithm && bytes.Equal(x.Value, y.Value)
	case interface{ Equal(crypto.PrivateKey) bool }:
		return x.Equal(b)
	}
	return false
}

// checkImportedSigner signs with every reported operation and compares
// with the standard library: deterministic schemes (PKCS#1 v1.5, Ed25519)
// must give the very same bytes.
func (s *suite) checkImportedSigner(t tb, alg backend.Algorithm, label string, key any) {
	t.Helper()
	signer, err := s.backend().Signer(t.Context(), label)
	if err != nil {
		t.Errorf("Signer(%q): %v", label, err)
		return
	}
	std := key.(crypto.Signer)
	for _, op := range backend.OperationsFor(alg) {
		if op.Kind() != backend.OpSign || !s.supports(op) {
			continue
		}
		c := signCases(op, std.Public())[0]
		in := signInput(op, randomBytes(48))
		sig, err := signer.Sign(rand.Reader, in, c.opts)
		if err != nil {
			t.Errorf("%s: Sign with the imported key: %v", op, err)
			continue
		}
		if err := verifySignature(std.Public(), op, c, in, sig); err != nil {
			t.Errorf("%s: the imported key's signature does not verify with the original public key: %v", op, err)
		}
		if op.PSS() || alg.Family() == backend.FamilyEC {
			continue // randomized
		}
		want, err := std.Sign(rand.Reader, in, c.opts)
		if err != nil {
			t.Errorf("%s: the standard library's Sign: %v", op, err)
		} else if !bytes.Equal(sig, want) {
			t.Errorf("%s: the imported key's signature differs from the standard library's with the same key (the scheme is deterministic)", op)
		}
	}
}

// checkImportedDecrypter decrypts what the standard library encrypts to
// the imported key.
func (s *suite) checkImportedDecrypter(t tb, label string, key *rsa.PrivateKey) {
	t.Helper()
	dec, err := s.backend().Decrypter(t.Context(), label)
	if err != nil {
		t.Errorf("Decrypter(%q): %v", label, err)
		return
	}
	for _, op := range backend.OperationsFor(backend.RSA2048) {
		if op.Kind() != backend.OpDecrypt || !s.supports(op) {
			continue
		}
		msg := randomBytes(24)
		ct, err := encryptFor(&key.PublicKey, op, op.DecrypterOpts(), msg)
		if err != nil {
			t.Errorf("%s: crypto/rsa encryption: %v", op, err)
			continue
		}
		got, err := dec.Decrypt(rand.Reader, ct, op.DecrypterOpts())
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: the imported key does not decrypt a crypto/rsa ciphertext (err %v)", op, err)
		}
	}
}

// checkImportedAEAD: crypto/cipher and the backend open each other's
// messages under the imported key.
func (s *suite) checkImportedAEAD(t tb, label string, key []byte) {
	t.Helper()
	aead := s.aeadFor(t, label, false)
	if aead == nil {
		return
	}
	ctx := t.Context()
	gcm := newGCM(key)
	pt, ad := randomBytes(70), []byte("ad")
	nonce := randomBytes(gcmNonceSize)
	got, err := aead.Open(ctx, gcm.Seal(nonce, nonce, pt, ad), ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("the backend does not open a crypto/cipher AES-GCM message under the imported key (err %v)", err)
	}
	sealed, err := aead.Seal(ctx, pt, ad)
	if err != nil {
		t.Errorf("Seal: %v", err)
		return
	}
	if len(sealed) < gcmNonceSize {
		t.Errorf("Seal: %d bytes", len(sealed))
		return
	}
	got, err = gcm.Open(nil, sealed[:gcmNonceSize], sealed[gcmNonceSize:], ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("crypto/cipher AES-GCM does not open the backend's message under the imported key (err %v)", err)
	}
}

// checkImportDuplicate: importing under a label in use is ErrAlreadyExists
// and leaves the existing key as it was.
func (s *suite) checkImportDuplicate(t tb) {
	imp := s.importer(t)
	existing := s.firstKey(func(backend.Algorithm) bool { return true })
	if existing == nil {
		t.Skipf("no generated key to collide with")
	}
	var alg backend.Algorithm
	for _, a := range []backend.Algorithm{backend.Ed25519, backend.ECP256, backend.AES256, backend.Fernet, backend.RSA2048} {
		if s.caps.SupportsAlgorithm(a) {
			alg = a
			break
		}
	}
	if alg == "" {
		t.Skipf("no importable algorithm reported")
	}
	key, err := stdlibKey(alg)
	if err != nil {
		t.Fatalf("making a %s key: %v", alg, err)
	}
	k, err := imp.ImportKey(t.Context(), existing.label, key)
	if err == nil {
		t.Errorf("ImportKey over the existing key %q succeeded: %s", existing.label, describeKey(k))
	} else {
		wantErr(t, err, "ImportKey over an existing label", backend.ErrAlreadyExists)
	}
	got, err := s.backend().Key(t.Context(), existing.label)
	if err != nil {
		t.Fatalf("Key(%q) after the refused import: %v", existing.label, err)
	}
	if string(got.ID) != string(existing.key.ID) || got.Algorithm != existing.alg || !equalPublic(got.Public, existing.key.Public) {
		t.Errorf("the refused import changed the existing key %q", existing.label)
	}
}

// checkImportBadInput: malformed or unknown material, and bad labels, are
// refused with the right error.
func (s *suite) checkImportBadInput(t tb) {
	imp := s.importer(t)
	ctx := t.Context()
	type tc struct {
		name  string
		label string
		key   any
		want  []error
	}
	ed, err := stdlibKey(backend.Ed25519)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatalf("%v", err)
	}
	bad := []error{backend.ErrUnsupported, backend.ErrInvalidInput}
	cases := []tc{
		{"empty label", "", ed, []error{backend.ErrInvalidInput}},
		{"label with a slash", s.label("imp/slash"), ed, []error{backend.ErrInvalidInput}},
		{"nil key", s.label("imp-nil"), nil, bad},
		{"a string", s.label("imp-string"), "not a key", bad},
		{"a public key", s.label("imp-public"), ed.(ed25519.PrivateKey).Public(), bad},
		{"a P-224 key", s.label("imp-p224"), p224, bad},
		{"a truncated Ed25519 key", s.label("imp-short-ed25519"), ed25519.PrivateKey(randomBytes(10)), bad},
		{"a 16-byte aes-256 key", s.label("imp-short-aes"), backend.SecretKey{Algorithm: backend.AES256, Value: randomBytes(16)}, bad},
		{"a 31-byte fernet key", s.label("imp-short-fernet"), backend.SecretKey{Algorithm: backend.Fernet, Value: randomBytes(31)}, bad},
		{"a secret key of algorithm rsa-2048", s.label("imp-secret-rsa"), backend.SecretKey{Algorithm: backend.RSA2048, Value: randomBytes(32)}, bad},
	}
	if s.caps.SupportsAlgorithm(backend.RSA2048) {
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatalf("%v", err)
		}
		cases = append(cases, tc{"an RSA-1024 key", s.label("imp-rsa1024"), small, bad})
	}
	for _, a := range importAlgorithms {
		if !s.caps.SupportsAlgorithm(a) {
			key, err := stdlibKey(a)
			if err != nil {
				t.Fatalf("%v", err)
			}
			cases = append(cases, tc{"an unreported " + string(a) + " key", s.label("imp-unreported-" + string(a)), key, []error{backend.ErrUnsupported}})
		}
	}
	for _, c := range cases {
		k, err := s.importRecovering(ctx, imp, c.label, c.key)
		if err == nil {
			t.Errorf("ImportKey of %s succeeded: %s", c.name, describeKey(k))
			s.deleteStray(t, k)
			continue
		}
		wantErr(t, err, "ImportKey of "+c.name, c.want...)
	}
}

// importRecovering turns a panic in ImportKey into an error naming it, so
// one bad case does not hide the others.
func (s *suite) importRecovering(ctx context.Context, imp backend.Importer, label string, key any) (k *backend.Key, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ImportKey panicked: %v", p)
		}
	}()
	return imp.ImportKey(ctx, label, key)
}

// deleteStray deletes a key a check made by mistake.
func (s *suite) deleteStray(t tb, k *backend.Key) {
	t.Helper()
	if k == nil || len(k.ID) == 0 {
		return
	}
	if err := s.backend().DeleteKey(t.Context(), "id:"+k.IDHex()); err != nil {
		t.Errorf("deleting the stray key %s: %v", describeKey(k), err)
	}
}
