package awskms_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
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

// TestVersionsUnaliasedKey pins what the key-version methods answer for a
// KMS key with no alias (made outside keyplane, named by its ARN): it has
// no label to version, so Rotate and Versions say ErrUnsupported and
// SetMinVersion and DeleteVersion refuse the empty label (ErrInvalidInput);
// and for an aliased key never rotated, Versions is version 1 alone and
// DeleteVersion refuses version 1 as the primary.
func TestVersionsUnaliasedKey(t *testing.T) {
	s := localkms.Start(t)
	b := openLocal(t, s, "")
	ctx := t.Context()
	out, err := rawClient(t, s).CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY"})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	for _, c := range []struct {
		op   string
		err  error
		want error
		says string
	}{
		{"Rotate", func() error { _, err := b.Rotate(ctx, arn); return err }(), backend.ErrUnsupported, "has no alias to version"},
		{"Versions", func() error { _, err := b.Versions(ctx, arn); return err }(), backend.ErrUnsupported, "has no alias, so no versions"},
		{"SetMinVersion", b.SetMinVersion(ctx, arn, 1), backend.ErrInvalidInput, "empty key label"},
		{"DeleteVersion", b.DeleteVersion(ctx, arn, 1), backend.ErrInvalidInput, "empty key label"},
	} {
		if !errors.Is(c.err, c.want) || !strings.Contains(c.err.Error(), c.says) {
			t.Errorf("%s of a key without an alias: %v, want %v saying %q", c.op, c.err, c.want, c.says)
		}
	}

	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: "once", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := b.Versions(ctx, "once")
	if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].IDHex() != k.IDHex() {
		t.Errorf("Versions of a key never rotated: %v, %v; want version 1 alone", vs, err)
	}
	if err := b.DeleteVersion(ctx, "once", 1); !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "is the primary version") {
		t.Errorf("DeleteVersion 1 of a key never rotated: %v, want ErrInvalidInput (the primary)", err)
	}
	if err := b.DeleteVersion(ctx, "once", 2); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("DeleteVersion 2 of a key never rotated: %v, want ErrNotFound", err)
	}
	if err := b.SetMinVersion(ctx, "once", 2); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("SetMinVersion 2 of a key never rotated: %v, want ErrInvalidInput", err)
	}
}
