package software

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// readSidecar returns the JSON metadata of the key with id.
func readSidecar(t *testing.T, dir string, k *backend.Key) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, k.IDHex()+metaSuffix))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestVersionsSidecarFormat: a key never rotated keeps the format keyplane
// wrote before versions (sidecar version 1, no key_version), so that old
// keystores and new ones without rotation read alike; a rotated key's new
// version is written as format 2.
func TestVersionsSidecarFormat(t *testing.T) {
	dir := t.TempDir()
	ks := openDir(t, dir, nil)
	k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	m := readSidecar(t, dir, k)
	if m["version"] != 1.0 || m["key_version"] != nil || m["min_version"] != nil {
		t.Errorf("sidecar of a key never rotated: version %v key_version %v min_version %v; want the old format (1, absent, absent)", m["version"], m["key_version"], m["min_version"])
	}
	k2, err := ks.Rotate(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	m = readSidecar(t, dir, k2)
	if m["version"] != 2.0 || m["key_version"] != 2.0 {
		t.Errorf("sidecar of version 2: version %v key_version %v; want 2 and 2", m["version"], m["key_version"])
	}
	if m := readSidecar(t, dir, k); m["version"] != 1.0 {
		t.Errorf("Rotate rewrote version 1's sidecar: version %v", m["version"])
	}
}

// TestVersionsOldKeystore: a keystore written before key versions (a
// sidecar of format 1 written by hand, as the old code wrote it) reads as
// version 1, rotates, and signs.
func TestVersionsOldKeystore(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &keyEntry{meta: backend.Key{ID: []byte{1, 2, 3, 4}, Label: "old", Algorithm: backend.ECP256, Public: priv.Public()}, name: "01020304", priv: priv}
	pemData, err := encodeKeyFile(backend.ECP256, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := encodeSidecar(e, false) // Version 0: the old format
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(meta), "key_version") {
		t.Fatalf("a key of version 0 encodes as %s", meta)
	}
	for name, data := range map[string][]byte{"01020304.pem": pemData, "01020304.json": meta} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ks := openDir(t, dir, nil)
	vs, err := ks.Versions(ctx, "old")
	if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].URI != "id:01020304" {
		t.Fatalf("Versions of an old key: %v, %v; want version 1 named id:01020304", vs, err)
	}
	if _, err := ks.Rotate(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	old, err := ks.Signer(ctx, "id:01020304")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	sig, err := old.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(&priv.PublicKey, d[:], sig) {
		t.Errorf("version 1 of an old key after Rotate: %v", err)
	}
}

// TestVersionsOtherProcess: a minimum version set through one Keystore is
// seen by another open on the same directory that had already read the
// key (the sidecar is rewritten; the cache must notice).
func TestVersionsOtherProcess(t *testing.T) {
	dir := t.TempDir()
	a, b := openDir(t, dir, nil), openDir(t, dir, nil)
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.AES256}); err != nil {
		t.Fatal(err)
	}
	v1, err := b.Versions(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AEAD(ctx, v1[0].URI); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rotate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if k, err := b.Key(ctx, "k"); err != nil || k.Version != 2 {
		t.Fatalf("the other keystore after Rotate: %v version %d, want version 2", err, k.Version)
	}
	if err := a.SetMinVersion(ctx, "k", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AEAD(ctx, v1[0].URI); !errors.Is(err, backend.ErrKeyRetired) {
		t.Errorf("the other keystore, version 1 after SetMinVersion(2): %v, want ErrKeyRetired", err)
	}
	if _, err := b.AEAD(ctx, "k"); err != nil {
		t.Errorf("the other keystore, the primary after SetMinVersion(2): %v", err)
	}
	// The minimum is carried to the next version.
	if _, err := b.Rotate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AEAD(ctx, v1[0].URI); !errors.Is(err, backend.ErrKeyRetired) {
		t.Errorf("version 1 after a further Rotate: %v, want ErrKeyRetired (the minimum carries over)", err)
	}
}

// TestVersionsDeleteKeyRemovesAll: DeleteKey removes every version's files.
func TestVersionsDeleteKeyRemovesAll(t *testing.T) {
	dir := t.TempDir()
	ks := openDir(t, dir, nil)
	if _, err := ks.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.Ed25519}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := ks.Rotate(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "[0-9a-f]*"))
	if len(names) != 0 {
		t.Errorf("after DeleteKey of a key with 3 versions, the directory holds %v", names)
	}
}
