package software

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/mlkem"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// TestKeyExchangerMatchesCryptoECDH: the shared secret of a keystore key
// and a peer is the one crypto/ecdh computes from the peer's side, for
// X25519 and for EC keys (whose KeyExchanger is the ECDSA key's ECDH
// form); a peer on another curve is ErrInvalidInput.
func TestKeyExchangerMatchesCryptoECDH(t *testing.T) {
	ks := openMem(t)
	for _, alg := range []backend.Algorithm{backend.X25519, backend.ECP256, backend.ECP384, backend.ECP521} {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGen(t, ks, "kx-"+string(alg), alg)
			x, err := ks.KeyExchanger(ctx, k.Label)
			if err != nil {
				t.Fatal(err)
			}
			if x.Curve() != alg.ECDHCurve() {
				t.Fatalf("curve %v, want %v", x.Curve(), alg.ECDHCurve())
			}
			var want *ecdh.PublicKey
			switch p := k.Public.(type) {
			case *ecdh.PublicKey:
				want = p
			case *ecdsa.PublicKey:
				if want, err = p.ECDH(); err != nil {
					t.Fatal(err)
				}
			}
			if !x.PublicKey().Equal(want) {
				t.Fatal("KeyExchanger's public key is not the key's")
			}
			peer, err := alg.ECDHCurve().GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.ECDH(peer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			wantSecret, err := peer.ECDH(x.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantSecret) {
				t.Fatal("the shared secret differs from crypto/ecdh's")
			}
			other := ecdh.X25519()
			if alg == backend.X25519 {
				other = ecdh.P256()
			}
			op, _ := other.GenerateKey(rand.Reader)
			if _, err := x.ECDH(op.PublicKey()); !errors.Is(err, backend.ErrInvalidInput) {
				t.Errorf("a peer on %v: %v, want ErrInvalidInput", other, err)
			}
			if _, err := x.ECDH(nil); !errors.Is(err, backend.ErrInvalidInput) {
				t.Errorf("a nil peer: %v, want ErrInvalidInput", err)
			}
		})
	}
	// X25519's low-order points give the all-zero secret, which crypto/ecdh
	// refuses; so does the KeyExchanger.
	k := mustGen(t, ks, "kx-low-order", backend.X25519)
	x, _ := ks.KeyExchanger(ctx, k.Label)
	zero, err := ecdh.X25519().NewPublicKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.ECDH(zero); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("a low-order peer point: %v, want ErrInvalidInput", err)
	}
	for _, alg := range []backend.Algorithm{backend.Ed25519, backend.MLKEM768, backend.AES256} {
		k := mustGen(t, ks, "no-kx-"+string(alg), alg)
		if _, err := ks.KeyExchanger(ctx, k.Label); !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("KeyExchanger on a %s key: %v, want ErrUnsupported", alg, err)
		}
	}
	if _, err := ks.KeyExchanger(ctx, "nope"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("KeyExchanger on no key: %v, want ErrNotFound", err)
	}
}

// TestDecapsulatorMatchesCryptoMLKEM: a shared key encapsulated by
// crypto/mlkem decapsulates; wrong lengths are ErrInvalidInput; a closed
// keystore's decapsulator says ErrClosed.
func TestDecapsulatorMatchesCryptoMLKEM(t *testing.T) {
	ks := openMem(t)
	for _, alg := range []backend.Algorithm{backend.MLKEM768, backend.MLKEM1024} {
		k := mustGen(t, ks, "kem-"+string(alg), alg)
		d, err := ks.Decapsulator(ctx, k.Label)
		if err != nil {
			t.Fatal(err)
		}
		shared, ct := k.Public.(crypto.Encapsulator).Encapsulate()
		got, err := d.Decapsulate(ct)
		if err != nil || !bytes.Equal(got, shared) {
			t.Fatalf("%s: Decapsulate: %v", alg, err)
		}
		if _, err := d.Decapsulate(ct[1:]); !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("%s: short ciphertext: %v, want ErrInvalidInput", alg, err)
		}
	}
	k := mustGen(t, ks, "kem-closed", backend.MLKEM768)
	d, _ := ks.Decapsulator(ctx, k.Label)
	_, ct := k.Public.(*mlkem.EncapsulationKey768).Encapsulate()
	ks.Close()
	if _, err := d.Decapsulate(ct); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestImportExportPQ: ML-KEM, ML-DSA and X25519 keys import (a private
// copy) and export as the same key; an *ecdh.PrivateKey on P-256 is
// refused, as EC keys import as *ecdsa.PrivateKey.
func TestImportExportPQ(t *testing.T) {
	ks := openMem(t)
	k768, _ := mlkem.GenerateKey768()
	dsa, _ := mldsa.GenerateKey(mldsa.MLDSA65())
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for name, key := range map[string]any{"ml-kem-768": k768, "ml-dsa-65": dsa, "x25519": x} {
		k, err := ks.ImportKey(ctx, "imp-"+name, key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(k.Algorithm) != name {
			t.Errorf("%s imported as %s", name, k.Algorithm)
		}
		out, err := ks.ExportKey(ctx, k.Label)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.(interface{ Bytes() []byte }).Bytes(), key.(interface{ Bytes() []byte }).Bytes()) {
			t.Errorf("%s: exported key differs from the imported one", name)
		}
	}
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	if _, err := ks.ImportKey(ctx, "imp-p256", p256); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("an *ecdh.PrivateKey on P-256: %v, want ErrUnsupported", err)
	}
	if _, err := ks.ImportKey(ctx, "imp-nil", (*mldsa.PrivateKey)(nil)); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("a nil *mldsa.PrivateKey: %v, want ErrInvalidInput", err)
	}
	// ML-DSA with a context through the keystore's signer verifies with
	// filippo.io/mldsa and that context only.
	s, err := ks.Signer(ctx, "imp-ml-dsa-65")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(nil, []byte("m"), &backend.MLDSAOptions{Context: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if mldsa.Verify(dsa.PublicKey(), []byte("m"), sig, &mldsa.Options{Context: "c"}) != nil {
		t.Error("signature with context does not verify")
	}
	if mldsa.Verify(dsa.PublicKey(), []byte("m"), sig, nil) == nil {
		t.Error("signature with context verifies without it")
	}
}
