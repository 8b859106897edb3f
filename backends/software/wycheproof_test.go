package software_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/wycheproof"
)

// openMemory opens a fresh software:memory backend for one runner.
func openMemory(t *testing.T) backend.Backend {
	t.Helper()
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
}

// TestWycheproof runs every Wycheproof runner against software:memory with
// the vectors' keys imported (issue 6 §2). Per-file figures are logged
// (go test -v).
func TestWycheproof(t *testing.T) {
	runners := []struct {
		name string
		run  func(*testing.T, backend.Backend) []wycheproof.Stats
	}{
		{"RSAOAEPDecrypt", wycheproof.RunRSAOAEPDecrypt},
		{"RSAPKCS1Decrypt", wycheproof.RunRSAPKCS1Decrypt},
		{"ECDSA", wycheproof.RunECDSA},
		{"Ed25519", wycheproof.RunEd25519},
		{"AESGCM", wycheproof.RunAESGCM},
	}
	for _, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			stats := r.run(t, openMemory(t))
			var total, passed, skipped, ops int
			for _, s := range stats {
				total += s.Total
				passed += s.Passed
				skipped += s.Skipped
				ops += s.BackendOps
			}
			t.Logf("%s on software:memory: %d files, %d vectors, %d passed, %d skipped, %d backend operations", r.name, len(stats), total, passed, skipped, ops)
			// The software backend holds every key size, curve and AES key
			// keyplane offers, so some vectors of every kind must have run
			// through it.
			if passed == 0 || ops == 0 {
				t.Errorf("%s: nothing ran through the backend", r.name)
			}
		})
	}
}
