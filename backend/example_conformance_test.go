package backend_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
)

// TestExampleBackendConformance: the examples' tiny backend keeps the
// contract, as the conformance suite sees it; everything it does not report
// is skipped.
func TestExampleBackendConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), "example:memory")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{})
}
