//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// secretObjectIDs returns the CKA_ID of every secret object labelled label.
func secretObjectIDs(t *testing.T, b *Backend, label string) [][]byte {
	t.Helper()
	var ids [][]byte
	err := b.withSession(t.Context(), func(s *session) error {
		hs, err := b.findObjects(s, []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), attr(pkcs11.CKA_LABEL, label)})
		if err != nil {
			return err
		}
		for _, h := range hs {
			a, err := b.attrs(s, h, pkcs11.CKA_ID)
			if err != nil {
				return err
			}
			ids = append(ids, a[pkcs11.CKA_ID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestFernetHalvesDistinctIDs: the two secret objects of a fernet key,
// generated or imported, carry different CKA_IDs, so that a token that
// keeps one secret key per CKA_CLASS and CKA_ID (NSS softokn replaces the
// first) holds both; the key's ID is the AES half's.
func TestFernetHalvesDistinctIDs(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	imported := uniqueLabel(t, "fernet-ids")
	value := make([]byte, 32)
	rand.Read(value)
	ik, err := b.ImportKey(ctx, imported, backend.SecretKey{Algorithm: backend.Fernet, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, imported) })
	for _, label := range []string{imported, genKey(t, b, backend.Fernet)} {
		k, err := b.Key(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		ids := secretObjectIDs(t, b, label)
		if len(ids) != 2 {
			t.Fatalf("%s: %d secret objects, want 2", label, len(ids))
		}
		if bytes.Equal(ids[0], ids[1]) {
			t.Errorf("%s: both halves have CKA_ID %x, want distinct IDs", label, ids[0])
		}
		if !bytes.Equal(ids[0], k.ID) && !bytes.Equal(ids[1], k.ID) {
			t.Errorf("%s: Key's ID %x is neither object's CKA_ID (%x)", label, k.ID, ids)
		}
	}
	// Found by ID too, and usable.
	f, err := b.Fernet(ctx, "id:"+ik.IDHex())
	if err != nil {
		t.Fatal(err)
	}
	mac, err := f.MAC(ctx, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, value[:16])
	h.Write([]byte("body"))
	if !hmac.Equal(mac, h.Sum(nil)) {
		t.Error("MAC by ID differs from crypto/hmac")
	}
}

// TestFernetSharedIDStillReadable: a fernet key made by keyplane before
// the halves had distinct IDs (both share one CKA_ID) is still found by
// label and by ID, used, listed once and deleted whole.
func TestFernetSharedIDStillReadable(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	label := uniqueLabel(t, "fernet-old")
	value := make([]byte, 32)
	rand.Read(value)
	id := newID()
	mac := make([]byte, 32)
	copy(mac, value[:16])
	err := b.withSession(ctx, func(s *session) error {
		for _, tmpl := range [][]*pkcs11.Attribute{
			append(fernetAESTemplate(label, id), attr(pkcs11.CKA_VALUE, value[16:])),
			append(fernetMACTemplate(label, id), attr(pkcs11.CKA_VALUE, mac)),
		} {
			if _, err := b.p.CreateObject(s.h, tmpl); err != nil {
				return ckErr("C_CreateObject", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	for _, ref := range []string{label, "id:" + hex.EncodeToString(id)} {
		k, err := b.Key(ctx, ref)
		if err != nil {
			t.Fatalf("Key(%s): %v", ref, err)
		}
		if k.Algorithm != backend.Fernet || !bytes.Equal(k.ID, id) {
			t.Errorf("Key(%s) = %s %x, want fernet %x", ref, k.Algorithm, k.ID, id)
		}
		f, err := b.Fernet(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.MAC(ctx, []byte("body"))
		if err != nil {
			t.Fatal(err)
		}
		h := hmac.New(sha256.New, value[:16])
		h.Write([]byte("body"))
		if !hmac.Equal(got, h.Sum(nil)) {
			t.Errorf("Fernet(%s).MAC differs from crypto/hmac", ref)
		}
	}
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if k.Label == label {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Keys lists %q %d times, want once", label, n)
	}
	if err := b.DeleteKey(ctx, label); err != nil {
		t.Fatal(err)
	}
	if ids := secretObjectIDs(t, b, label); len(ids) != 0 {
		t.Errorf("after DeleteKey, %d secret objects are left", len(ids))
	}
	if _, err := b.Key(ctx, label); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Key after DeleteKey: %v, want ErrNotFound", err)
	}
}
