package backend_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestWrappedKeyPEMRoundTrip(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, w := range []*backend.WrappedKey{
		{Mechanism: backend.WrapAESKeyWrapPad, Algorithm: backend.ECP256, Label: ` release: "v2" `, ID: []byte{1, 2, 3},
			Public: &ek.PublicKey, Attributes: map[string]bool{"CKA_SIGN": true, "CKA_DECRYPT": false}, Ciphertext: []byte("ciphertext bytes")},
		{Mechanism: backend.WrapRSAOAEP, Algorithm: backend.AES256, Label: "data", Ciphertext: make([]byte, 256)},
	} {
		data, err := backend.MarshalWrappedKeyPEM(w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := backend.ParseWrappedKeyPEM(data)
		if err != nil {
			t.Fatalf("%s\n%v", data, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, w)
		}
	}
}

func TestParseWrappedKeyPEMRefuses(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := &backend.WrappedKey{Mechanism: backend.WrapAESKeyWrapPad, Algorithm: backend.ECP256, Label: "k", Public: &ek.PublicKey, Ciphertext: []byte("ct")}
	data, _ := backend.MarshalWrappedKeyPEM(good)
	s := string(data)
	wrongPub := *good
	wrongPub.Public = &rk.PublicKey
	wp, _ := backend.MarshalWrappedKeyPEM(&wrongPub)
	noPub := *good
	noPub.Public = nil
	np, _ := backend.MarshalWrappedKeyPEM(&noPub)
	for name, in := range map[string]string{
		"text before":    "hello\n" + s,
		"text after":     s + "trailing\n",
		"unknown header": strings.Replace(s, "Mechanism:", "Colour: red\nMechanism:", 1),
		"unknown mech":   strings.Replace(s, "aes-key-wrap-pad", "des-wrap", 1),
		"bad label":      strings.Replace(s, `Label: "k"`, `Label: k`, 1),
		"wrong public":   string(wp),
		"no public":      string(np),
		"other block":    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad attribute":  strings.Replace(s, "Mechanism:", "Attributes: SIGN=yes\nMechanism:", 1),
	} {
		if _, err := backend.ParseWrappedKeyPEM([]byte(in)); !errors.Is(err, backend.ErrInvalidInput) && !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	if w, err := backend.ParseWrappedKeyPEM(data); err != nil || !strings.Contains(w.String(), "2 bytes") || strings.Contains(w.String(), "ct") {
		t.Errorf("good: %v %v", w, err)
	}
}
