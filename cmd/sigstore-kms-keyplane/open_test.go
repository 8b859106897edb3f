package main

import (
	"crypto/sha256"
	"path/filepath"
	"testing"
)

// TestPassphraseFromEnvironment: a keystore encrypted with the passphrase
// from $KEYPLANE_PASSPHRASE opens again with it (the plugin, not the
// library, reads the variable), and not with another one.
func TestPassphraseFromEnvironment(t *testing.T) {
	ks := "software:" + filepath.Join(t.TempDir(), "keys")
	id := ks + "#env-pass"
	right := map[string]string{"KEYPLANE_PASSPHRASE": "the passphrase from the environment"}
	if r, code := call(t, id, createArgs("ecdsa-sha2-256-nistp256"), nil, right); code != 0 || r.CreateKey == nil {
		t.Fatalf("createKey: exit %d, %q", code, r.ErrorMessage)
	}
	digest := sha256.Sum256([]byte("blob"))
	if r, code := call(t, id, signArgs(digest[:]), nil, right); code != 0 || r.SignMessage == nil {
		t.Fatalf("signMessage with the passphrase: exit %d, %q", code, r.ErrorMessage)
	}
	wrong := map[string]string{"KEYPLANE_PASSPHRASE": "another passphrase"}
	if r, code := call(t, id, signArgs(digest[:]), nil, wrong); code == 0 {
		t.Fatalf("signMessage with a wrong passphrase succeeded: %+v", r)
	}
	if r, code := call(t, id, signArgs(digest[:]), nil, nil); code == 0 {
		t.Fatalf("signMessage with no passphrase succeeded: %+v", r)
	}
}
