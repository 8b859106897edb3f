//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

func uniqueLabel(t testing.TB, prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}

// verify checks sig over msg with the standard library.
func verify(t *testing.T, pub crypto.PublicKey, msg, sig []byte, opts crypto.SignerOpts) {
	t.Helper()
	var err error
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		h := opts.HashFunc().New()
		h.Write(msg)
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			err = rsa.VerifyPSS(pub, pss.Hash, h.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		} else {
			err = rsa.VerifyPKCS1v15(pub, opts.HashFunc(), h.Sum(nil), sig)
		}
	case *ecdsa.PublicKey:
		h := opts.HashFunc().New()
		h.Write(msg)
		if !ecdsa.VerifyASN1(pub, h.Sum(nil), sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, msg, sig) {
			err = errors.New("Ed25519 signature does not verify")
		}
	default:
		err = fmt.Errorf("public key %T", pub)
	}
	if err != nil {
		t.Errorf("%T, %v: %v", pub, opts, err)
	}
}

func sign(t *testing.T, s crypto.Signer, msg []byte, opts crypto.SignerOpts) []byte {
	t.Helper()
	digest := msg
	if opts.HashFunc() != 0 {
		h := opts.HashFunc().New()
		h.Write(msg)
		digest = h.Sum(nil)
	}
	sig, err := s.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatalf("Sign(%v): %v", opts, err)
	}
	return sig
}

func TestGenerateAndSign(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	msg := []byte("keyplane signs this")
	cases := []struct {
		alg  backend.Algorithm
		opts []crypto.SignerOpts
	}{
		{backend.RSA2048, []crypto.SignerOpts{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512,
			&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash},
			&rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthAuto},
			&rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 20}}},
		{backend.RSA3072, []crypto.SignerOpts{crypto.SHA256}},
		{backend.RSA4096, []crypto.SignerOpts{crypto.SHA512}},
		{backend.ECP256, []crypto.SignerOpts{crypto.SHA256, crypto.SHA1, crypto.SHA512}},
		{backend.ECP384, []crypto.SignerOpts{crypto.SHA384}},
		{backend.ECP521, []crypto.SignerOpts{crypto.SHA512}},
		{backend.Ed25519, []crypto.SignerOpts{crypto.Hash(0), &ed25519.Options{}}},
	}
	for _, c := range cases {
		t.Run(string(c.alg), func(t *testing.T) {
			label := uniqueLabel(t, string(c.alg))
			k, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: c.alg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.DeleteKey(ctx, label) })
			if k.Label != label || len(k.ID) != idLen || k.Algorithm != c.alg {
				t.Errorf("GenerateKey = %+v", k)
			}
			if got, err := backend.AlgorithmOf(k.Public); err != nil || got != c.alg {
				t.Errorf("public key is %v, %v", got, err)
			}
			for _, ref := range []string{label, "id:" + k.IDHex(), k.URI} {
				s, err := b.Signer(ctx, ref)
				if err != nil {
					t.Fatalf("Signer(%q): %v", ref, err)
				}
				for _, o := range c.opts {
					verify(t, s.Public(), msg, sign(t, s, msg, o), o)
				}
			}
		})
	}
}

func TestKeyAttributes(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	for _, alg := range []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.Ed25519, backend.AES256, backend.Fernet} {
		label := uniqueLabel(t, "attrs")
		if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteKey(ctx, label) })
		err := b.withSession(ctx, func(s *session) error {
			k, err := b.lookup(s, label)
			if err != nil {
				return err
			}
			for _, h := range []pkcs11.ObjectHandle{k.priv, k.secret, k.mac} {
				if h == 0 {
					continue
				}
				a, err := b.attrs(s, h, pkcs11.CKA_SENSITIVE, pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_EXTRACTABLE,
					pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_PRIVATE, pkcs11.CKA_TOKEN, pkcs11.CKA_LABEL, pkcs11.CKA_ID)
				if err != nil {
					return err
				}
				for typ, want := range map[uint]bool{pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_ALWAYS_SENSITIVE: true,
					pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_NEVER_EXTRACTABLE: true, pkcs11.CKA_PRIVATE: true, pkcs11.CKA_TOKEN: true} {
					if got := boolAttr(a[typ]); got != want {
						t.Errorf("%s: attribute 0x%x = %v, want %v", alg, typ, got, want)
					}
				}
				wantID := k.id
				if h == k.mac {
					wantID = fernetMACID(k.id) // the HMAC half has its own CKA_ID
				}
				if string(a[pkcs11.CKA_LABEL]) != label || string(a[pkcs11.CKA_ID]) != string(wantID) {
					t.Errorf("%s: label/id %q/%x, want %q/%x", alg, a[pkcs11.CKA_LABEL], a[pkcs11.CKA_ID], label, wantID)
				}
				secretAttr := uint(pkcs11.CKA_VALUE)
				if alg.Family() == backend.FamilyRSA {
					secretAttr = pkcs11.CKA_PRIVATE_EXPONENT
				}
				_, err = b.attrs(s, h, secretAttr)
				if codeOf(err) != pkcs11.CKR_ATTRIBUTE_SENSITIVE {
					t.Errorf("%s: reading the secret attribute: %v, want CKR_ATTRIBUTE_SENSITIVE", alg, err)
				}
			}
			if k.pubObj != 0 {
				a, err := b.attrs(s, k.pubObj, pkcs11.CKA_LABEL, pkcs11.CKA_ID)
				if err != nil {
					return err
				}
				if string(a[pkcs11.CKA_LABEL]) != label || string(a[pkcs11.CKA_ID]) != string(k.id) {
					t.Errorf("%s: public object label/id %q/%x, want %q/%x", alg, a[pkcs11.CKA_LABEL], a[pkcs11.CKA_ID], label, k.id)
				}
			} else if alg.Asymmetric() {
				t.Errorf("%s: no public object", alg)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSigningKeyCannotDecrypt(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	label := uniqueLabel(t, "ec-sign-only")
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	if _, err := b.Decrypter(ctx, label); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Decrypter(EC key) = %v, want ErrUnsupported", err)
	}
	// And the token itself refuses: C_DecryptInit with the EC key.
	err := b.withSession(ctx, func(s *session) error {
		k, err := b.lookup(s, label)
		if err != nil {
			return err
		}
		err = b.p.DecryptInit(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, k.priv)
		if err == nil {
			b.p.Decrypt(s.h, make([]byte, 64))
			t.Errorf("C_DecryptInit with a signing-only EC key succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeyManagement(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	prefix := uniqueLabel(t, "mgmt")
	labels := []string{prefix + "-c", prefix + "-a", prefix + "-b"}
	algs := []backend.Algorithm{backend.ECP256, backend.AES256, backend.Fernet}
	for i, l := range labels {
		if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: l, Algorithm: algs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, l := range labels {
			b.DeleteKey(ctx, l)
		}
	})
	_, err := b.GenerateKey(ctx, backend.KeySpec{Label: labels[0], Algorithm: backend.ECP384})
	if !errors.Is(err, backend.ErrAlreadyExists) {
		t.Errorf("duplicate label: %v, want ErrAlreadyExists", err)
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "bad/label", Algorithm: backend.ECP256}); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("bad label: %v, want ErrInvalidInput", err)
	}
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		if strings.HasPrefix(k.Label, prefix) {
			got = append(got, k.Label+"="+string(k.Algorithm))
		}
	}
	want := []string{prefix + "-a=aes-256", prefix + "-b=fernet", prefix + "-c=ec-p256"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Keys = %v, want %v", got, want)
	}
	if err := b.DeleteKey(ctx, labels[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(ctx, labels[2]); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Key after delete: %v, want ErrNotFound", err)
	}
	if err := b.DeleteKey(ctx, labels[2]); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("DeleteKey twice: %v, want ErrNotFound", err)
	}
	if _, err := b.Signer(ctx, labels[1]); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Signer(aes key): %v, want ErrUnsupported", err)
	}
	if _, err := b.Key(ctx, "pkcs11:token=elsewhere;object="+labels[0]); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Key(URI of another token): %v, want ErrNotFound", err)
	}
	if k, err := b.Key(ctx, "pkcs11:object="+labels[0]+";type=private"); err != nil || k.Label != labels[0] {
		t.Errorf("Key(key URI) = %v, %v", k, err)
	}
}

func TestGenerateSameLabelConcurrently(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	label := uniqueLabel(t, "race")
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: backend.ECP256})
			errs <- err
		}()
	}
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, backend.ErrAlreadyExists):
			t.Errorf("GenerateKey: %v, want success or ErrAlreadyExists", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent GenerateKey calls with one label succeeded, want 1", ok, n)
	}
}
