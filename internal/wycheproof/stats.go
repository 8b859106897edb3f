package wycheproof

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// Stats are one vector file's figures for one backend.
//
// Total = Passed + Skipped + failures; every failure is also reported with
// t.Errorf, so a test that returns Stats with Passed+Skipped < Total has
// failed.
type Stats struct {
	File    string
	Total   int
	Passed  int
	Skipped int
	// SkipReasons counts skipped vectors by reason ("key rsa-1024 refused
	// by the backend (unsupported)", "layout: iv 64 bits / tag 128 bits").
	SkipReasons map[string]int
	// Acceptable counts the passed vectors whose result is "acceptable"
	// (either answer passes).
	Acceptable int
	// BackendOps counts the operations the backend itself performed for
	// this file (decryptions, signatures, seals and opens). The vectors'
	// own ECDSA and Ed25519 signatures are checked with keyplane's
	// verification path, not by the backend.
	BackendOps int
}

func newStats(file string) *Stats {
	return &Stats{File: file, SkipReasons: map[string]int{}}
}

func (s *Stats) skip(reason string) {
	s.Skipped++
	s.SkipReasons[reason]++
}

// admit counts one test case of a group and says whether the runner
// goes on to run it: not when its flags are not in flags (an error), when
// its group failed (the runner reported that once, for the group), or
// when the group is skipped (counted as skipped, for groupSkip).
func (s *Stats) admit(t *testing.T, flags flagTable, c *Case, groupFail, groupSkip string) bool {
	t.Helper()
	s.Total++
	if err := flags.check(c); err != nil {
		t.Error(err)
		return false
	}
	if groupFail != "" {
		return false
	}
	if groupSkip != "" {
		s.skip(groupSkip)
		return false
	}
	return true
}

// String is the summary line a runner logs.
func (s *Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d vectors, %d passed (%d acceptable), %d skipped, %d failed; %d backend operations",
		s.File, s.Total, s.Passed, s.Acceptable, s.Skipped, s.Total-s.Passed-s.Skipped, s.BackendOps)
	if len(s.SkipReasons) > 0 {
		reasons := make([]string, 0, len(s.SkipReasons))
		for r, n := range s.SkipReasons {
			reasons = append(reasons, fmt.Sprintf("%d× %s", n, r))
		}
		sort.Strings(reasons)
		fmt.Fprintf(&b, "; skipped: %s", strings.Join(reasons, "; "))
	}
	return b.String()
}

// finish logs the summary and fails t when the counts do not add up to
// the file's header.
func (s *Stats) finish(t *testing.T, want int) {
	t.Helper()
	if s.Total != want {
		t.Errorf("%s: ran %d vectors, the file holds %d", s.File, s.Total, want)
	}
	t.Log(s.String())
}

// RunAll runs every runner (OAEP, PKCS#1 v1.5, ECDSA, Ed25519, AES-GCM,
// and ML-DSA and ML-KEM where the backend reports those keys) as
// subtests of t, each on a backend from open, and logs one summary line per
// runner naming the backend. It fails a runner through which nothing ran: a
// backend under test must hold some of every kind of vector's keys.
func RunAll(t *testing.T, name string, open func(t *testing.T) backend.Backend) {
	runners := []struct {
		name string
		run  func(*testing.T, backend.Backend) []Stats
		// needs is an algorithm the backend must report for the runner
		// to run (the post-quantum runners; none of the PKCS#11 tokens in
		// CI has ML-DSA or ML-KEM).
		needs backend.Algorithm
	}{
		{"RSAOAEPDecrypt", RunRSAOAEPDecrypt, ""},
		{"RSAPKCS1Decrypt", RunRSAPKCS1Decrypt, ""},
		{"ECDSA", RunECDSA, ""},
		{"Ed25519", RunEd25519, ""},
		{"AESGCM", RunAESGCM, ""},
		{"MLDSA", RunMLDSA, backend.MLDSA44},
		{"MLKEM", RunMLKEM, backend.MLKEM768},
	}
	for _, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			b := open(t)
			if r.needs != "" {
				caps, err := b.Capabilities(t.Context())
				if err != nil {
					t.Fatalf("Capabilities: %v", err)
				}
				if !caps.SupportsAlgorithm(r.needs) {
					t.Skipf("%s does not report %s keys", name, r.needs)
				}
			}
			stats := r.run(t, b)
			var total, passed, skipped, ops int
			for _, s := range stats {
				total += s.Total
				passed += s.Passed
				skipped += s.Skipped
				ops += s.BackendOps
			}
			t.Logf("%s on %s: %d files, %d vectors, %d passed, %d skipped, %d backend operations", r.name, name, len(stats), total, passed, skipped, ops)
			if passed == 0 || ops == 0 {
				t.Errorf("%s: nothing ran through %s", r.name, name)
			}
		})
	}
}
