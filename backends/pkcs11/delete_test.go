//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// TestDeleteRefused: a token that refuses C_DestroyObject of a key whose
// session and object are fine (tpm2-pkcs11 answers CKR_FUNCTION_FAILED for
// a key it counts as in use) gets a clear error from DeleteKey, and no
// recovery: the backend is not marked broken, the key stays usable, and
// a later DeleteKey succeeds.
func TestDeleteRefused(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	spy.snapshot()
	spy.inject("DestroyObject", pkcs11.CKR_FUNCTION_FAILED)
	err := b.DeleteKey(t.Context(), label)
	if err == nil {
		t.Fatal("DeleteKey succeeded although C_DestroyObject failed")
	}
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "refuse") ||
		!strings.Contains(err.Error(), "CKR_FUNCTION_FAILED") || !strings.Contains(err.Error(), "still there") {
		t.Errorf("DeleteKey refused: %v; want ErrUnavailable saying the token refused (CKR_FUNCTION_FAILED) and the key is still there", err)
	}
	if st := b.Stats(); st.Open == 0 {
		t.Errorf("pool after a refused destroy: %+v; the sessions were reset as after a device fault", st)
	}
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatalf("Signer after the refused delete: %v", err)
	}
	sign(t, s, []byte("still here"), crypto.SHA256)
	if got := spy.snapshot(); got["GetSlotList"] != 0 {
		t.Errorf("calls after the refused delete %v: the backend recovered (found its slot again) as from a dead token", got)
	}
	if err := b.DeleteKey(t.Context(), label); err != nil {
		t.Fatalf("DeleteKey once the token allows it: %v", err)
	}
	if _, err := b.Key(t.Context(), label); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Key after DeleteKey: %v, want ErrNotFound", err)
	}
}

// TestDeleteTokenGone: a destroy that fails with a device fault is still
// ErrUnavailable naming C_DestroyObject, and recovered from like any
// device fault.
func TestDeleteTokenGone(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	spy.snapshot()
	spy.inject("DestroyObject", pkcs11.CKR_DEVICE_ERROR)
	err := b.DeleteKey(t.Context(), label)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "C_DestroyObject: CKR_DEVICE_ERROR") {
		t.Fatalf("DeleteKey on a failing device: %v, want ErrUnavailable naming C_DestroyObject", err)
	}
	if _, err := b.Key(t.Context(), label); err != nil {
		t.Fatalf("Key after the device came back: %v", err)
	}
	if got := spy.snapshot(); got["GetSlotList"] != 1 {
		t.Errorf("calls %v: want one recovery (the slot found again)", got)
	}
}
