package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// runCLI runs keyplane in-process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunExitCodesAndErrorLine(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stderrWant string
	}{
		{[]string{"--backend", "software:memory", "list"}, 0, ""},
		{[]string{"--backend", "software:memory", "list", "--json"}, 0, ""},
		{[]string{"--backend", "nosuch:x", "list"}, 2, `backend scheme "nosuch" is not registered`},
		{[]string{"--backend", "software:memory", "sign", "--key", "k", "--alg", "nope"}, 2, `unknown algorithm "nope"`},
		{[]string{"--backend", "software:memory", "sign", "--key", "k", "--alg", "ed25519"}, 2, `no key "k"`},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"keygen"}, 2, `required flag(s) "label", "type" not set`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr)
		}
		if tt.code == 0 {
			if stderr != "" {
				t.Errorf("%q: stderr %q", tt.args, stderr)
			}
			continue
		}
		if stdout != "" {
			t.Errorf("%q: stdout %q on an error", tt.args, stdout)
		}
		if !strings.HasPrefix(stderr, "keyplane: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.stderrWant) {
			t.Errorf("%q: stderr %q, want one line \"keyplane: ...%s...\"", tt.args, stderr, tt.stderrWant)
		}
		if strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: usage dumped on an error", tt.args)
		}
	}
}

func TestRunEmptyListJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, "", "--backend", "software:memory", "list", "--json")
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Fatalf("exit %d, stdout %q; want 0 and []", code, stdout)
	}
}

func TestRunKeepsSecretsOutOfURIErrors(t *testing.T) {
	_, _, stderr := runCLI(t, "", "--backend", "nosuch:x?pin-value=987654", "list")
	if strings.Contains(stderr, "987654") {
		t.Fatalf("stderr shows the PIN: %q", stderr)
	}
}

func TestRunKeepsSecretsOutOfKeyRefErrors(t *testing.T) {
	for _, cmd := range [][]string{
		{"sign", "--alg", "ed25519"},
		{"pubkey"},
		{"delete"},
		{"export"},
		{"csr", "--subject", "CN=x"},
	} {
		args := append([]string{"--backend", "software:memory"}, cmd...)
		args = append(args, "--key", "pkcs11:token=t;object=x?pin-value=424242")
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || strings.Contains(stderr, "424242") || !strings.Contains(stderr, "REDACTED") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the PIN redacted", cmd, code, stderr)
		}
	}
}

func TestErrorLineEndsWithKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("C_Login: CKR_PIN_INCORRECT: %w", &wrapped{backend.ErrAuthentication}), "C_Login: CKR_PIN_INCORRECT: opaque: authentication failed"},
		{fmt.Errorf("bad label: %w", backend.ErrInvalidInput), "bad label: invalid input"},
		{errors.New("plain"), "plain"},
		{&notFoundError{ref: "k", err: backend.ErrNotFound}, `no key "k" in this backend (see "keyplane list")`},
		{failed(errBadSignature), "signature is NOT valid"},
	}
	for _, tt := range tests {
		if got := errorLine(tt.err); got != tt.want {
			t.Errorf("errorLine(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// wrapped hides its sentinel's text, as some backends' error types do.
type wrapped struct{ err error }

func (w *wrapped) Error() string { return "opaque" }
func (w *wrapped) Unwrap() error { return w.err }
