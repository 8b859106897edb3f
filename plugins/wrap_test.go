package plugins_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/internal/trustedkey"
	"github.com/keyplane/keyplane/plugins"
)

// The helper process of trustedkey.MakeInHelper: a PKCS#11 module is
// initialized once per process, and SoftHSM2 reads its configuration then,
// so each test's SoftHSM2 set-up by the SO runs in a process of its own.
func init() { trustedkey.RunHelper() }

// TestWrapThroughPlugins: a wrappable EC P-256 key made in token A
// through one plugin+pkcs11 is wrapped there under A's trusted AES key,
// unwrapped in token B through a second plugin, and signs in B; the
// signature verifies with A's public key. A key made without Wrappable is
// refused with ErrUnsupported naming CKA_EXTRACTABLE; the errors of
// unwrapping (a taken label, a damaged ciphertext, a missing unwrapping
// key) keep their sentinels across the boundary, and no log line of
// either host holds the ciphertext.
func TestWrapThroughPlugins(t *testing.T) {
	ctx := t.Context()
	tokA := testenv.SoftHSMToken(t, "plugin-wrap-a")
	util := testenv.Command(t, "softhsm2-util", "softhsm2")
	if out, err := exec.Command(util, "--init-token", "--free", "--label", "plugin-wrap-b", "--pin", tokA.PIN, "--so-pin", tokA.SOPIN).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v: %s", err, out)
	}
	aURI := tokA.URI(t)
	bURI := strings.Replace(aURI, "token=plugin-wrap-a", "token=plugin-wrap-b", 1)
	kek, unkek := trustedkey.MakeInHelper(t, aURI, tokA.SOPIN, "kek", bURI)

	// Both hosts log at the lowest level (go-plugin's trace, the child's
	// stderr): no line may hold a wrapped key's ciphertext.
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	a, _ := openPlugin(t, "plugin+"+aURI, plugins.Options{Logger: logger})
	b, _ := openPlugin(t, "plugin+"+bURI, plugins.Options{Logger: logger})
	caps, err := a.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(caps.Details[backend.DetailWrap], string(backend.WrapAESKeyWrapPad)) || !strings.Contains(caps.Details[backend.DetailUnwrap], string(backend.WrapAESKeyWrapPad)) {
		t.Fatalf("plugin+pkcs11 capabilities: wrap %q, unwrap %q; want aes-key-wrap-pad in both", caps.Details[backend.DetailWrap], caps.Details[backend.DetailUnwrap])
	}
	wrapper, ok := a.(backend.KeyWrapper)
	if !ok {
		t.Fatalf("%T is not a backend.KeyWrapper", a)
	}
	unwrapper, ok := b.(backend.KeyUnwrapper)
	if !ok {
		t.Fatalf("%T is not a backend.KeyUnwrapper", b)
	}

	src, err := a.GenerateKey(ctx, backend.KeySpec{Label: "moving", Algorithm: backend.ECP256, Wrappable: true})
	if err != nil {
		t.Fatalf("GenerateKey(wrappable) through the plugin: %v", err)
	}
	w, err := wrapper.WrapKey(ctx, "moving", kek, backend.WrapAESKeyWrapPad)
	if err != nil {
		t.Fatalf("WrapKey through the plugin: %v", err)
	}
	pub, ok := w.Public.(*ecdsa.PublicKey)
	if w.Label != "moving" || !bytes.Equal(w.ID, src.ID) || w.Algorithm != backend.ECP256 || w.Mechanism != backend.WrapAESKeyWrapPad ||
		!ok || !pub.Equal(src.Public) || len(w.Ciphertext) == 0 {
		t.Fatalf("WrappedKey through the plugin = %v (ID %x, public %T), want label moving, ID %x, ec-p256, the source's public key", w, w.ID, w.Public, src.ID)
	}
	for _, attr := range []string{"CKA_EXTRACTABLE", "CKA_WRAP_WITH_TRUSTED", "CKA_SENSITIVE", "CKA_SIGN"} {
		if !w.Attributes[attr] {
			t.Errorf("wrapped key's attributes %v: want %s true", w.Attributes, attr)
		}
	}
	if s := w.String(); strings.Contains(s, string(w.Ciphertext)) {
		t.Errorf("WrappedKey.String shows the ciphertext: %s", s)
	}

	got, err := unwrapper.UnwrapKey(ctx, w, unkek, "")
	if err != nil {
		t.Fatalf("UnwrapKey through the second plugin: %v", err)
	}
	if got.Label != "moving" || !bytes.Equal(got.ID, src.ID) || got.Algorithm != backend.ECP256 {
		t.Errorf("unwrapped key %+v, want label moving, ID %x", got, src.ID)
	}
	signer, err := b.Signer(ctx, "moving")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed in token B"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("signing in B with the unwrapped key: %v", err)
	}
	if !ecdsa.VerifyASN1(src.Public.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("a signature from the unwrapped key in B does not verify with A's public key")
	}

	t.Cleanup(func() {
		a.Close()
		b.Close()
		text := logs.String()
		if text == "" {
			t.Error("the hosts logged nothing at trace level; the log check saw nothing")
		}
		for _, form := range []string{string(w.Ciphertext), hex.EncodeToString(w.Ciphertext), base64.StdEncoding.EncodeToString(w.Ciphertext), fmt.Sprint(w.Ciphertext)} {
			if strings.Contains(text, form) {
				t.Errorf("the plugin logs hold the wrapped key's ciphertext (%d bytes)", len(w.Ciphertext))
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "kept", Algorithm: backend.ECP256}); err != nil {
			t.Fatal(err)
		}
		_, err := wrapper.WrapKey(ctx, "kept", kek, backend.WrapAESKeyWrapPad)
		if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKA_EXTRACTABLE") {
			t.Errorf("wrapping a non-extractable key through the plugin: %v, want ErrUnsupported naming CKA_EXTRACTABLE", err)
		}
		if _, err := wrapper.WrapKey(ctx, "no-such-key", kek, backend.WrapAESKeyWrapPad); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("wrapping a missing key: %v, want ErrNotFound", err)
		}
		if _, err := wrapper.WrapKey(ctx, "moving", kek, "des-wrap"); !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("an unknown mechanism: %v, want ErrUnsupported", err)
		}
		if _, err := unwrapper.UnwrapKey(ctx, w, unkek, ""); !errors.Is(err, backend.ErrAlreadyExists) {
			t.Errorf("unwrapping under a taken label: %v, want ErrAlreadyExists", err)
		}
		bad := *w
		bad.ID = nil
		bad.Ciphertext = bytes.Clone(w.Ciphertext)
		bad.Ciphertext[len(bad.Ciphertext)/2] ^= 1
		if _, err := unwrapper.UnwrapKey(ctx, &bad, unkek, "damaged"); !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("unwrapping a ciphertext with a flipped bit: %v, want ErrInvalidInput", err)
		}
		fresh := *w
		fresh.ID = nil // a new ID, so that only the unwrapping key is missing
		if _, err := unwrapper.UnwrapKey(ctx, &fresh, "no-such-kek", "other"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("unwrapping under a missing key: %v, want ErrNotFound", err)
		}
		if _, err := b.Key(ctx, "damaged"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("after a failed unwrap, the label is taken: %v", err)
		}
	})
}

// TestWrapPluginWithoutWrapping: through a plugin whose backend cannot
// wrap (the software keystore), the host's wrap methods and a wrappable
// key answer ErrUnsupported, and the capabilities list no wrap mechanism.
func TestWrapPluginWithoutWrapping(t *testing.T) {
	ctx := t.Context()
	b := openURI("plugin+software:memory")(t)
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "w", Algorithm: backend.ECP256, Wrappable: true}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("a wrappable key through plugin+software: %v, want ErrUnsupported", err)
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.(backend.KeyWrapper).WrapKey(ctx, "k", "kek", backend.WrapAESKeyWrapPad); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("WrapKey through plugin+software: %v, want ErrUnsupported", err)
	}
	w := &backend.WrappedKey{Mechanism: backend.WrapAESKeyWrapPad, Algorithm: backend.AES256, Label: "x", Ciphertext: make([]byte, 40)}
	if _, err := b.(backend.KeyUnwrapper).UnwrapKey(ctx, w, "kek", ""); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("UnwrapKey through plugin+software: %v, want ErrUnsupported", err)
	}
	caps, err := b.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := caps.Details[backend.DetailWrap]; ok {
		t.Errorf("plugin+software capabilities: wrap = %q, want no entry", v)
	}
}
