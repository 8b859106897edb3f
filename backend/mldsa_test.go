package backend_test

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestParseSignerOptsMLDSA(t *testing.T) {
	msg := []byte("a message of any length, signed whole")
	for _, c := range []struct {
		name    string
		opts    crypto.SignerOpts
		context string
		want    error
	}{
		{"crypto.Hash(0)", crypto.Hash(0), "", nil},
		{"empty context", &backend.MLDSAOptions{}, "", nil},
		{"context", &backend.MLDSAOptions{Context: "keyplane test"}, "keyplane test", nil},
		{"255-byte context", &backend.MLDSAOptions{Context: strings.Repeat("c", 255)}, strings.Repeat("c", 255), nil},
		{"256-byte context", &backend.MLDSAOptions{Context: strings.Repeat("c", 256)}, "", backend.ErrInvalidInput},
		{"nil *MLDSAOptions", (*backend.MLDSAOptions)(nil), "", backend.ErrInvalidInput},
		{"HashML-DSA", crypto.SHA256, "", backend.ErrUnsupported},
		{"Ed25519 options", &ed25519.Options{}, "", backend.ErrUnsupported},
		{"nil", nil, "", backend.ErrInvalidInput},
	} {
		for _, alg := range []backend.Algorithm{backend.MLDSA44, backend.MLDSA65, backend.MLDSA87} {
			p, err := backend.ParseSignerOpts(alg, nil, msg, c.opts)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Errorf("%s %s: %v, want %v", alg, c.name, err, c.want)
				continue
			}
			if err == nil && (p.Context != c.context || p.Hash != 0) {
				t.Errorf("%s %s: %+v, want context %q and no hash", alg, c.name, p, c.context)
			}
		}
	}
	if (&backend.MLDSAOptions{}).HashFunc() != 0 {
		t.Error("MLDSAOptions.HashFunc is not 0")
	}
}
