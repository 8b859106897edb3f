//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestDiscoverSoftHSM reads the package's SoftHSM2 module and checks it
// against what an opened backend says of the same token.
func TestDiscoverSoftHSM(t *testing.T) {
	tok := token(t)
	ctx := context.Background()
	info, err := Discover(ctx, tok.Module, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Library == nil || info.Library.Manufacturer != "SoftHSM" || info.Library.Version == "" {
		t.Fatalf("library = %+v", info.Library)
	}
	var found *TokenInfo
	var blank int
	for _, s := range info.Slots {
		if s.Error != "" {
			t.Errorf("slot %d: %s", s.ID, s.Error)
		}
		if s.Token == nil {
			continue
		}
		if !slices.Contains(s.Flags, "token-present") {
			t.Errorf("slot %d has a token but flags %q", s.ID, s.Flags)
		}
		switch {
		case s.Token.Label == tok.Label:
			found = s.Token
		case !slices.Contains(s.Token.Flags, "token-initialized"):
			blank++
			if s.Token.URI != "" {
				t.Errorf("blank token in slot %d has URI %q", s.ID, s.Token.URI)
			}
		}
	}
	if found == nil {
		t.Fatalf("token %q not listed: %+v", tok.Label, info.Slots)
	}
	if blank != 1 {
		t.Errorf("%d blank tokens listed, want SoftHSM2's one free slot", blank)
	}
	if want := "pkcs11:token=" + tok.Label + "?module-path=" + tok.Module; found.URI != want {
		t.Errorf("URI = %q, want %q", found.URI, want)
	}
	for _, f := range []string{"rng", "login-required", "user-pin-initialized", "token-initialized"} {
		if !slices.Contains(found.Flags, f) {
			t.Errorf("token flags %q lack %q", found.Flags, f)
		}
	}
	if found.Manufacturer != "SoftHSM project" || found.Serial == "" || found.Model == "" {
		t.Errorf("token = %+v", found)
	}

	// The URI opens the token, and the backend offers what discovery said
	// it would (SoftHSM2 takes every probe, so nothing is lost to probing).
	b, err := Open(ctx, found.URI+"&pin-source=file:"+pinFile(t, tok.PIN))
	if err != nil {
		t.Fatalf("opening the listed URI: %v", err)
	}
	defer b.Close()
	caps, err := b.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var algs, ops []string
	for _, a := range caps.Algorithms {
		algs = append(algs, string(a))
	}
	for _, op := range caps.Operations {
		ops = append(ops, string(op))
	}
	// The one difference a probe makes on SoftHSM2 is x25519: it has no
	// CKM_EC_MONTGOMERY_KEY_PAIR_GEN, and only the key-agreement probe
	// shows that its CKM_EC_EDWARDS_KEY_PAIR_GEN makes X25519 keys that
	// derive; the mechanism list alone cannot say so.
	probeOnly := func(list []string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == "x25519" })
	}
	if !slices.Equal(found.Algorithms, probeOnly(algs)) || !slices.Equal(found.Operations, probeOnly(ops)) ||
		!slices.Contains(algs, "x25519") || slices.Contains(found.Algorithms, "x25519") {
		t.Errorf("discovered algorithms %q operations %q; the opened backend reports %q and %q (want the same, plus x25519 from the probe)", found.Algorithms, found.Operations, algs, ops)
	}

	// Mechanisms: what each is used for.
	uses := map[string][]string{}
	for _, m := range found.Mechanisms {
		uses[m.Name] = m.Keyplane
	}
	for mech, want := range map[string][]string{
		"ECDSA":                   {"ec-p256", "ec-p384", "ec-p521", "ecdsa-sha256", "ecdsa-sha384", "ecdsa-sha512", "ecdh"}, // no EC keys without it
		"ECDH1-DERIVE":            {"ecdh"},
		"RSA-PKCS-PSS":            {"rsa-pss-sha256", "rsa-pss-sha384", "rsa-pss-sha512"},
		"EDDSA":                   {"ed25519"},
		"AES-GCM":                 {"aes-256", "aes-256-gcm"},
		"RSA-X-509":               {"rsa-oaep-sha256", "rsa-oaep-sha384", "rsa-oaep-sha512"},
		"EC-EDWARDS-KEY-PAIR-GEN": {"ed25519"},
		"SHA256-HMAC":             {"fernet"},
		"SHA-1":                   nil,
	} {
		got, ok := uses[mech]
		if !ok {
			t.Errorf("mechanism %s not listed", mech)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("mechanism %s used for %q, want %q", mech, got, want)
		}
	}
}

// TestDiscoverNotAModule: a file that is no PKCS#11 library is an error
// that names it, with the path still in the result.
func TestDiscoverNotAModule(t *testing.T) {
	p := filepath.Join(t.TempDir(), "libnot.so")
	if err := os.WriteFile(p, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Discover(context.Background(), p, DiscoverOptions{InitArgs: "secret=abc", InitArgsSecret: true})
	if err == nil || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if info == nil || info.Path != p || info.Library != nil || info.InitArgs != RedactedInitArgs {
		t.Fatalf("info = %+v", info)
	}
}
