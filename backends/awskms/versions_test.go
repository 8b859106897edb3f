package awskms_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/localkms"
)

// TestVersionsAliases: the aliases are what docs/backends/awskms.md says
// (alias/<label> on the primary, alias/<label>/v<n> on each version), a
// plain KMS client signing through alias/<label> signs with the primary,
// and a second backend sees the minimum version (a tag on the primary).
func TestVersionsAliases(t *testing.T) {
	s := localkms.Start(t)
	a, b := openLocal(t, s, ""), openLocal(t, s, "")
	raw := rawClient(t, s)
	ctx := t.Context()
	v1, err := a.GenerateKey(ctx, backend.KeySpec{Label: "rel", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := a.Rotate(ctx, "rel")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	out, err := raw.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range out.Aliases {
		targets[aws.ToString(al.AliasName)] = aws.ToString(al.TargetKeyId)
	}
	id := func(k *backend.Key) string {
		h := k.IDHex()
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	for alias, want := range map[string]string{"alias/rel": id(v2), "alias/rel/v1": id(v1), "alias/rel/v2": id(v2)} {
		if targets[alias] != want {
			t.Errorf("%s targets %q, want %q", alias, targets[alias], want)
		}
	}
	d := sha256.Sum256([]byte("m"))
	sig, err := raw.Sign(ctx, &kms.SignInput{KeyId: aws.String("alias/rel"), Message: d[:], MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(v2.Public.(*ecdsa.PublicKey), d[:], sig.Signature) {
		t.Errorf("KMS Sign through alias/rel does not verify with version 2's public key")
	}
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(keys, func(k *backend.Key) bool { return k.Label == "rel" }); i < 0 || keys[i].Version != 2 ||
		slices.ContainsFunc(keys, func(k *backend.Key) bool { return k.Label != "rel" }) {
		t.Errorf("Keys of the other backend: %v; want rel once, version 2", keys)
	}
	if err := a.SetMinVersion(ctx, "rel", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Signer(ctx, v1.URI); !errors.Is(err, backend.ErrKeyRetired) {
		t.Errorf("the other backend, version 1 after SetMinVersion(2): %v, want ErrKeyRetired", err)
	}
	sg, err := b.Signer(ctx, "rel")
	if err != nil {
		t.Fatal(err)
	}
	if sig, err := sg.Sign(nil, d[:], crypto.SHA256); err != nil || !ecdsa.VerifyASN1(v2.Public.(*ecdsa.PublicKey), d[:], sig) {
		t.Errorf("the primary through the other backend: %v", err)
	}
	if err := b.DeleteKey(ctx, "rel"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*backend.Key{v1, v2} {
		if _, err := a.Key(ctx, k.URI); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("version %s after DeleteKey: %v, want ErrNotFound (scheduled for deletion)", k.URI, err)
		}
	}
}
