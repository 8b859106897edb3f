package oaep_test

import (
	"crypto"
	"testing"
)

func hashOf(t *testing.T, name string) crypto.Hash {
	t.Helper()
	h, ok := map[string]crypto.Hash{
		"SHA-1": crypto.SHA1, "SHA-224": crypto.SHA224, "SHA-256": crypto.SHA256,
		"SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512,
		"SHA-512/224": crypto.SHA512_224, "SHA-512/256": crypto.SHA512_256,
	}[name]
	if !ok {
		t.Fatalf("hash %q in an OAEP vector file", name)
	}
	return h
}
