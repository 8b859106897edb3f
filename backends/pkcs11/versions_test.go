//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/miekg/pkcs11"
)

// rotatedKey makes an ec-p256 key and rotates it twice: versions 1, 2, 3.
func rotatedKey(t *testing.T, b *Backend) (label string, vs []*backend.Key) {
	t.Helper()
	label = genKey(t, b, backend.ECP256)
	for range 2 {
		if _, err := b.Rotate(t.Context(), label); err != nil {
			t.Fatalf("Rotate(%q): %v", label, err)
		}
	}
	vs, err := b.Versions(t.Context(), label)
	if err != nil || len(vs) != 3 {
		t.Fatalf("Versions(%q): %d versions, %v; want 3", label, len(vs), err)
	}
	return label, vs
}

// TestVersionsTokenObjects: pkcs11-tool lists every version as an
// ordinary key pair — version 1 with the key's label and ID, version n
// with "<label>/v<n>" and the ID followed by n — and the versions record
// as a private data object.
func TestVersionsTokenObjects(t *testing.T) {
	tok := token(t)
	tool := testenv.Command(t, "pkcs11-tool", "opensc")
	b := openTest(t, "")
	label, vs := rotatedKey(t, b)
	id := vs[0].ID
	objs := pkcs11ToolObjects(t, tool, []string{"--module", tok.Module, "--token-label", tok.Label, "--login", "--pin", tok.PIN, "--list-objects"})
	for n, want := range []struct{ label, id string }{
		{label, hex.EncodeToString(id)},
		{label + "/v2", hex.EncodeToString(id) + "0002"},
		{label + "/v3", hex.EncodeToString(id) + "0003"},
	} {
		for _, kind := range []string{"Private Key Object", "Public Key Object"} {
			o := findToolObject(objs, kind, want.label)
			if o == nil {
				t.Errorf("version %d: pkcs11-tool lists no %s labelled %q", n+1, kind, want.label)
				continue
			}
			if o.attr["ID"] != want.id {
				t.Errorf("version %d: %s %q has ID %s, want %s", n+1, kind, want.label, o.attr["ID"], want.id)
			}
		}
		if got := hex.EncodeToString(vs[n].ID); got != want.id || vs[n].Version != n+1 || vs[n].Label != label {
			t.Errorf("Versions[%d] = %q v%d id %s, want %q v%d id %s", n, vs[n].Label, vs[n].Version, got, label, n+1, want.id)
		}
	}
	var data *toolObject
	for _, o := range objs {
		if strings.HasPrefix(o.kind, "Data object") && o.attr["label"] == "'"+label+"'" && o.attr["application"] == "'"+versionsApplication+"'" {
			data = o
		}
	}
	if data == nil {
		t.Errorf("pkcs11-tool lists no data object labelled %q of application %q", label, versionsApplication)
	} else if !slices.Contains(strings.Fields(data.attr["flags"]), "private") {
		t.Errorf("the versions record's flags %q: want private", data.attr["flags"])
	}
}

// TestVersionsCrypto11: crypto11's FindKeyPair reaches one version by its
// label ("<label>/v2") or by its ID (the key's ID and the version), and
// its signatures verify with that version's public key and no other;
// the key's plain label is version 1 to crypto11.
func TestVersionsCrypto11(t *testing.T) {
	tok := token(t)
	b := openTest(t, "")
	label, vs := rotatedKey(t, b)
	digest := sha256.Sum256([]byte("signed by crypto11 with one key version"))
	req := crypto11Request{
		Conf: tok.Conf, Module: tok.Module, Token: tok.Label, PIN: tok.PIN,
		Labels: []string{label, label + "/v2"}, IDs: [][]byte{vs[2].ID}, Digest: digest[:],
		NewLabel: uniqueLabel(t, "crypto11-versions"), NewID: randomID(t),
		Out: filepath.Join(t.TempDir(), "result.json"),
	}
	t.Cleanup(func() { b.DeleteKey(context.Background(), req.NewLabel) })
	res := runCrypto11Child(t, req)
	if res.Fatal != "" {
		t.Fatalf("crypto11 child: %s", res.Fatal)
	}
	check := func(what string, sig []byte, want int) {
		for n, v := range vs {
			err := verifyDigest(v.Public, digest[:], sig)
			if n+1 == want && err != nil {
				t.Errorf("%s: crypto11's signature does not verify with version %d's public key: %v", what, want, err)
			}
			if n+1 != want && err == nil {
				t.Errorf("%s: crypto11's signature verifies with version %d's public key, want only version %d's", what, n+1, want)
			}
		}
	}
	check("FindKeyPair(label "+label+")", res.Sigs[label], 1)
	check("FindKeyPair(label "+label+"/v2)", res.Sigs[label+"/v2"], 2)
	check("FindKeyPair(id of version 3)", res.IDSigs[hex.EncodeToString(vs[2].ID)], 3)
}

// TestVersionsOtherBackend: a second backend on the token (another
// process would be the same: the record is a token object) sees the
// rotation and the minimum version made through the first, even with the
// key cached.
func TestVersionsOtherBackend(t *testing.T) {
	a, b := openTest(t, ""), openTest(t, "")
	label := genKey(t, a, backend.ECP256)
	if _, err := b.Signer(t.Context(), label); err != nil { // b caches version 1
		t.Fatal(err)
	}
	nk, err := a.Rotate(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil || verifyDigest(nk.Public, d[:], sig) != nil {
		t.Errorf("the other backend's signature after Rotate: %v; want one by version 2", err)
	}
	if err := a.SetMinVersion(t.Context(), label, 2); err != nil {
		t.Fatal(err)
	}
	vs, err := b.Versions(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Signer(t.Context(), vs[0].URI); !errors.Is(err, backend.ErrKeyRetired) {
		t.Errorf("the other backend, version 1 after SetMinVersion(2): %v, want ErrKeyRetired", err)
	}
	// A handle on the label keeps its version after a further rotation.
	if _, err := a.Rotate(t.Context(), label); err != nil {
		t.Fatal(err)
	}
	sig, err = s.Sign(nil, d[:], crypto.SHA256)
	if err != nil || verifyDigest(nk.Public, d[:], sig) != nil {
		t.Errorf("a signer obtained for version 2 signed, after a rotation to 3, with %v; want version 2 still", err)
	}
	// DeleteKey removes every version and the record.
	if err := a.DeleteKey(t.Context(), label); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if _, err := a.Key(t.Context(), v.URI); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("version %d after DeleteKey: %v, want ErrNotFound", v.Version, err)
		}
	}
	if _, err := a.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.ECP256}); err != nil {
		t.Errorf("GenerateKey(%q) after DeleteKey of the versioned key: %v (the record was left behind?)", label, err)
	}
}

// TestVersionsKeepWrappable: the new version of a wrappable key is
// wrappable too (CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true), and of
// a key that is not, not.
func TestVersionsKeepWrappable(t *testing.T) {
	b := openTest(t, "")
	for _, wrappable := range []bool{true, false} {
		label := uniqueLabel(t, "rotate-wrappable")
		if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.AES256, Wrappable: wrappable}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteKey(context.Background(), label) })
		nk, err := b.Rotate(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		err = b.withSession(t.Context(), func(s *session) error {
			k, err := b.lookup(s, nk.URI)
			if err != nil {
				return err
			}
			a, err := b.attrs(s, k.secret, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_WRAP_WITH_TRUSTED)
			if err != nil {
				return err
			}
			if boolAttr(a[pkcs11.CKA_EXTRACTABLE]) != wrappable || boolAttr(a[pkcs11.CKA_WRAP_WITH_TRUSTED]) != wrappable {
				t.Errorf("version 2 of a key made with Wrappable %v: CKA_EXTRACTABLE %v, CKA_WRAP_WITH_TRUSTED %v",
					wrappable, boolAttr(a[pkcs11.CKA_EXTRACTABLE]), boolAttr(a[pkcs11.CKA_WRAP_WITH_TRUSTED]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
