package hpke_test

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/hpke"
)

func openMem(t *testing.T) *software.Keystore {
	t.Helper()
	ks, err := software.Open(context.Background(), "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

// recipientKeys makes the suite's keys in ks and returns their labels and
// public keys.
func recipientKeys(t *testing.T, ks backend.Backend, s hpke.Suite) ([]string, []crypto.PublicKey) {
	t.Helper()
	var refs []string
	var pubs []crypto.PublicKey
	for _, alg := range s.KeyAlgorithms() {
		k, err := ks.GenerateKey(context.Background(), backend.KeySpec{Label: s.Name() + "-" + string(alg), Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, k.Label)
		pubs = append(pubs, k.Public)
	}
	return refs, pubs
}

func TestSealOpenEverySuite(t *testing.T) {
	ctx := context.Background()
	for _, s := range hpke.Suites() {
		t.Run(s.Name(), func(t *testing.T) {
			ks := openMem(t)
			refs, pubs := recipientKeys(t, ks, s)
			pub, err := s.PublicKey(pubs...)
			if err != nil {
				t.Fatal(err)
			}
			o, err := hpke.OpenerFor(ctx, s, ks, refs...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(o.PublicKey().Bytes(), pub.Bytes()) {
				t.Fatal("the opener's public key is not the one made from the keys' public keys")
			}
			info, msg := []byte("keyplane hpke test"), []byte("a message for the key in the backend")
			sealed, err := s.Seal(pub, info, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != s.EncapsulatedKeySize()+len(msg)+16 {
				t.Errorf("sealed message of %d bytes, want enc (%d) + message (%d) + tag (16)", len(sealed), s.EncapsulatedKeySize(), len(msg))
			}
			got, err := o.Open(info, sealed)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("Open: %q, %v", got, err)
			}
			// The public key in HPKE's serialization parses back.
			pub2, err := s.ParsePublicKey(pub.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			sealed2, _ := s.Seal(pub2, info, msg)
			if got, err := o.Open(info, sealed2); err != nil || !bytes.Equal(got, msg) {
				t.Errorf("Open of a message sealed to the parsed public key: %v", err)
			}
			for name, bad := range map[string][]byte{
				"tampered ciphertext": flip(sealed, len(sealed)-1),
				"tampered enc":        flip(sealed, 3),
				"truncated":           sealed[:s.EncapsulatedKeySize()-1],
				"empty":               nil,
			} {
				if _, err := o.Open(info, bad); !errors.Is(err, backend.ErrDecryption) {
					t.Errorf("%s: %v, want ErrDecryption", name, err)
				}
			}
			if _, err := o.Open([]byte("other info"), sealed); !errors.Is(err, backend.ErrDecryption) {
				t.Errorf("another info: %v, want ErrDecryption", err)
			}
			ks.Close()
			if _, err := o.Open(info, sealed); !errors.Is(err, backend.ErrClosed) {
				t.Errorf("after the backend closed: %v, want ErrClosed (not a decryption failure)", err)
			}
		})
	}
}

// TestHybridAcrossBackends: the classical half in one backend, the ML-KEM
// half in another (the partial hybrid of docs/recipes.md).
func TestHybridAcrossBackends(t *testing.T) {
	ctx := context.Background()
	for _, s := range []hpke.Suite{hpke.XWing(), hpke.MLKEM768P256()} {
		classical, pq := openMem(t), openMem(t)
		algs := s.KeyAlgorithms()
		kc, err := classical.GenerateKey(ctx, backend.KeySpec{Label: "classical", Algorithm: algs[0]})
		if err != nil {
			t.Fatal(err)
		}
		kp, err := pq.GenerateKey(ctx, backend.KeySpec{Label: "pq", Algorithm: algs[1]})
		if err != nil {
			t.Fatal(err)
		}
		kx, err := classical.KeyExchanger(ctx, "classical")
		if err != nil {
			t.Fatal(err)
		}
		dec, err := pq.Decapsulator(ctx, "pq")
		if err != nil {
			t.Fatal(err)
		}
		o, err := hpke.NewOpener(s, kx, dec)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := s.PublicKey(kp.Public, kc.Public) // either order
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.Seal(pub, nil, []byte("hybrid"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := o.Open(nil, sealed); err != nil || string(got) != "hybrid" {
			t.Errorf("%s: Open: %q, %v", s, got, err)
		}
		if _, err := hpke.NewOpener(s, kx, nil); !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("%s without its ML-KEM half: %v, want ErrInvalidInput", s, err)
		}
	}
}

func TestBadSuitesAndKeys(t *testing.T) {
	if _, err := hpke.ParseSuite("hpke-x448"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("ParseSuite(hpke-x448): %v", err)
	}
	for _, s := range hpke.Suites() {
		got, err := hpke.ParseSuite(s.Name())
		if err != nil || got.Name() != s.Name() {
			t.Errorf("ParseSuite(%s): %v", s.Name(), err)
		}
	}
	ks := openMem(t)
	_, pubs := recipientKeys(t, ks, hpke.XWing())
	if _, err := hpke.X25519().PublicKey(pubs[1]); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("an ML-KEM key for hpke-x25519: %v, want ErrInvalidInput", err)
	}
	if _, err := hpke.XWing().PublicKey(pubs[0]); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("hpke-xwing with one key: %v, want ErrInvalidInput", err)
	}
	if _, err := hpke.XWing().PublicKey(pubs[0], pubs[0]); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("hpke-xwing with the X25519 key twice: %v, want ErrInvalidInput", err)
	}
	xpub, _ := hpke.X25519().PublicKey(pubs[0])
	if _, err := hpke.MLKEM768().Seal(xpub, nil, nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("sealing hpke-mlkem768 to an X25519 key: %v, want ErrInvalidInput", err)
	}
	if _, err := (hpke.Suite{}).Seal(xpub, nil, nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("the zero Suite: %v", err)
	}
	if _, err := hpke.OpenerFor(context.Background(), hpke.MLKEM768(), ks, hpke.XWing().Name()+"-x25519"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("an X25519 key as the ML-KEM-768 recipient: %v, want ErrUnsupported", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}
