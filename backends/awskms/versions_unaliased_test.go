package awskms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/localkms"
)

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
