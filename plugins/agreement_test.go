package plugins_test

import (
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestExtensionInterfacesWithoutThem: a plugin whose backend has neither
// KeyAgreement nor KEM (the test plugin wraps its keystore in a type that
// embeds only backend.Backend) still has the methods on the host, and they
// say ErrUnsupported without asking the child; one whose backend has them
// (plugin+software) hands out working handles.
func TestExtensionInterfacesWithoutThem(t *testing.T) {
	b, _ := openPlugin(t, "plugin:"+testExe+"?dir="+t.TempDir(), plugins.Options{})
	if _, err := b.(backend.KeyAgreement).KeyExchanger(t.Context(), "any"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("KeyExchanger on a plugin without key agreement: %v, want ErrUnsupported", err)
	}
	if _, err := b.(backend.KEM).Decapsulator(t.Context(), "any"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Decapsulator on a plugin without KEM: %v, want ErrUnsupported", err)
	}

	sb, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	k, err := sb.GenerateKey(t.Context(), backend.KeySpec{Label: "kem", Algorithm: backend.MLKEM768})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sb.(backend.KEM).Decapsulator(t.Context(), k.Label)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decapsulate(make([]byte, 10)); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("a 10-byte ciphertext through the plugin: %v, want ErrInvalidInput", err)
	}
	if _, err := sb.(backend.KeyAgreement).KeyExchanger(t.Context(), k.Label); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("KeyExchanger on an ML-KEM key through the plugin: %v, want ErrUnsupported", err)
	}
}
