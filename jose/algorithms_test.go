package jose_test

import (
	"slices"
	"testing"

	"github.com/keyplane/keyplane/jose"
)

// TestAllAlgorithmsIsACopy checks that a caller changing the returned slice
// does not change what the next call returns.
func TestAllAlgorithmsIsACopy(t *testing.T) {
	algs := jose.AllAlgorithms()
	want := slices.Clone(algs)
	algs[0] = "none"
	if got := jose.AllAlgorithms(); !slices.Equal(got, want) {
		t.Errorf("AllAlgorithms after a caller changed its copy = %v, want %v", got, want)
	}
	if slices.Contains(want, "none") {
		t.Errorf("AllAlgorithms = %v holds none", want)
	}
}
