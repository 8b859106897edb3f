package software

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// TestDirPersistence: keys of every type survive a reopen (a fresh process
// state: nothing cached) and still work.
func TestDirPersistence(t *testing.T) {
	for _, pass := range [][]byte{nil, []byte("s3cret passphrase")} {
		t.Run("encrypted="+map[bool]string{true: "yes", false: "no"}[pass != nil], func(t *testing.T) {
			dir := newDir(t)
			ks := openDir(t, dir, pass)
			made := map[string]*backend.Key{}
			for _, alg := range backend.AllAlgorithms() {
				if alg == backend.RSA4096 || alg == backend.RSA3072 {
					continue // slow to generate; covered in memory
				}
				made[string(alg)] = mustGen(t, ks, "key-"+string(alg), alg)
			}
			aead, _ := ks.AEAD(ctx, "key-aes-256")
			sealed, _ := aead.Seal(ctx, []byte("kept"), nil)
			ks.Close()

			ks2 := openDir(t, dir, pass)
			keys, err := ks2.Keys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(made) {
				t.Fatalf("reopened keystore has %d keys, want %d", len(keys), len(made))
			}
			for _, k := range keys {
				want := made[string(k.Algorithm)]
				if !bytes.Equal(k.ID, want.ID) || k.Label != want.Label || !k.Created.Equal(want.Created) {
					t.Fatalf("reopened %+v, want %+v", k, want)
				}
				if k.Algorithm.Asymmetric() && !samePublic(k.Public, want.Public) {
					t.Fatalf("%s: public key changed", k.Label)
				}
				if k.Algorithm.Signs() {
					s, err := ks2.Signer(ctx, k.Label)
					if err != nil {
						t.Fatal(err)
					}
					for _, op := range backend.OperationsFor(k.Algorithm) {
						if op.Kind() == backend.OpSign {
							verify(t, k.Public, op, []byte("m"), sign(t, s, op, []byte("m")))
						}
					}
				}
			}
			a2, err := ks2.AEAD(ctx, "key-aes-256")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := a2.Open(ctx, sealed, nil); err != nil || string(got) != "kept" {
				t.Fatalf("AES key after reopen: %q, %v", got, err)
			}
			if _, err := ks2.Fernet(ctx, "key-fernet"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDirFileLayout(t *testing.T) {
	dir := newDir(t)
	pass := []byte("layout passphrase")
	ks := openDir(t, dir, pass)
	ed := mustGen(t, ks, "ed", backend.Ed25519)
	aes := mustGen(t, ks, "aes", backend.AES256)

	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v; want 0700", st.Mode().Perm(), err)
	}
	names, _ := os.ReadDir(dir)
	var files []string
	for _, de := range names {
		files = append(files, de.Name())
		info, _ := de.Info()
		if de.Name() != lockName && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", de.Name(), info.Mode().Perm())
		}
		if strings.HasPrefix(de.Name(), tempPrefix) {
			t.Errorf("temporary file %s left behind", de.Name())
		}
	}
	want := []string{lockName, aes.IDHex() + ".json", aes.IDHex() + ".pem", ed.IDHex() + ".json", ed.IDHex() + ".pem"}
	if strings.Join(sortStrings(files), " ") != strings.Join(sortStrings(want), " ") {
		t.Fatalf("files %q, want %q", files, want)
	}

	// The private key is a standard encrypted PKCS#8 file with the real
	// default parameters only when kdfIterations is the default; here the
	// test value is used.
	data, _ := os.ReadFile(filepath.Join(dir, ed.IDHex()+".pem"))
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("key file is not an ENCRYPTED PRIVATE KEY PEM: %q", data)
	}
	info, err := pkcs8.Inspect(block.Bytes)
	if err != nil || info.PRF != crypto.SHA256 || info.Cipher != "AES-256-CBC" || info.Iterations != kdfIterations {
		t.Fatalf("key file scheme %v, %v", info, err)
	}
	k, err := pkcs8.ParsePrivateKeyPEM(data, func() ([]byte, error) { return pass, nil })
	if err != nil || !k.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(ed.Public) {
		t.Fatalf("pkcs8 reading the key file: %v", err)
	}
	secret, _ := os.ReadFile(filepath.Join(dir, aes.IDHex()+".pem"))
	if !bytes.HasPrefix(secret, []byte("-----BEGIN ENCRYPTED KEYPLANE SECRET KEY-----")) {
		t.Fatalf("secret key file starts %q", secret[:50])
	}
	exported, _ := ks.ExportKey(ctx, "aes")
	if bytes.Contains(secret, exported.(backend.SecretKey).Value) {
		t.Fatal("secret key bytes appear in the encrypted file")
	}

	var sc sidecar
	meta, _ := os.ReadFile(filepath.Join(dir, ed.IDHex()+".json"))
	if err := json.Unmarshal(meta, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Label != "ed" || sc.Algorithm != "ed25519" || sc.ID != ed.IDHex() || !sc.Encrypted || !strings.Contains(sc.PublicKey, "BEGIN PUBLIC KEY") {
		t.Fatalf("sidecar %+v", sc)
	}
	if bytes.Contains(meta, pass) || bytes.Contains(data, pass) {
		t.Fatal("the passphrase appears in a file")
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestWrongPassphrase(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, []byte("right"))
	mustGen(t, ks, "ec", backend.ECP256)
	mustGen(t, ks, "aes", backend.AES256)
	ks.Close()

	bad := openDir(t, dir, []byte("wrong"))
	// Listing needs no passphrase: metadata and public keys are plain.
	if keys, err := bad.Keys(ctx); err != nil || len(keys) != 2 {
		t.Fatalf("Keys with a wrong passphrase: %d, %v", len(keys), err)
	}
	_, err := bad.Signer(ctx, "ec")
	wantErr(t, err, backend.ErrAuthentication, "Signer with the wrong passphrase")
	_, err = bad.AEAD(ctx, "aes")
	wantErr(t, err, backend.ErrAuthentication, "AEAD with the wrong passphrase")
	_, err = bad.ExportKey(ctx, "ec")
	wantErr(t, err, backend.ErrAuthentication, "ExportKey with the wrong passphrase")
	if strings.Contains(err.Error(), "wrong") && strings.Contains(err.Error(), "right") {
		t.Fatalf("error mentions a passphrase: %v", err)
	}

	none := openDir(t, dir, nil)
	_, err = none.Signer(ctx, "ec")
	wantErr(t, err, backend.ErrAuthentication, "Signer with no passphrase")

	// KEYPLANE_PASSPHRASE is the CLI's: the package never reads it.
	t.Setenv(PassphraseEnv, "right")
	envOnly, err := Open(ctx, "software:"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer envOnly.Close()
	_, err = envOnly.Signer(ctx, "ec")
	wantErr(t, err, backend.ErrAuthentication, "Signer with the passphrase only in "+PassphraseEnv)

	// The right passphrase from a callback works; the callback is called
	// once, at OpenConfig, and its slice is zeroed afterwards.
	cfg, err := ParseURI("software:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	var handed []byte
	cfg.Passphrase = func(context.Context) ([]byte, error) {
		calls++
		handed = []byte("right")
		return handed, nil
	}
	good, err := OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Signer(ctx, "ec"); err != nil {
		t.Fatalf("Config.Passphrase: %v", err)
	}
	if calls != 1 {
		t.Errorf("passphrase callback called %d times, want 1", calls)
	}
	good.Close()
	if !bytes.Equal(handed, make([]byte, len("right"))) {
		t.Errorf("passphrase bytes after Close = %q, want zeroed", handed)
	}
}

func TestPassphraseFile(t *testing.T) {
	dir := newDir(t)
	t.Setenv(PassphraseEnv, "")
	p := writeSecretFile(t, []byte("from a file\n"))
	ks, err := Open(ctx, "software:"+dir+"?passphrase-source=file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	mustGen(t, ks, "k", backend.Ed25519)
	ks.Close()
	// The trailing newline is not part of the passphrase.
	ks2 := openDir(t, dir, []byte("from a file"))
	if _, err := ks2.Signer(ctx, "k"); err != nil {
		t.Fatal(err)
	}

	os.Chmod(p, 0o640)
	_, err = Open(ctx, "software:"+dir+"?passphrase-source=file:"+p)
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "0640") {
		t.Fatalf("group-readable passphrase file: %v", err)
	}
	empty := writeSecretFile(t, []byte("\n"))
	_, err = Open(ctx, "software:"+dir+"?passphrase-source=file:"+empty)
	wantErr(t, err, backend.ErrInvalidInput, "empty passphrase file")
	_, err = Open(ctx, "software:"+dir+"?passphrase-source=file:/nonexistent/pass")
	wantErr(t, err, backend.ErrInvalidInput, "missing passphrase file")
	_, err = Open(ctx, "software:"+dir+"?passphrase-source=file:"+filepath.Dir(p))
	wantErr(t, err, backend.ErrInvalidInput, "directory as passphrase file")
}

// TestNoPassphraseWarning: an unencrypted keystore logs one warning line,
// which names the directory and holds no secret.
func TestNoPassphraseWarning(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	dir := newDir(t)
	ks := openDir(t, dir, nil)
	mustGen(t, ks, "k", backend.Ed25519)
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "no passphrase") || !strings.Contains(buf.String(), dir) {
		t.Fatalf("want one warning line naming %s, got %q", dir, buf.String())
	}
	buf.Reset()
	ks2 := openDir(t, dir, []byte("a passphrase"))
	mustGen(t, ks2, "k2", backend.Ed25519)
	if buf.Len() != 0 {
		t.Fatalf("with a passphrase, logged %q", buf.String())
	}
	// Once a passphrase is configured, plain keys are refused (issue 12,
	// B.6): such a keystore uses encrypted files only.
	_, err := ks2.Signer(ctx, "k")
	wantErr(t, err, backend.ErrInvalidInput, "a plain key in a keystore with a passphrase")
}

func TestExistingDirModeWarning(t *testing.T) {
	dir := openWarnedDir(t)
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, nil, 0o600)
	_, err := Open(ctx, "software:"+file)
	wantErr(t, err, backend.ErrInvalidInput, "keystore path is a file")
}

// TestSecondKeystoreSeesKeys: two keystores on one directory (as two
// processes would be) see each other's keys and deletions.
func TestSecondKeystoreSeesKeys(t *testing.T) {
	dir := newDir(t)
	a := openDir(t, dir, nil)
	b := openDir(t, dir, nil)
	k := mustGen(t, a, "from-a", backend.ECP256)
	s, err := b.Signer(ctx, "from-a")
	if err != nil {
		t.Fatalf("b does not see a's key: %v", err)
	}
	d := sha256.Sum256([]byte("x"))
	verify(t, k.Public, backend.ECDSASHA256, []byte("x"), mustSign(t, s, d[:]))
	_, err = b.GenerateKey(ctx, backend.KeySpec{Label: "from-a", Algorithm: backend.Ed25519})
	wantErr(t, err, backend.ErrAlreadyExists, "b reusing a's label")
	if err := b.DeleteKey(ctx, "from-a"); err != nil {
		t.Fatal(err)
	}
	_, err = a.Key(ctx, "from-a")
	wantErr(t, err, backend.ErrNotFound, "a after b deleted")
	wantErr(t, a.DeleteKey(ctx, "id:"+k.IDHex()), backend.ErrNotFound, "a deleting again")
}

func mustSign(t testing.TB, s crypto.Signer, digest []byte) []byte {
	t.Helper()
	sig, err := s.Sign(nil, digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestDebrisIgnoredAndSwept: what a killed writer leaves (a temporary file,
// a key file without metadata) is invisible, and the next writer removes
// it; a corrupt metadata file is skipped with a warning.
func TestDebrisIgnoredAndSwept(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, nil)
	mustGen(t, ks, "real", backend.Ed25519)
	tmp := filepath.Join(dir, tempPrefix+"123")
	orphan := filepath.Join(dir, "00112233445566778899aabbccddeeff.pem")
	os.WriteFile(tmp, []byte("half a key"), 0o600)
	os.WriteFile(orphan, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "ffee.json"), []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("user file"), 0o600)

	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	keys, err := ks.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Label != "real" {
		t.Fatalf("Keys = %v, %v; want only \"real\"", keys, err)
	}
	ks.Keys(ctx)
	if strings.Count(buf.String(), "ffee.json") != 1 {
		t.Fatalf("want one warning about ffee.json, got %q", buf.String())
	}
	mustGen(t, ks, "next", backend.Ed25519)
	for _, f := range []string{tmp, orphan} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not swept: %v", filepath.Base(f), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a user's file was removed: %v", err)
	}
}

// TestKeyFileMismatch: a key file swapped under its metadata is refused,
// not used with the wrong public key.
func TestKeyFileMismatch(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, nil)
	a := mustGen(t, ks, "a", backend.ECP256)
	b := mustGen(t, ks, "b", backend.ECP256)
	ks.Close()
	data, _ := os.ReadFile(filepath.Join(dir, b.IDHex()+".pem"))
	os.WriteFile(filepath.Join(dir, a.IDHex()+".pem"), data, 0o600)
	ks2 := openDir(t, dir, nil)
	_, err := ks2.Signer(ctx, "a")
	wantErr(t, err, backend.ErrInvalidInput, "swapped key file")

	// A fernet key file under aes-256 metadata is refused too.
	aes := mustGen(t, ks2, "aes", backend.AES256)
	fer := mustGen(t, ks2, "fer", backend.Fernet)
	ks2.Close()
	data, _ = os.ReadFile(filepath.Join(dir, fer.IDHex()+".pem"))
	os.WriteFile(filepath.Join(dir, aes.IDHex()+".pem"), data, 0o600)
	ks3 := openDir(t, dir, nil)
	_, err = ks3.AEAD(ctx, "aes")
	wantErr(t, err, backend.ErrInvalidInput, "fernet key file under aes-256 metadata")
}

// TestDefaultIterationsOnDisk: with the package default, key files use
// 600000 PBKDF2 iterations.
func TestDefaultIterationsOnDisk(t *testing.T) {
	kdfIterations = pkcs8.DefaultIterations
	defer func() { kdfIterations = testIterations }()
	dir := newDir(t)
	ks := openDir(t, dir, []byte("p"))
	k := mustGen(t, ks, "k", backend.Ed25519)
	data, _ := os.ReadFile(filepath.Join(dir, k.IDHex()+".pem"))
	block, _ := pem.Decode(data)
	info, err := pkcs8.Inspect(block.Bytes)
	if err != nil || info.Iterations != 600000 {
		t.Fatalf("iterations %d, %v; want 600000", info.Iterations, err)
	}
}
