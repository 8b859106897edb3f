package backend_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestListsAreCopies checks that the lists the package hands out are
// copies: a caller that overwrites or appends to one changes neither what
// the next call returns nor how the package parses names and classifies
// errors.
func TestListsAreCopies(t *testing.T) {
	algs := backend.AllAlgorithms()
	want := slices.Clone(algs)
	algs[0] = "rsa-1024"
	_ = append(algs[:1], "x25519")
	if got := backend.AllAlgorithms(); !slices.Equal(got, want) {
		t.Errorf("AllAlgorithms after a caller changed its copy = %v, want %v", got, want)
	}
	if _, err := backend.ParseAlgorithm(string(want[0])); err != nil {
		t.Errorf("ParseAlgorithm(%q) after a caller changed its copy: %v", want[0], err)
	}
	if _, err := backend.ParseAlgorithm("rsa-1024"); err == nil {
		t.Error("ParseAlgorithm accepted rsa-1024 after a caller wrote it into its copy")
	}

	ops := backend.AllOperations()
	wantOps := slices.Clone(ops)
	ops[0] = "rsa-pkcs1v15-md5"
	if got := backend.AllOperations(); !slices.Equal(got, wantOps) {
		t.Errorf("AllOperations after a caller changed its copy = %v, want %v", got, wantOps)
	}
	if got := backend.OperationsFor(backend.RSA2048); !slices.Contains(got, wantOps[0]) {
		t.Errorf("OperationsFor(rsa-2048) = %v after a caller changed its copy, want it to hold %s", got, wantOps[0])
	}

	sentinels := backend.AllSentinels()
	wantSentinels := slices.Clone(sentinels)
	intruder := errors.New("not a sentinel")
	sentinels[0] = intruder
	if got := backend.AllSentinels(); !slices.Equal(got, wantSentinels) {
		t.Errorf("AllSentinels after a caller changed its copy = %v, want %v", got, wantSentinels)
	}
	if got := backend.Kind(intruder); got != nil {
		t.Errorf("Kind(intruder) = %v after a caller wrote it into its copy, want nil", got)
	}
	if got := backend.Kind(backend.ErrNotFound); got != backend.ErrNotFound {
		t.Errorf("Kind(ErrNotFound) = %v after a caller changed its copy", got)
	}
}
