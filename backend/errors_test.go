package backend_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestKind(t *testing.T) {
	for _, s := range backend.AllSentinels() {
		if got := backend.Kind(s); got != s {
			t.Errorf("Kind(%v) = %v", s, got)
		}
		wrapped := fmt.Errorf("pkcs11: C_Sign: %w", fmt.Errorf("context: %w", s))
		if got := backend.Kind(wrapped); got != s {
			t.Errorf("Kind(%q) = %v, want %v", wrapped, got, s)
		}
	}
	for _, err := range []error{nil, errors.New("key not found"), fmt.Errorf("%v", backend.ErrNotFound)} {
		if got := backend.Kind(err); got != nil {
			t.Errorf("Kind(%v) = %v, want nil (no sentinel wrapped)", err, got)
		}
	}
	// With several sentinels, the first in Sentinels order wins.
	joined := errors.Join(backend.ErrDecryption, backend.ErrNotFound)
	if got := backend.Kind(joined); got != backend.ErrNotFound {
		t.Errorf("Kind(Join(ErrDecryption, ErrNotFound)) = %v, want ErrNotFound", got)
	}
}

// TestSentinelsFixed pins the order of Sentinels, which the plugin
// protocol carries as numbers: appending is allowed, reordering is not.
func TestSentinelsFixed(t *testing.T) {
	want := []error{
		backend.ErrNotFound, backend.ErrAlreadyExists, backend.ErrUnsupported, backend.ErrInvalidInput,
		backend.ErrDecryption, backend.ErrAuthentication, backend.ErrUnavailable, backend.ErrClosed,
	}
	if len(backend.AllSentinels()) < len(want) {
		t.Fatalf("Sentinels has %d entries, want at least %d", len(backend.AllSentinels()), len(want))
	}
	seen := map[error]bool{}
	for i, s := range backend.AllSentinels() {
		if i < len(want) && s != want[i] {
			t.Errorf("Sentinels[%d] = %v, want %v", i, s, want[i])
		}
		if seen[s] {
			t.Errorf("Sentinels lists %v twice", s)
		}
		seen[s] = true
	}
	if msg := backend.ErrDecryption.Error(); msg != "decryption failed" {
		t.Errorf("ErrDecryption says %q; it must stay vague", msg)
	}
}
