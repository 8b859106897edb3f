package software

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

var ctx = context.Background()

func openMem(t testing.TB) *Keystore {
	t.Helper()
	ks, err := Open(ctx, "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

func mustGen(t testing.TB, ks *Keystore, label string, alg backend.Algorithm) *backend.Key {
	t.Helper()
	k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
	if err != nil {
		t.Fatalf("GenerateKey(%s, %s): %v", label, alg, err)
	}
	return k
}

func wantErr(t testing.TB, err, sentinel error, what string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v, want %v", what, err, sentinel)
	}
}

// verify checks sig with the standard library.
func verify(t testing.TB, pub crypto.PublicKey, op backend.Operation, msg, sig []byte) {
	t.Helper()
	h := op.Hash()
	var digest []byte
	if h != 0 {
		hh := h.New()
		hh.Write(msg)
		digest = hh.Sum(nil)
	}
	var ok bool
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if op.PSS() {
			ok = rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
		}
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest, sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, msg, sig)
	case *mldsa.PublicKey:
		ok = mldsa.Verify(k, msg, sig, nil) == nil
	}
	if !ok {
		t.Fatalf("%s signature does not verify with the standard library", op)
	}
}

func sign(t testing.TB, s crypto.Signer, op backend.Operation, msg []byte) []byte {
	t.Helper()
	digest := msg
	if h := op.Hash(); h != 0 {
		hh := h.New()
		hh.Write(msg)
		digest = hh.Sum(nil)
	}
	sig, err := s.Sign(rand.Reader, digest, op.SignerOpts())
	if err != nil {
		t.Fatalf("sign %s: %v", op, err)
	}
	return sig
}

func TestGenerateSignVerifyEveryAlgorithm(t *testing.T) {
	ks := openMem(t)
	msg := []byte("keyplane signs this")
	for _, alg := range backend.AllAlgorithms() {
		if !alg.Signs() || alg == backend.RSA4096 && testing.Short() {
			continue
		}
		t.Run(string(alg), func(t *testing.T) {
			k := mustGen(t, ks, "sig-"+string(alg), alg)
			if k.Algorithm != alg || len(k.ID) != 16 || k.Created.IsZero() {
				t.Fatalf("key description %+v", k)
			}
			if a, err := backend.AlgorithmOf(k.Public); err != nil || a != alg {
				t.Fatalf("public key is %v (%v), want %s", a, err, alg)
			}
			s, err := ks.Signer(ctx, k.Label)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public) {
				t.Fatal("signer's public key differs from the key's")
			}
			for _, op := range backend.OperationsFor(alg) {
				if op.Kind() != backend.OpSign {
					continue
				}
				verify(t, k.Public, op, msg, sign(t, s, op, msg))
			}
			// PSS with the longest salt (Auto) verifies too.
			if alg.Family() == backend.FamilyRSA {
				d := sha256.Sum256(msg)
				sig, err := s.Sign(nil, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256})
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPSS(k.Public.(*rsa.PublicKey), crypto.SHA256, d[:], sig, nil); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestSignerRefusesBadOptions(t *testing.T) {
	ks := openMem(t)
	mustGen(t, ks, "ec", backend.ECP256)
	mustGen(t, ks, "ed", backend.Ed25519)
	ec, _ := ks.Signer(ctx, "ec")
	ed, _ := ks.Signer(ctx, "ed")
	d := sha256.Sum256([]byte("x"))
	_, err := ec.Sign(rand.Reader, d[:], crypto.MD5)
	wantErr(t, err, backend.ErrUnsupported, "MD5")
	_, err = ec.Sign(rand.Reader, d[:20], crypto.SHA256)
	wantErr(t, err, backend.ErrInvalidInput, "short digest")
	_, err = ec.Sign(rand.Reader, d[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	wantErr(t, err, backend.ErrUnsupported, "PSS on EC")
	_, err = ed.Sign(rand.Reader, []byte("msg"), crypto.SHA512)
	wantErr(t, err, backend.ErrUnsupported, "Ed25519ph")
	_, err = ed.Sign(rand.Reader, []byte("msg"), &ed25519.Options{Context: "ctx"})
	wantErr(t, err, backend.ErrUnsupported, "Ed25519ctx")
	_, err = ed.Sign(rand.Reader, []byte("msg"), nil)
	wantErr(t, err, backend.ErrInvalidInput, "nil opts")
}

func TestDecryptEveryScheme(t *testing.T) {
	ks := openMem(t)
	k := mustGen(t, ks, "rsa", backend.RSA2048)
	pub := k.Public.(*rsa.PublicKey)
	d, err := ks.Decrypter(ctx, "rsa")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("a session key, say")
	hashes := []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for _, h := range hashes {
		for _, mgf := range []crypto.Hash{0, crypto.SHA1, crypto.SHA256} {
			for _, label := range [][]byte{nil, []byte("context label")} {
				name := fmt.Sprintf("oaep-%v-mgf%v-label%v", h, mgf, label != nil)
				opts := &rsa.OAEPOptions{Hash: h, MGFHash: mgf, Label: label}
				ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, msg, opts)
				if err != nil {
					t.Fatalf("%s: encrypt: %v", name, err)
				}
				got, err := d.Decrypt(rand.Reader, ct, opts)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s: decrypt = %q, %v", name, got, err)
				}
				// Wrong label, tampered ciphertext: the one vague error.
				bad := &rsa.OAEPOptions{Hash: h, MGFHash: mgf, Label: []byte("other")}
				if _, err := d.Decrypt(rand.Reader, ct, bad); err != backend.ErrDecryption {
					t.Fatalf("%s: wrong label: %v, want exactly ErrDecryption", name, err)
				}
				ct[len(ct)/2] ^= 1
				if _, err := d.Decrypt(rand.Reader, ct, opts); err != backend.ErrDecryption {
					t.Fatalf("%s: tampered: %v, want exactly ErrDecryption", name, err)
				}
			}
		}
	}
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []crypto.DecrypterOpts{nil, &rsa.PKCS1v15DecryptOptions{}} {
		got, err := d.Decrypt(rand.Reader, ct, opts)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("PKCS#1 v1.5 (%T): %q, %v", opts, got, err)
		}
	}
	bad := append([]byte(nil), ct...)
	bad[0] ^= 0xff
	if _, err := d.Decrypt(rand.Reader, bad, nil); err != backend.ErrDecryption {
		t.Fatalf("tampered PKCS#1 v1.5: %v, want exactly ErrDecryption", err)
	}
	if _, err := d.Decrypt(rand.Reader, ct[:10], nil); err != backend.ErrDecryption {
		t.Fatalf("short PKCS#1 v1.5: %v, want exactly ErrDecryption", err)
	}
	// Implicit rejection: a good ciphertext gives the key, a bad one random
	// bytes of the asked length, never an error.
	key := []byte("0123456789abcdef")
	ct, _ = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	got, err := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16})
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("session key: %q, %v", got, err)
	}
	ct[5] ^= 0x55
	r1, err1 := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16})
	r2, err2 := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16})
	if err1 != nil || err2 != nil || len(r1) != 16 || bytes.Equal(r1, key) || bytes.Equal(r1, r2) {
		t.Fatalf("implicit rejection: %x %v, %x %v", r1, err1, r2, err2)
	}
	// Options it does not understand are refused, not defaulted.
	_, err = d.Decrypt(rand.Reader, ct, &rsa.PSSOptions{})
	wantErr(t, err, backend.ErrUnsupported, "PSS options to Decrypt")
	_, err = d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.MD5})
	wantErr(t, err, backend.ErrUnsupported, "OAEP-MD5")
}

func TestAEAD(t *testing.T) {
	ks := openMem(t)
	mustGen(t, ks, "aes", backend.AES256)
	a, err := ks.AEAD(ctx, "aes")
	if err != nil {
		t.Fatal(err)
	}
	if a.NonceSize() != 12 || a.Overhead() != 28 {
		t.Fatalf("NonceSize %d Overhead %d, want 12 and 28", a.NonceSize(), a.Overhead())
	}
	pt, ad := []byte("attack at dawn"), []byte("header")
	s1, err := a.Seal(ctx, pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := a.Seal(ctx, pt, ad)
	if len(s1) != len(pt)+28 || bytes.Equal(s1[:12], s2[:12]) {
		t.Fatalf("sealed length %d or repeated nonce", len(s1))
	}
	got, err := a.Open(ctx, s1, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// The layout is nonce ‖ ciphertext ‖ tag of AES-256-GCM: the exported
	// key opens it with the standard library.
	exp, err := ks.ExportKey(ctx, "aes")
	if err != nil {
		t.Fatal(err)
	}
	if got := stdGCMOpen(t, exp.(backend.SecretKey).Value, s1, ad); !bytes.Equal(got, pt) {
		t.Fatal("standard library AES-GCM does not open the sealed message")
	}
	for i := range s1 {
		bad := append([]byte(nil), s1...)
		bad[i] ^= 0x80
		if _, err := a.Open(ctx, bad, ad); err != backend.ErrDecryption {
			t.Fatalf("tampered byte %d: %v, want exactly ErrDecryption", i, err)
		}
	}
	if _, err := a.Open(ctx, s1, []byte("other ad")); err != backend.ErrDecryption {
		t.Fatalf("wrong ad: %v", err)
	}
	if _, err := a.Open(ctx, s1[:20], ad); err != backend.ErrDecryption {
		t.Fatalf("short: %v", err)
	}
}

func TestFernetPrimitives(t *testing.T) {
	ks := openMem(t)
	value := make([]byte, 32)
	rand.Read(value)
	if _, err := ks.ImportKey(ctx, "fernet", backend.SecretKey{Algorithm: backend.Fernet, Value: value}); err != nil {
		t.Fatal(err)
	}
	f, err := ks.Fernet(ctx, "fernet")
	if err != nil {
		t.Fatal(err)
	}
	mac, err := f.MAC(ctx, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if want := stdHMAC(value[:16], []byte("data")); !bytes.Equal(mac, want) {
		t.Fatal("MAC is not HMAC-SHA256 under the first 16 bytes")
	}
	iv := make([]byte, 16)
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		pt := bytes.Repeat([]byte{'p'}, n)
		ct, err := f.EncryptCBC(ctx, iv, pt)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdCBCEncrypt(t, value[16:], iv, pt); !bytes.Equal(ct, want) {
			t.Fatalf("%d bytes: ciphertext differs from AES-128-CBC/PKCS#7 under the last 16 bytes", n)
		}
		got, err := f.DecryptCBC(ctx, iv, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: DecryptCBC = %q, %v", n, got, err)
		}
	}
	ct, _ := f.EncryptCBC(ctx, iv, []byte("hello"))
	for _, bad := range [][]byte{nil, ct[:15], append(append([]byte{}, ct...), 1), stdCBCEncryptRaw(t, value[16:], iv, bytes.Repeat([]byte{0}, 16))} {
		if _, err := f.DecryptCBC(ctx, iv, bad); err != backend.ErrDecryption {
			t.Fatalf("bad ciphertext %x: %v, want exactly ErrDecryption", bad, err)
		}
	}
	if _, err := f.DecryptCBC(ctx, iv[:8], ct); err != backend.ErrDecryption {
		t.Fatalf("short IV on decrypt: %v", err)
	}
	_, err = f.EncryptCBC(ctx, iv[:8], []byte("x"))
	wantErr(t, err, backend.ErrInvalidInput, "short IV on encrypt")
}

func TestErrors(t *testing.T) {
	ks := openMem(t)
	mustGen(t, ks, "ec", backend.ECP384)
	mustGen(t, ks, "aes", backend.AES256)
	mustGen(t, ks, "fernet", backend.Fernet)

	_, err := ks.Signer(ctx, "missing")
	wantErr(t, err, backend.ErrNotFound, "Signer(missing)")
	_, err = ks.Key(ctx, "id:00112233")
	wantErr(t, err, backend.ErrNotFound, "Key(unknown id)")
	wantErr(t, ks.DeleteKey(ctx, "missing"), backend.ErrNotFound, "DeleteKey(missing)")
	_, err = ks.Key(ctx, "id:zz")
	wantErr(t, err, backend.ErrInvalidInput, "Key(id:zz)")
	_, err = ks.Key(ctx, "")
	wantErr(t, err, backend.ErrInvalidInput, "Key(\"\")")

	_, err = ks.GenerateKey(ctx, backend.KeySpec{Label: "ec", Algorithm: backend.Ed25519})
	wantErr(t, err, backend.ErrAlreadyExists, "duplicate label")
	_, err = ks.GenerateKey(ctx, backend.KeySpec{Label: "x", Algorithm: "dsa-1024"})
	wantErr(t, err, backend.ErrUnsupported, "unknown algorithm")
	_, err = ks.GenerateKey(ctx, backend.KeySpec{Label: "a/b", Algorithm: backend.Ed25519})
	wantErr(t, err, backend.ErrInvalidInput, "bad label")

	_, err = ks.Signer(ctx, "aes")
	wantErr(t, err, backend.ErrUnsupported, "Signer(aes key)")
	_, err = ks.Decrypter(ctx, "ec")
	wantErr(t, err, backend.ErrUnsupported, "Decrypter(ec key)")
	_, err = ks.AEAD(ctx, "ec")
	wantErr(t, err, backend.ErrUnsupported, "AEAD(ec key)")
	_, err = ks.AEAD(ctx, "fernet")
	wantErr(t, err, backend.ErrUnsupported, "AEAD(fernet key)")
	_, err = ks.Fernet(ctx, "aes")
	wantErr(t, err, backend.ErrUnsupported, "Fernet(aes key)")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ks.GenerateKey(cctx, backend.KeySpec{Label: "late", Algorithm: backend.Ed25519})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestClose(t *testing.T) {
	ks := openMem(t)
	mustGen(t, ks, "ed", backend.Ed25519)
	mustGen(t, ks, "aes", backend.AES256)
	mustGen(t, ks, "fernet", backend.Fernet)
	s, _ := ks.Signer(ctx, "ed")
	a, _ := ks.AEAD(ctx, "aes")
	f, _ := ks.Fernet(ctx, "fernet")
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Sign(nil, []byte("m"), crypto.Hash(0))
	wantErr(t, err, backend.ErrClosed, "Sign after Close")
	_, err = a.Seal(ctx, []byte("m"), nil)
	wantErr(t, err, backend.ErrClosed, "Seal after Close")
	_, err = f.MAC(ctx, []byte("m"))
	wantErr(t, err, backend.ErrClosed, "MAC after Close")
	_, err = ks.Keys(ctx)
	wantErr(t, err, backend.ErrClosed, "Keys after Close")
	_, err = ks.GenerateKey(ctx, backend.KeySpec{Label: "n", Algorithm: backend.Ed25519})
	wantErr(t, err, backend.ErrClosed, "GenerateKey after Close")
	_, err = ks.Capabilities(ctx)
	wantErr(t, err, backend.ErrClosed, "Capabilities after Close")
}

func TestKeysAndRefs(t *testing.T) {
	ks := openMem(t)
	labels := []string{"zulu", "alpha", "mike", "Ünïcode label"}
	ids := map[string]string{}
	for _, l := range labels {
		ids[l] = mustGen(t, ks, l, backend.Ed25519).IDHex()
	}
	keys, err := ks.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Label)
	}
	want := append([]string(nil), labels...)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Keys() labels %q, want sorted %q", got, want)
	}
	k, err := ks.Key(ctx, "id:"+ids["mike"])
	if err != nil || k.Label != "mike" {
		t.Fatalf("Key(id:) = %v, %v", k, err)
	}
	// The returned description is a copy.
	k.ID[0] ^= 0xff
	k2, _ := ks.Key(ctx, "mike")
	if k2.IDHex() != ids["mike"] {
		t.Fatal("mutating a returned Key changed the keystore's")
	}
	if err := ks.DeleteKey(ctx, "id:"+ids["mike"]); err != nil {
		t.Fatal(err)
	}
	_, err = ks.Key(ctx, "mike")
	wantErr(t, err, backend.ErrNotFound, "Key after delete")
	// The label is free again.
	mustGen(t, ks, "mike", backend.ECP256)
}

func TestCapabilities(t *testing.T) {
	ks := openMem(t)
	c, err := ks.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend != "software" || !c.Import || !c.Export || c.Persistent {
		t.Fatalf("memory capabilities %+v", c)
	}
	for _, a := range backend.AllAlgorithms() {
		if !c.SupportsAlgorithm(a) {
			t.Errorf("missing algorithm %s", a)
		}
	}
	for _, op := range backend.AllOperations() {
		if !c.SupportsOperation(op) {
			t.Errorf("missing operation %s", op)
		}
	}
	dks := openDir(t, newDir(t), nil)
	dc, _ := dks.Capabilities(ctx)
	if !dc.Persistent || !strings.HasPrefix(dc.Description, "keystore /") {
		t.Fatalf("directory capabilities %+v", dc)
	}
}

func TestRegistered(t *testing.T) {
	b, err := backend.Open(ctx, "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(*Keystore); !ok {
		t.Fatalf("backend.Open returned %T", b)
	}
	// Each Open is a fresh store.
	b.GenerateKey(ctx, backend.KeySpec{Label: "only-here", Algorithm: backend.Ed25519})
	b2, _ := backend.Open(ctx, "software:memory")
	defer b2.Close()
	if _, err := b2.Key(ctx, "only-here"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a second software:memory sees the first's keys: %v", err)
	}
}

// TestConcurrentUse: goroutines generate, sign, look up and delete at once.
func TestConcurrentUse(t *testing.T) {
	for _, name := range []string{"memory", "dir"} {
		t.Run(name, func(t *testing.T) {
			var ks *Keystore
			if name == "memory" {
				ks = openMem(t)
			} else {
				ks = openDir(t, newDir(t), []byte("pw"))
			}
			shared := mustGen(t, ks, "shared", backend.ECP256)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 10 {
						label := fmt.Sprintf("g%d-%d", g, i)
						if _, err := ks.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: backend.Ed25519}); err != nil {
							errs <- err
							return
						}
						s, err := ks.Signer(ctx, "shared")
						if err != nil {
							errs <- err
							return
						}
						d := sha256.Sum256([]byte(label))
						sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
						if err != nil || !ecdsa.VerifyASN1(shared.Public.(*ecdsa.PublicKey), d[:], sig) {
							errs <- fmt.Errorf("sign: %v", err)
							return
						}
						if i%2 == 0 {
							if err := ks.DeleteKey(ctx, label); err != nil {
								errs <- err
								return
							}
						}
						_, err = ks.GenerateKey(ctx, backend.KeySpec{Label: "contended", Algorithm: backend.Ed25519})
						if err != nil && !errors.Is(err, backend.ErrAlreadyExists) {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			keys, _ := ks.Keys(ctx)
			if len(keys) != 1+8*5+1 {
				t.Fatalf("%d keys, want %d", len(keys), 1+8*5+1)
			}
		})
	}
}
