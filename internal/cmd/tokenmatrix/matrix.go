package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
)

// tokenRun is one token kind's row of the matrix: what was started and
// what `keyplane conformance --json` reported on it.
type tokenRun struct {
	Kind     string // testenv.TokenKind.Name
	Packages string // testenv.TokenKind.Package
	Module   string // Instance.Module
	Report   *conformance.Report
	// NoTrustedKey says why no trusted wrapping key could be made for
	// the wrap round trips (wrapSetup); "" when one was.
	NoTrustedKey string
}

// detail reads a capability detail ("library-version"), "" when absent.
func (r *tokenRun) detail(name string) string {
	if r.Report.Capabilities == nil {
		return ""
	}
	return clean(r.Report.Capabilities.Details[name])
}

// clean makes a token's text fit a Markdown line: control characters
// (tpm2-pkcs11 pads CK_TOKEN_INFO fields with NUL bytes) dropped, runs of
// blanks made one.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// library is the module's CK_INFO in words: "SoftHSM 2.6".
func (r *tokenRun) library() string {
	s := strings.TrimSpace(r.detail("library-manufacturer") + " " + r.detail("library-version"))
	if s == "" {
		return "?"
	}
	return s
}

func (r *tokenRun) offersAlgorithm(a backend.Algorithm) bool {
	return r.Report.Capabilities != nil && r.Report.Capabilities.SupportsAlgorithm(a)
}

func (r *tokenRun) offersAgreement(a backend.Algorithm) bool {
	return r.Report.Capabilities != nil && r.Report.Capabilities.SupportsKeyAgreement(a)
}

func (r *tokenRun) offersOperation(op backend.Operation) bool {
	return r.Report.Capabilities != nil && r.Report.Capabilities.SupportsOperation(op)
}

// results by check name.
func (r *tokenRun) results() map[string]conformance.Result {
	m := make(map[string]conformance.Result, len(r.Report.Results))
	for _, res := range r.Report.Results {
		m[res.Name] = res
	}
	return m
}

// labelPrefix matches the random label prefix of a conformance run, which
// messages may quote.
var labelPrefix = regexp.MustCompile(`conformance-[0-9a-f]{12}-`)

// message is a result's message for the matrix: its first line, without
// the run's random label prefix, at most 300 bytes, and safe in a table
// cell.
func message(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = clean(s)
	s = labelPrefix.ReplaceAllString(s, "conformance-…-")
	if len(s) > 300 {
		s = s[:300] + " …"
	}
	return strings.ReplaceAll(strings.TrimSpace(s), "|", `\|`)
}

// cell sums up checks for one table cell: "✗" when any failed, "—" when
// the token does not offer it (offered false: its capability report leaves
// it out) or none ran, "✓" when all passed, "skip" when none passed and
// some were skipped, "✓ (skipped: import)" when some were skipped among
// passes.
func cell(res map[string]conformance.Result, names []string, offered bool) string {
	var pass, fail int
	var skipped []string
	for _, n := range names {
		r, ok := res[n]
		if !ok {
			continue
		}
		switch r.Status {
		case conformance.Pass:
			pass++
		case conformance.Fail:
			fail++
		case conformance.Skip:
			g, _, _ := strings.Cut(n, "/")
			if !slices.Contains(skipped, g) {
				skipped = append(skipped, g)
			}
		}
	}
	switch {
	case fail > 0:
		return "✗"
	case !offered || pass == 0 && len(skipped) == 0:
		return "—"
	case pass == 0:
		return "skip"
	case len(skipped) > 0:
		return "✓ (skipped: " + strings.Join(skipped, ", ") + ")"
	}
	return "✓"
}

// algorithmChecks are the checks about keys of type a.
func algorithmChecks(a backend.Algorithm) []string {
	s := string(a)
	return []string{"generate/" + s, "key/" + s, "import/" + s, "reopen/" + s, "delete/" + s,
		"interop/x509/" + s, "interop/tls/" + s, "errors/sign-options/" + s}
}

// operationChecks are the checks of operation op, over every key type.
func operationChecks(op backend.Operation) []string {
	switch op {
	case backend.AES256GCM:
		return []string{"aead/seal-open", "aead/nonces", "aead/tamper", "aead/wrong-key"}
	case backend.FernetToken:
		return []string{"fernet/round-trip", "fernet/bad-input", "fernet/wrong-key"}
	}
	var out []string
	for _, a := range backend.AllAlgorithms() {
		if op.Applies(a) {
			out = append(out, "sign/"+string(a)+"/"+string(op), "decrypt/"+string(a)+"/"+string(op))
		}
	}
	return out
}

// writeMatrix writes docs/backends/tokens.md. It depends only on the runs
// (in the order given) and the quirks table, never on timings, slot
// numbers or serial numbers, so the same tokens give the same file.
func writeMatrix(w io.Writer, runs []*tokenRun, quirks map[string][]quirk) error {
	ew := &errWriter{w: w}
	p := ew.printf
	p("%s", matrixHeader)

	p("## Summary\n\n")
	p("| token | module | library | token model | passed | failed | skipped |\n")
	p("|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		pass, fail, skip := r.Report.Counts()
		p("| [%s](#%s) | `%s` | %s | %s | %d | %d | %d |\n", r.Kind, r.Kind, r.Module, r.library(),
			orUnknown(strings.TrimSpace(r.detail("token-manufacturer")+" "+r.detail("token-model"))), pass, fail, skip)
	}

	header := func(first string) {
		p("| %s |", first)
		for _, r := range runs {
			p(" %s |", r.Kind)
		}
		p("\n|---|")
		for range runs {
			p("---|")
		}
		p("\n")
	}
	results := make([]map[string]conformance.Result, len(runs))
	for i, r := range runs {
		results[i] = r.results()
	}

	p("\n## Key types\n\n")
	p("Generation, lookup, import, reopening, deletion, X.509 and TLS use, option checks.\n\n")
	header("key type")
	for _, a := range backend.AllAlgorithms() {
		p("| `%s` |", a)
		for i := range runs {
			p(" %s |", cell(results[i], algorithmChecks(a), runs[i].offersAlgorithm(a)))
		}
		p("\n")
	}

	p("\n## Operations\n\n")
	p("Every key type the operation applies to; signatures and ciphertexts checked with Go's standard library.\n\n")
	header("operation")
	for _, op := range backend.AllOperations() {
		p("| `%s` |", op)
		for i := range runs {
			p(" %s |", cell(results[i], operationChecks(op), runs[i].offersOperation(op)))
		}
		p("\n")
	}

	p("\n## Key agreement\n\n")
	p("ECDH with a key in the token (CKM_ECDH1_DERIVE) against crypto/ecdh, bad peer keys, and HPKE through crypto/hpke with the token's key as the recipient.\n\n")
	header("key agreement")
	for _, row := range agreementRows {
		p("| %s |", row.name)
		for i := range runs {
			p(" %s |", cell(results[i], row.checks, runs[i].offersAgreement(row.alg)))
		}
		p("\n")
	}

	for i, r := range runs {
		writeToken(ew, r, results[i], quirks[r.Kind])
	}
	return ew.err
}

// agreementRows are the key-agreement rows: ECDH per curve, then HPKE.
var agreementRows = func() []struct {
	name   string
	alg    backend.Algorithm
	checks []string
} {
	type row = struct {
		name   string
		alg    backend.Algorithm
		checks []string
	}
	var rows []row
	for _, a := range []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.X25519} {
		s := "agreement/" + string(a) + "/"
		rows = append(rows, row{"`" + string(a) + "` ECDH", a, []string{s + "ecdh", s + "bad-peer", s + "concurrent"}})
	}
	return append(rows,
		row{"HPKE DHKEM(X25519)", backend.X25519, []string{"agreement/hpke/dhkem-x25519"}},
		row{"HPKE DHKEM(P-256)", backend.ECP256, []string{"agreement/hpke/dhkem-p256"}})
}()

func writeToken(ew *errWriter, r *tokenRun, res map[string]conformance.Result, qs []quirk) {
	p := ew.printf
	pass, fail, skip := r.Report.Counts()
	p("\n## %s\n\n", r.Kind)
	p("- Debian packages: `%s`\n", r.Packages)
	p("- module: `%s`\n", r.Module)
	p("- library (CK_INFO): %s, %s\n", orUnknown(r.detail("library-description")), r.library())
	p("- token: %s\n", orUnknown(strings.TrimSpace(r.detail("token-manufacturer")+" "+r.detail("token-model"))))
	p("- checks: %d passed, %d failed, %d skipped\n", pass, fail, skip)
	if r.NoTrustedKey != "" {
		p("- trusted wrapping key (for the wrap round trips): none, %s\n", r.NoTrustedKey)
	} else {
		p("- trusted wrapping key (for the wrap round trips): made by the SO (`keyplane wrapping-key create`)\n")
	}
	if c := r.Report.Capabilities; c != nil {
		p("- key types offered: %s\n", joinCode(c.Algorithms))
		p("- operations offered: %s\n", joinCode(c.Operations))
		p("- key import: %s\n", yesNo(c.Import))
		if d, ok := c.Details[backend.DetailKeyAgreement]; ok {
			p("- key agreement: %s\n", d)
		}
		for _, k := range []string{"ml-kem", "ml-dsa"} {
			if d, ok := c.Details[k]; ok {
				p("- %s: %s\n", k, d)
			}
		}
	}

	var notes []string
	if c := r.Report.Capabilities; c != nil {
		notes = c.Notes
	}
	if len(notes) > 0 || len(qs) > 0 {
		p("\nWhat keyplane works around on this token:\n\n")
		for _, n := range notes {
			p("- %s (the token's capability report)\n", n)
		}
		for _, q := range qs {
			p("- %s ([details](%s))\n", q.Text, q.Doc)
		}
	}

	writeResults := func(title string, status conformance.Status) {
		var rows []conformance.Result
		for _, x := range r.Report.Results {
			if x.Status == status {
				rows = append(rows, x)
			}
		}
		if len(rows) == 0 {
			return
		}
		p("\n%s:\n\n| check | reason |\n|---|---|\n", title)
		for _, x := range rows {
			p("| `%s` | %s |\n", x.Name, message(x.Message))
		}
	}
	writeResults("Skipped", conformance.Skip)
	writeResults("Failed", conformance.Fail)
	if skip == 0 && fail == 0 {
		p("\nNothing skipped, nothing failed.\n")
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func joinCode[T ~string](xs []T) string {
	if len(xs) == 0 {
		return "none"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("`%s`", x)
	}
	return strings.Join(s, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

const matrixHeader = `# PKCS#11 tokens: the compatibility matrix

<!-- Generated by "go run ./internal/cmd/tokenmatrix -write" from
"keyplane conformance --json" on each token kind of internal/testenv.
Do not edit: scripts/test-all checks that this file is what the generator
writes. -->

keyplane's conformance suite, run by CI on every PKCS#11 implementation it
can start from Debian packages (throwaway tokens, daemons on 127.0.0.1
only). Each token is opened with the URI that ` + "`keyplane tokens`" + ` lists for
it, and ` + "`keyplane conformance --json`" + ` runs against it.

How to read it: **✓** every check of that row passed on the token; **✗**
at least one failed (the token's section says which and why); **skip** the
checks ran but were skipped, for the reason in the token's section; **—**
the token does not offer it (its capability report leaves it out, judged
from its mechanism list and probing), so no check ran. "✓ (skipped:
import)" passed except for the named checks.

To run the same checks on your own HSM and send in the result, see
[your-hsm.md](your-hsm.md). Quirks and set-up: [pkcs11.md](pkcs11.md).

`
