package conformance

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The key-version checks (backend.KeyVersions): each makes a key of its
// own, rotates it, and checks that the plain label uses the new primary
// while the old version's own reference still does what it did; then it
// retires the old version (ErrKeyRetired), refuses to delete the primary,
// and deletes the old version.

// runVersions adds the key-version checks to the run.
func (s *suite) runVersions(r runner) {
	r.run("versions/unversioned", s.checkVersionsUnversioned)
	r.run("versions/not-found", s.checkVersionsNotFound)
	if alg := s.versionsAlg(func(a backend.Algorithm) bool { return s.signOp(a) != "" }); alg != "" {
		r.run("versions/sign/"+string(alg), func(t tb) { s.checkVersionsSign(t, alg) })
	}
	if alg := s.versionsAlg(func(a backend.Algorithm) bool { return s.oaepOp(a) != "" }); alg != "" {
		r.run("versions/decrypt/"+string(alg), func(t tb) { s.checkVersionsDecrypt(t, alg) })
	}
	if s.versionsAlg(func(a backend.Algorithm) bool { return a == backend.AES256 }) != "" {
		r.run("versions/aead", s.checkVersionsAEAD)
	}
	if s.versionsAlg(func(a backend.Algorithm) bool { return a == backend.Fernet }) != "" {
		r.run("versions/fernet", s.checkVersionsFernet)
	}
}

// versionsAlg picks the algorithm under test for a version check: the
// first that match accepts, preferring any to RSA (slow to generate, and
// a key is made at each rotation).
func (s *suite) versionsAlg(match func(backend.Algorithm) bool) backend.Algorithm {
	var rsaAlg backend.Algorithm
	for _, a := range s.algs {
		if !match(a) {
			continue
		}
		if a.Family() != backend.FamilyRSA {
			return a
		}
		if rsaAlg == "" {
			rsaAlg = a
		}
	}
	return rsaAlg
}

// signOp is the first signature operation of alg the backend reports.
func (s *suite) signOp(alg backend.Algorithm) backend.Operation {
	for _, op := range backend.OperationsFor(alg) {
		if op.Kind() == backend.OpSign && s.supports(op) {
			return op
		}
	}
	return ""
}

// oaepOp is the first RSA-OAEP operation of alg the backend reports.
func (s *suite) oaepOp(alg backend.Algorithm) backend.Operation {
	for _, op := range backend.OperationsFor(alg) {
		if op.Kind() == backend.OpDecrypt && op != backend.RSAPKCS1v15 && s.supports(op) {
			return op
		}
	}
	return ""
}

// keyVersions returns the backend's KeyVersions, or skips t.
func (s *suite) keyVersions(t tb) backend.KeyVersions {
	t.Helper()
	kv, ok := s.backend().(backend.KeyVersions)
	if !ok {
		t.Skipf("the backend does not implement backend.KeyVersions")
	}
	return kv
}

// skipUnsupported skips t when err says the backend (or its token) cannot
// version keys, with its own words.
func skipUnsupported(t tb, what string, err error) {
	t.Helper()
	if err != nil && backend.Kind(err) == backend.ErrUnsupported {
		t.Skipf("%s: %v", what, err)
	}
}

// checkVersionsUnversioned: a key made without any rotation is version 1,
// alone, and its version's reference names the same key.
func (s *suite) checkVersionsUnversioned(t tb) {
	kv := s.keyVersions(t)
	sk := s.firstKey(func(backend.Algorithm) bool { return true })
	if sk == nil {
		t.Skipf("no key was generated")
	}
	ctx := t.Context()
	vs, err := kv.Versions(ctx, sk.label)
	skipUnsupported(t, "Versions", err)
	if err != nil {
		t.Fatalf("Versions(%q): %v", sk.label, err)
	}
	if len(vs) != 1 || vs[0].Version != 1 {
		t.Fatalf("Versions(%q) of a key never rotated: %s, want one key of version 1", sk.label, describeVersions(vs))
	}
	if vs[0].URI == "" {
		t.Errorf("Versions(%q)[0].URI is empty; each version needs a reference of its own", sk.label)
	}
	if !equalPublic(vs[0].Public, sk.key.Public) || vs[0].Algorithm != sk.alg {
		t.Errorf("Versions(%q)[0] is %s, not the key generated", sk.label, describeKey(vs[0]))
	}
	k, err := s.backend().Key(ctx, vs[0].URI)
	if err != nil {
		t.Fatalf("Key(%q) (version 1's URI): %v", vs[0].URI, err)
	}
	if !equalPublic(k.Public, sk.key.Public) || k.Label != sk.label {
		t.Errorf("Key(%q) is %s, not version 1 of %q", vs[0].URI, describeKey(k), sk.label)
	}
	if got, err := s.backend().Key(ctx, sk.label); err == nil && got.Version > 1 {
		t.Errorf("Key(%q).Version = %d for a key never rotated, want 0 or 1", sk.label, got.Version)
	}
}

// checkVersionsNotFound: every method refuses an unknown key with
// ErrNotFound.
func (s *suite) checkVersionsNotFound(t tb) {
	kv := s.keyVersions(t)
	ctx := t.Context()
	ref := s.label("versions-no-such-key")
	_, err := kv.Versions(ctx, ref)
	skipUnsupported(t, "Versions", err)
	wantErr(t, err, fmt.Sprintf("Versions(%q)", ref), backend.ErrNotFound)
	_, err = kv.Rotate(ctx, ref)
	wantErr(t, err, fmt.Sprintf("Rotate(%q)", ref), backend.ErrNotFound)
	wantErr(t, kv.SetMinVersion(ctx, ref, 1), fmt.Sprintf("SetMinVersion(%q, 1)", ref), backend.ErrNotFound)
	wantErr(t, kv.DeleteVersion(ctx, ref, 1), fmt.Sprintf("DeleteVersion(%q, 1)", ref), backend.ErrNotFound)
}

func describeVersions(vs []*backend.Key) string {
	s := "["
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("v%d %s", v.Version, describeKey(v))
	}
	return s + "]"
}

// versionedKey is a key under a version check: its label, and version 1
// and (after rotate) version 2 as Versions describes them.
type versionedKey struct {
	s      *suite
	kv     backend.KeyVersions
	alg    backend.Algorithm
	label  string
	v1, v2 *backend.Key
}

// newVersionedKey generates a key for a version check and checks that it
// is version 1. The caller defers done.
func (s *suite) newVersionedKey(t tb, alg backend.Algorithm, name string) *versionedKey {
	t.Helper()
	kv := s.keyVersions(t)
	label := s.label("versions-" + name)
	ctx := t.Context()
	k, err := s.backend().GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
	if err != nil {
		t.Fatalf("GenerateKey(%q, %s): %v", label, alg, err)
	}
	vk := &versionedKey{s: s, kv: kv, alg: alg, label: label}
	vs, err := kv.Versions(ctx, label)
	if err != nil {
		vk.done(t)
		skipUnsupported(t, "Versions", err)
		t.Fatalf("Versions(%q): %v", label, err)
	}
	if len(vs) != 1 || vs[0].Version != 1 || vs[0].URI == "" || !equalPublic(vs[0].Public, k.Public) {
		vk.done(t)
		t.Fatalf("Versions(%q) of a new key: %s, want one version 1 with a URI and the key's public key", label, describeVersions(vs))
	}
	vk.v1 = vs[0]
	return vk
}

// done deletes the key, every version of it, and checks it is gone.
func (vk *versionedKey) done(t tb) {
	t.Helper()
	ctx := t.Context()
	if err := vk.s.backend().DeleteKey(ctx, vk.label); err != nil {
		t.Errorf("DeleteKey(%q): %v", vk.label, err)
		return
	}
	if vk.v2 == nil {
		return
	}
	_, err := vk.kv.Versions(ctx, vk.label)
	wantErr(t, err, fmt.Sprintf("Versions(%q) after DeleteKey", vk.label), backend.ErrNotFound)
	_, err = vk.s.backend().Key(ctx, vk.v2.URI)
	wantErr(t, err, fmt.Sprintf("Key(%q) (version 2) after DeleteKey of the key", vk.v2.URI), backend.ErrNotFound)
}

// rotate makes version 2 and checks what Rotate, Versions and Key say.
// The caller has deferred done.
func (vk *versionedKey) rotate(t tb) {
	t.Helper()
	ctx := t.Context()
	k, err := vk.kv.Rotate(ctx, vk.label)
	if err != nil {
		skipUnsupported(t, "Rotate", err) // the caller's deferred done deletes the key
		t.Fatalf("Rotate(%q): %v", vk.label, err)
	}
	if k.Version != 2 || k.URI == "" || k.URI == vk.v1.URI || k.Label != vk.label || k.Algorithm != vk.alg {
		t.Errorf("Rotate(%q) returned %s version %d URI %q; want version 2 of the same label and algorithm, with a URI other than version 1's (%q)",
			vk.label, describeKey(k), k.Version, k.URI, vk.v1.URI)
	}
	if vk.alg.Asymmetric() && equalPublic(k.Public, vk.v1.Public) {
		t.Errorf("Rotate(%q): version 2 has the same public key as version 1", vk.label)
	}
	vs, err := vk.kv.Versions(ctx, vk.label)
	if err != nil {
		t.Fatalf("Versions(%q) after Rotate: %v", vk.label, err)
	}
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[0].URI != vk.v1.URI ||
		!equalPublic(vs[0].Public, vk.v1.Public) || !equalPublic(vs[1].Public, k.Public) || vs[1].URI == "" {
		t.Fatalf("Versions(%q) after Rotate: %s, want version 1 (URI %q) then the new version 2", vk.label, describeVersions(vs), vk.v1.URI)
	}
	vk.v2 = vs[1]
	p, err := vk.s.backend().Key(ctx, vk.label)
	if err != nil {
		t.Fatalf("Key(%q) after Rotate: %v", vk.label, err)
	}
	if p.Version != 2 || !equalPublic(p.Public, k.Public) {
		t.Errorf("Key(%q) after Rotate: %s version %d; want the primary, version 2", vk.label, describeKey(p), p.Version)
	}
	if old, err := vk.s.backend().Key(ctx, vk.v1.URI); err != nil {
		t.Errorf("Key(%q) (version 1) after Rotate: %v", vk.v1.URI, err)
	} else if !equalPublic(old.Public, vk.v1.Public) || old.Version != 1 {
		t.Errorf("Key(%q) (version 1) after Rotate: %s version %d, want version 1", vk.v1.URI, describeKey(old), old.Version)
	}
	// The primary is not deleted, a version that does not exist is not
	// found, and the minimum cannot pass the primary.
	wantErr(t, vk.kv.DeleteVersion(ctx, vk.label, 2), fmt.Sprintf("DeleteVersion(%q, 2) (the primary)", vk.label), backend.ErrInvalidInput)
	wantErr(t, vk.kv.DeleteVersion(ctx, vk.label, 9), fmt.Sprintf("DeleteVersion(%q, 9)", vk.label), backend.ErrNotFound)
	wantErr(t, vk.kv.SetMinVersion(ctx, vk.label, 3), fmt.Sprintf("SetMinVersion(%q, 3) above the primary", vk.label), backend.ErrInvalidInput)
	wantErr(t, vk.kv.SetMinVersion(ctx, vk.label, 0), fmt.Sprintf("SetMinVersion(%q, 0)", vk.label), backend.ErrInvalidInput)
}

// retire sets the minimum version to 2 and checks that use (a private-key
// operation through a reference) is refused with ErrKeyRetired for
// version 1 and still works for the label; version 1 is still described.
func (vk *versionedKey) retire(t tb, use func(ref string) error) {
	t.Helper()
	ctx := t.Context()
	if err := vk.kv.SetMinVersion(ctx, vk.label, 2); err != nil {
		t.Fatalf("SetMinVersion(%q, 2): %v", vk.label, err)
	}
	wantErr(t, use(vk.v1.URI), fmt.Sprintf("version 1 (%q) below the minimum version 2", vk.v1.URI), backend.ErrKeyRetired)
	if err := use(vk.label); err != nil {
		t.Errorf("the primary (%q) after SetMinVersion(2): %v", vk.label, err)
	}
	if old, err := vk.s.backend().Key(ctx, vk.v1.URI); err != nil {
		t.Errorf("Key(%q) of a retired version: %v; its public key must stay available to verify", vk.v1.URI, err)
	} else if !equalPublic(old.Public, vk.v1.Public) {
		t.Errorf("Key(%q) of a retired version: %s, not version 1", vk.v1.URI, describeKey(old))
	}
}

// deleteOld deletes version 1 and checks it is gone and the primary stays.
func (vk *versionedKey) deleteOld(t tb, use func(ref string) error) {
	t.Helper()
	ctx := t.Context()
	if err := vk.kv.DeleteVersion(ctx, vk.label, 1); err != nil {
		t.Fatalf("DeleteVersion(%q, 1): %v", vk.label, err)
	}
	vs, err := vk.kv.Versions(ctx, vk.label)
	if err != nil || len(vs) != 1 || vs[0].Version != 2 {
		t.Errorf("Versions(%q) after DeleteVersion(1): %s, %v; want version 2 alone", vk.label, describeVersions(vs), err)
	}
	_, err = vk.s.backend().Key(ctx, vk.v1.URI)
	wantErr(t, err, fmt.Sprintf("Key(%q) after DeleteVersion(1)", vk.v1.URI), backend.ErrNotFound)
	if err := use(vk.label); err != nil {
		t.Errorf("the primary (%q) after DeleteVersion(1): %v", vk.label, err)
	}
}

// checkVersionsSign: after Rotate the label signs with version 2; version
// 1's reference still signs with version 1 until retired.
func (s *suite) checkVersionsSign(t tb, alg backend.Algorithm) {
	op := s.signOp(alg)
	vk := s.newVersionedKey(t, alg, "sign")
	defer vk.done(t)
	ctx := t.Context()
	c := signCases(op, vk.v1.Public)[0]
	sign := func(ref string) ([]byte, []byte, error) {
		signer, err := s.backend().Signer(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		in := signInput(op, randomBytes(48))
		sig, err := signSafely(signer, rand.Reader, in, c.opts)
		return in, sig, err
	}
	in1, sig1, err := sign(vk.label)
	if err != nil {
		t.Fatalf("signing with %q before Rotate: %v", vk.label, err)
	}
	vk.rotate(t)
	if err := verifySignature(vk.v1.Public, op, c, in1, sig1); err != nil {
		t.Errorf("a signature made before Rotate no longer verifies with version 1's public key: %v", err)
	}
	in, sig, err := sign(vk.label)
	if err != nil {
		t.Fatalf("signing with %q after Rotate: %v", vk.label, err)
	}
	if verifySignature(vk.v2.Public, op, c, in, sig) != nil {
		t.Errorf("a signature by %q after Rotate does not verify with version 2's public key: the primary was not used", vk.label)
	}
	if verifySignature(vk.v1.Public, op, c, in, sig) == nil {
		t.Errorf("a signature by %q after Rotate verifies with version 1's public key", vk.label)
	}
	in, sig, err = sign(vk.v1.URI)
	if err != nil {
		t.Errorf("signing with version 1 (%q) after Rotate: %v", vk.v1.URI, err)
	} else if verifySignature(vk.v1.Public, op, c, in, sig) != nil {
		t.Errorf("a signature by version 1 (%q) does not verify with its public key", vk.v1.URI)
	}
	use := func(ref string) error { _, _, err := sign(ref); return err }
	vk.retire(t, use)
	vk.deleteOld(t, use)
}

// checkVersionsDecrypt: after Rotate, a ciphertext made to version 1
// decrypts through version 1's reference and not through the label (the
// primary, version 2), and one made to version 2 decrypts through the
// label.
func (s *suite) checkVersionsDecrypt(t tb, alg backend.Algorithm) {
	op := s.oaepOp(alg)
	vk := s.newVersionedKey(t, alg, "decrypt")
	defer vk.done(t)
	ctx := t.Context()
	opts := op.DecrypterOpts()
	encrypt := func(k *backend.Key, pt []byte) []byte {
		ct, err := encryptFor(k.Public.(*rsa.PublicKey), op, opts, pt)
		if err != nil {
			t.Fatalf("encrypting with %s to version %d: %v", op, k.Version, err)
		}
		return ct
	}
	decrypt := func(ref string, ct []byte) ([]byte, error) {
		d, err := s.backend().Decrypter(ctx, ref)
		if err != nil {
			return nil, err
		}
		return decryptWith(d, decryptCase{opts: opts}, ct)
	}
	pt1 := randomBytes(24)
	ct1 := encrypt(vk.v1, pt1)
	vk.rotate(t)
	if got, err := decrypt(vk.v1.URI, ct1); err != nil || !bytes.Equal(got, pt1) {
		t.Errorf("%s: a ciphertext to version 1 through %q (version 1) after Rotate: %v", op, vk.v1.URI, err)
	}
	_, err := decrypt(vk.label, ct1)
	wantDecryptionErr(t, err, fmt.Sprintf("%s: a ciphertext to version 1 through %q (the primary, version 2)", op, vk.label))
	pt2 := randomBytes(24)
	ct2 := encrypt(vk.v2, pt2)
	if got, err := decrypt(vk.label, ct2); err != nil || !bytes.Equal(got, pt2) {
		t.Errorf("%s: a ciphertext to version 2 through %q: %v", op, vk.label, err)
	}
	use := func(ref string) error {
		k := vk.v2
		if ref == vk.v1.URI {
			k = vk.v1
		}
		_, err := decrypt(ref, encrypt(k, pt2))
		return err
	}
	vk.retire(t, use)
	vk.deleteOld(t, use)
}

// checkVersionsAEAD: a message sealed before Rotate opens through version
// 1's reference and not through the label; new messages are sealed under
// version 2.
func (s *suite) checkVersionsAEAD(t tb) {
	s.requireOp(t, backend.AES256GCM)
	vk := s.newVersionedKey(t, backend.AES256, "aead")
	defer vk.done(t)
	ctx := t.Context()
	ad := []byte(vk.label)
	aead := func(ref string) backend.AEAD {
		a, err := s.backend().(backend.AEADBackend).AEAD(ctx, ref)
		if err != nil {
			t.Fatalf("AEAD(%q): %v", ref, err)
		}
		return a
	}
	pt := randomBytes(40)
	sealed1, err := aead(vk.label).Seal(ctx, pt, ad)
	if err != nil {
		t.Fatalf("Seal before Rotate: %v", err)
	}
	vk.rotate(t)
	if got, err := aead(vk.v1.URI).Open(ctx, sealed1, ad); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("a message sealed before Rotate, opened through %q (version 1): %v", vk.v1.URI, err)
	}
	_, err = aead(vk.label).Open(ctx, sealed1, ad)
	wantDecryptionErr(t, err, fmt.Sprintf("a message sealed by version 1, opened through %q (the primary, version 2)", vk.label))
	sealed2, err := aead(vk.label).Seal(ctx, pt, ad)
	if err != nil {
		t.Fatalf("Seal after Rotate: %v", err)
	}
	if got, err := aead(vk.v2.URI).Open(ctx, sealed2, ad); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("a message sealed through %q after Rotate, opened through %q (version 2): %v", vk.label, vk.v2.URI, err)
	}
	_, err = aead(vk.v1.URI).Open(ctx, sealed2, ad)
	wantDecryptionErr(t, err, fmt.Sprintf("a message sealed after Rotate, opened through %q (version 1)", vk.v1.URI))
	use := func(ref string) error {
		a, err := s.backend().(backend.AEADBackend).AEAD(ctx, ref)
		if err != nil {
			return err
		}
		msg := sealed2
		if ref == vk.v1.URI {
			msg = sealed1
		}
		_, err = a.Open(ctx, msg, ad)
		return err
	}
	vk.retire(t, use)
	vk.deleteOld(t, use)
}

// checkVersionsFernet: after Rotate, version 1's reference gives the MACs
// and decryptions it gave before; the label gives version 2's.
func (s *suite) checkVersionsFernet(t tb) {
	s.requireOp(t, backend.FernetToken)
	vk := s.newVersionedKey(t, backend.Fernet, "fernet")
	defer vk.done(t)
	ctx := t.Context()
	fernet := func(ref string) backend.FernetKey {
		f, err := s.backend().(backend.FernetBackend).Fernet(ctx, ref)
		if err != nil {
			t.Fatalf("Fernet(%q): %v", ref, err)
		}
		return f
	}
	data, iv, pt := randomBytes(50), randomBytes(16), randomBytes(30)
	f1 := fernet(vk.label)
	mac1, err := f1.MAC(ctx, data)
	if err != nil {
		t.Fatalf("MAC before Rotate: %v", err)
	}
	ct1, err := f1.EncryptCBC(ctx, iv, pt)
	if err != nil {
		t.Fatalf("EncryptCBC before Rotate: %v", err)
	}
	vk.rotate(t)
	old := fernet(vk.v1.URI)
	if mac, err := old.MAC(ctx, data); err != nil || !bytes.Equal(mac, mac1) {
		t.Errorf("MAC through %q (version 1) after Rotate differs from version 1's MAC before (%v)", vk.v1.URI, err)
	}
	if got, err := old.DecryptCBC(ctx, iv, ct1); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("DecryptCBC through %q (version 1) of a ciphertext made before Rotate: %v", vk.v1.URI, err)
	}
	if mac, err := fernet(vk.label).MAC(ctx, data); err != nil || bytes.Equal(mac, mac1) {
		t.Errorf("MAC through %q after Rotate is version 1's (%v); want the primary's, version 2", vk.label, err)
	}
	use := func(ref string) error {
		f, err := s.backend().(backend.FernetBackend).Fernet(ctx, ref)
		if err != nil {
			return err
		}
		_, err = f.MAC(ctx, data)
		return err
	}
	vk.retire(t, use)
	vk.deleteOld(t, use)
}
