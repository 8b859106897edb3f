package conformance

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// cheapAlgorithm returns the quickest algorithm to generate that the
// backend reports, preferring asymmetric ones when asym is set.
func (s *suite) cheapAlgorithm(asym bool) backend.Algorithm {
	order := []backend.Algorithm{backend.Ed25519, backend.ECP256, backend.ECP384, backend.ECP521, backend.AES256, backend.Fernet, backend.RSA2048, backend.RSA3072, backend.RSA4096}
	for _, a := range order {
		if s.caps.SupportsAlgorithm(a) && (!asym || a.Asymmetric()) {
			return a
		}
	}
	return ""
}

// checkNotFound: every method taking a reference says ErrNotFound for a
// key that does not exist, by label and by ID.
func (s *suite) checkNotFound(t tb) {
	b := s.backend()
	ctx := t.Context()
	for _, ref := range []string{s.label("missing"), "id:" + fmt.Sprintf("%x", randomBytes(16))} {
		_, err := b.Key(ctx, ref)
		wantErr(t, err, fmt.Sprintf("Key(%q)", ref), backend.ErrNotFound)
		_, err = b.Signer(ctx, ref)
		wantErr(t, err, fmt.Sprintf("Signer(%q)", ref), backend.ErrNotFound)
		_, err = b.Decrypter(ctx, ref)
		wantErr(t, err, fmt.Sprintf("Decrypter(%q)", ref), backend.ErrNotFound)
		err = b.DeleteKey(ctx, ref)
		wantErr(t, err, fmt.Sprintf("DeleteKey(%q)", ref), backend.ErrNotFound)
		if ex, ok := b.(backend.Exporter); ok && s.caps.Export {
			_, err = ex.ExportKey(ctx, ref)
			wantErr(t, err, fmt.Sprintf("ExportKey(%q)", ref), backend.ErrNotFound)
		}
	}
}

// checkDuplicateLabel: GenerateKey under a label in use is
// ErrAlreadyExists, whatever the algorithm, and the key stays as it was.
func (s *suite) checkDuplicateLabel(t tb) {
	existing := s.firstKey(func(backend.Algorithm) bool { return true })
	if existing == nil {
		t.Skipf("no generated key to collide with")
	}
	b := s.backend()
	algs := []backend.Algorithm{existing.alg}
	if a := s.cheapAlgorithm(false); a != existing.alg {
		algs = append(algs, a)
	}
	for _, alg := range algs {
		k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: existing.label, Algorithm: alg})
		if err == nil {
			t.Errorf("GenerateKey(%q, %s) over an existing key succeeded: %s", existing.label, alg, describeKey(k))
			continue
		}
		wantErr(t, err, fmt.Sprintf("GenerateKey(%q, %s) over an existing key", existing.label, alg), backend.ErrAlreadyExists)
	}
	got, err := b.Key(t.Context(), existing.label)
	if err != nil {
		t.Fatalf("Key(%q): %v", existing.label, err)
	}
	if string(got.ID) != string(existing.key.ID) || got.Algorithm != existing.alg || !equalPublic(got.Public, existing.key.Public) {
		t.Errorf("the refused GenerateKey changed the existing key %q", existing.label)
	}
}

// checkBadLabels: malformed labels are ErrInvalidInput; unusual but valid
// ones (spaces, non-ASCII, the longest allowed) work.
func (s *suite) checkBadLabels(t tb) {
	alg := s.cheapAlgorithm(false)
	if alg == "" {
		t.Skipf("the backend reports no algorithm")
	}
	b := s.backend()
	ctx := t.Context()
	// In a fixed order (not a map's), so that a report says the same
	// from run to run.
	for _, c := range []struct{ name, label string }{
		{"empty", ""},
		{"with a slash", s.label("a/b")},
		{"with a backslash", s.label(`a\b`)},
		{"with NUL", s.label("a\x00b")},
		{"with a newline", s.label("a\nb")},
		{"with DEL", s.label("a\x7fb")},
		{"starting with .", "." + s.label("hidden")},
		{"starting with id:", "id:" + s.label("x")},
		{"invalid UTF-8", s.label("\xff\xfe")},
		{"too long", s.label(strings.Repeat("x", backend.MaxLabelLen))},
	} {
		name, label := c.name, c.label
		k, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
		if err == nil {
			t.Errorf("GenerateKey with a label %s (%q) succeeded", name, label)
			s.deleteStray(t, k)
			continue
		}
		wantErr(t, err, fmt.Sprintf("GenerateKey with a label %s", name), backend.ErrInvalidInput)
	}
	longest := s.label("")
	longest += strings.Repeat("m", backend.MaxLabelLen-len(longest))
	for _, c := range []struct{ name, label string }{
		{"with spaces", s.label("a label with spaces")},
		{"non-ASCII", s.label("clé-ключ-鍵")},
		{"of the longest length", longest},
	} {
		name, label := c.name, c.label
		if len(label) > backend.MaxLabelLen {
			t.Logf("label prefix too long to try a label %s", name)
			continue
		}
		_, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
		if err != nil {
			t.Errorf("GenerateKey with a label %s (%q): %v", name, label, err)
			continue
		}
		if got, err := b.Key(ctx, label); err != nil {
			t.Errorf("Key with a label %s (%q): %v", name, label, err)
		} else if got.Label != label {
			t.Errorf("Key with a label %s: label %q, want %q", name, got.Label, label)
		}
		if err := b.DeleteKey(ctx, label); err != nil {
			t.Errorf("DeleteKey with a label %s (%q): %v", name, label, err)
		}
	}
}

// checkBadReferences: malformed references are refused.
func (s *suite) checkBadReferences(t tb) {
	b := s.backend()
	ctx := t.Context()
	for _, ref := range []string{"", "id:", "id:xyz", "id:abc"} {
		_, err := b.Key(ctx, ref)
		wantErr(t, err, fmt.Sprintf("Key(%q)", ref), backend.ErrInvalidInput, backend.ErrNotFound)
		_, err = b.Signer(ctx, ref)
		wantErr(t, err, fmt.Sprintf("Signer(%q)", ref), backend.ErrInvalidInput, backend.ErrNotFound)
		err = b.DeleteKey(ctx, ref)
		wantErr(t, err, fmt.Sprintf("DeleteKey(%q)", ref), backend.ErrInvalidInput, backend.ErrNotFound)
	}
}

// checkUnknownAlgorithm: GenerateKey refuses algorithms that do not exist.
func (s *suite) checkUnknownAlgorithm(t tb) {
	b := s.backend()
	for _, alg := range []backend.Algorithm{"rsa-1024", "", "EC-P256", "aes-128"} {
		k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: s.label("unknown-alg"), Algorithm: alg})
		if err == nil {
			t.Errorf("GenerateKey(%q) succeeded: %s", alg, describeKey(k))
			s.deleteStray(t, k)
			continue
		}
		wantErr(t, err, fmt.Sprintf("GenerateKey(%q)", alg), backend.ErrUnsupported, backend.ErrInvalidInput)
	}
}

// checkWrongKeyType: a secret key gives no Signer; only an RSA key
// decrypts.
func (s *suite) checkWrongKeyType(t tb) {
	b := s.backend()
	ctx := t.Context()
	tried := 0
	for _, alg := range s.algs {
		sk := s.keys[alg]
		if sk == nil {
			continue
		}
		if !alg.Signs() {
			tried++
			signer, err := b.Signer(ctx, sk.label)
			if err == nil {
				t.Errorf("Signer on the %s key %q succeeded (%T), want ErrUnsupported", alg, sk.label, signer)
			} else {
				wantErr(t, err, fmt.Sprintf("Signer on the %s key", alg), backend.ErrUnsupported)
			}
		}
		if alg.Family() != backend.FamilyRSA {
			tried++
			d, err := b.Decrypter(ctx, sk.label)
			if err == nil {
				// The refusal may come at Decrypt instead.
				_, err = d.Decrypt(rand.Reader, make([]byte, 256), nil)
			}
			wantErr(t, err, fmt.Sprintf("Decrypter on the %s key", alg), backend.ErrUnsupported)
		}
	}
	if tried == 0 {
		t.Skipf("no key of a type that cannot do something")
	}
}

// checkSignOptions: a Signer refuses options it does not understand and
// digests of the wrong length; it never falls back to a default.
func (s *suite) checkSignOptions(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	signer, err := s.backend().Signer(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	d256 := digest(crypto.SHA256, []byte("keyplane"))
	type tc struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
	}
	cases := []tc{
		{"nil options", d256, nil},
		{"an unknown options type", d256, customSignerOpts{}},
	}
	switch alg.Family() {
	case backend.FamilyRSA:
		maxSalt := (sk.key.Public.(*rsa.PublicKey).N.BitLen()-1+7)/8 - 32 - 2
		cases = append(cases,
			tc{"a SHA-256 digest of 31 bytes", d256[:31], crypto.SHA256},
			tc{"a SHA-256 digest of 33 bytes", append(d256, 0), crypto.SHA256},
			tc{"PSS with a digest of 31 bytes", d256[:31], &rsa.PSSOptions{Hash: crypto.SHA256}},
			tc{"MD5", randomBytes(crypto.MD5.Size()), crypto.MD5},
			tc{"crypto.Hash(0) (no DigestInfo)", d256, crypto.Hash(0)},
			tc{"PSS salt length -3", d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: -3}},
			tc{"PSS salt longer than the key allows", d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: maxSalt + 1}},
			tc{"Ed25519 options", d256, &ed25519.Options{}},
		)
	case backend.FamilyEC:
		cases = append(cases,
			tc{"PSS options", d256, &rsa.PSSOptions{Hash: crypto.SHA256}},
			tc{"a SHA-256 digest of 31 bytes", d256[:31], crypto.SHA256},
			tc{"MD5", randomBytes(crypto.MD5.Size()), crypto.MD5},
			tc{"crypto.Hash(0) (no digest)", []byte("a message"), crypto.Hash(0)},
			tc{"Ed25519 options", d256, &ed25519.Options{}},
		)
	case backend.FamilyEd25519:
		cases = append(cases,
			tc{"crypto.SHA512 (Ed25519ph)", digest(crypto.SHA512, nil), crypto.SHA512},
			tc{"Ed25519ph options", digest(crypto.SHA512, nil), &ed25519.Options{Hash: crypto.SHA512}},
			tc{"Ed25519ctx options", []byte("a message"), &ed25519.Options{Context: "ctx"}},
			tc{"PSS options", d256, &rsa.PSSOptions{Hash: crypto.SHA256}},
		)
	case backend.FamilyMLDSA:
		cases = append(cases,
			tc{"crypto.SHA256 (HashML-DSA)", d256, crypto.SHA256},
			tc{"Ed25519 options", []byte("a message"), &ed25519.Options{}},
			tc{"PSS options", d256, &rsa.PSSOptions{Hash: crypto.SHA256}},
			tc{"a 256-byte context string", []byte("a message"), &backend.MLDSAOptions{Context: strings.Repeat("k", 256)}},
		)
	}
	for _, c := range cases {
		sig, err := signSafely(signer, rand.Reader, c.digest, c.opts)
		if err == nil {
			t.Errorf("Sign with %s succeeded (%d bytes); want it refused", c.name, len(sig))
			continue
		}
		wantErr(t, err, "Sign with "+c.name, backend.ErrUnsupported, backend.ErrInvalidInput)
	}
}

// signSafely turns a panic in Sign into an error naming it.
func signSafely(s crypto.Signer, r io.Reader, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sign panicked: %v", p)
		}
	}()
	return s.Sign(r, digest, opts)
}

// checkDecryptOptions: a Decrypter refuses options it does not
// understand.
func (s *suite) checkDecryptOptions(t tb) {
	sk := s.firstKey(func(a backend.Algorithm) bool { return a.Family() == backend.FamilyRSA })
	if sk == nil {
		t.Skipf("no RSA key under test")
	}
	dec, err := s.backend().Decrypter(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Decrypter(%q): %v", sk.label, err)
	}
	pub := sk.key.Public.(*rsa.PublicKey)
	ct, err := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, []byte("keyplane"), nil)
	if err != nil {
		t.Fatalf("%v", err)
	}
	for _, c := range []struct {
		name string
		opts crypto.DecrypterOpts
	}{
		{"an unknown options type", customDecrypterOpts{}},
		{"a pointer to an unknown options type", &customDecrypterOpts{}},
		{"OAEP with MD5", &rsa.OAEPOptions{Hash: crypto.MD5}},
		{"OAEP with hash 0", &rsa.OAEPOptions{}},
		{"OAEP with MGF1-MD5", &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.MD5}},
		{"PKCS#1 v1.5 with SessionKeyLen -1", &rsa.PKCS1v15DecryptOptions{SessionKeyLen: -1}},
	} {
		_, err := dec.Decrypt(rand.Reader, ct, c.opts)
		wantErr(t, err, "Decrypt with "+c.name, backend.ErrUnsupported, backend.ErrInvalidInput)
	}
}
