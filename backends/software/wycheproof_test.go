package software_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/wycheproof"
)

// TestWycheproof runs every Wycheproof runner against software:memory with
// the vectors' keys imported (issue 6 §2). Per-file figures are logged
// (go test -v).
func TestWycheproof(t *testing.T) {
	wycheproof.RunAll(t, "software:memory", func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), "software:memory")
		if err != nil {
			t.Fatal(err)
		}
		// Registered before the runner's own clean-up, so it runs after it:
		// the imported keys are deleted first, then the backend closes.
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return b
	})
}
