package backend_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// FuzzParseWrappedKeyPEM: a wrapped-key file is either refused with
// ErrInvalidInput (or ErrUnsupported for a mechanism or algorithm name it
// does not know) or read into a WrappedKey that MarshalWrappedKeyPEM
// writes back and ParseWrappedKeyPEM reads again to the same value; never
// a panic. Seeds: the two forms keyplane writes (a private key with its
// public half and attributes; a secret key without).
func FuzzParseWrappedKeyPEM(f *testing.F) {
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	for _, w := range []*backend.WrappedKey{
		{Mechanism: backend.WrapAESKeyWrapPad, Algorithm: backend.ECP256, Label: `release "v2"`, ID: []byte{1, 2, 3},
			Public: &ek.PublicKey, Attributes: map[string]bool{"CKA_SIGN": true, "CKA_EXTRACTABLE": true}, Ciphertext: []byte("ciphertext bytes")},
		{Mechanism: backend.WrapRSAOAEP, Algorithm: backend.AES256, Label: "data", Ciphertext: make([]byte, 256)},
	} {
		data, err := backend.MarshalWrappedKeyPEM(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := backend.ParseWrappedKeyPEM(data)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidInput) && !errors.Is(err, backend.ErrUnsupported) {
				t.Fatalf("refused without ErrInvalidInput or ErrUnsupported: %v", err)
			}
			return
		}
		again, err := backend.MarshalWrappedKeyPEM(w)
		if err != nil {
			t.Fatalf("read %v, but cannot write it back: %v", w, err)
		}
		w2, err := backend.ParseWrappedKeyPEM(again)
		if err != nil {
			t.Fatalf("cannot read what it wrote back: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(w, w2) {
			t.Fatalf("round trip changed the wrapped key:\n got %#v\nwant %#v", w2, w)
		}
	})
}
