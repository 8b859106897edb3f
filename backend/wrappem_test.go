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
	for name, c := range map[string]struct {
		in   string
		want error
	}{
		"text before":     {"hello\n" + s, backend.ErrInvalidInput},
		"text after":      {s + "trailing\n", backend.ErrInvalidInput},
		"unknown header":  {strings.Replace(s, "Mechanism:", "Colour: red\nMechanism:", 1), backend.ErrInvalidInput},
		"unknown mech":    {strings.Replace(s, "aes-key-wrap-pad", "des-wrap", 1), backend.ErrUnsupported},
		"unknown alg":     {strings.Replace(s, "ec-p256", "ec-p224", 1), backend.ErrUnsupported},
		"empty alg":       {strings.Replace(s, "Algorithm: ec-p256", "Algorithm:", 1), backend.ErrInvalidInput},
		"empty mechanism": {strings.Replace(s, "Mechanism: aes-key-wrap-pad", "Mechanism:", 1), backend.ErrInvalidInput},
		"bad label":       {strings.Replace(s, `Label: "k"`, `Label: k`, 1), backend.ErrInvalidInput},
		"wrong public":    {string(wp), backend.ErrInvalidInput},
		"no public":       {string(np), backend.ErrInvalidInput},
		"other block":     {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", backend.ErrInvalidInput},
		"bad attribute":   {strings.Replace(s, "Mechanism:", "Attributes: SIGN=yes\nMechanism:", 1), backend.ErrInvalidInput},
	} {
		if c.in == s {
			t.Fatalf("%s: the case does not change the good file", name)
		}
		if _, err := backend.ParseWrappedKeyPEM([]byte(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if w, err := backend.ParseWrappedKeyPEM(data); err != nil || !strings.Contains(w.String(), "2 bytes") || strings.Contains(w.String(), "ct") {
		t.Errorf("good: %v %v", w, err)
	}
}
