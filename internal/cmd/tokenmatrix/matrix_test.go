package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
)

func TestCell(t *testing.T) {
	res := map[string]conformance.Result{
		"generate/ec-p256":  {Status: conformance.Pass},
		"import/ec-p256":    {Status: conformance.Skip, Message: "no import"},
		"generate/rsa-2048": {Status: conformance.Pass},
		"key/rsa-2048":      {Status: conformance.Fail},
		"import/aes-256":    {Status: conformance.Skip},
	}
	for _, tt := range []struct {
		names   []string
		offered bool
		want    string
	}{
		{[]string{"generate/ec-p256"}, true, "✓"},
		{algorithmChecks(backend.ECP256), true, "✓ (skipped: import)"},
		{algorithmChecks(backend.RSA2048), true, "✗"},
		{algorithmChecks(backend.RSA2048), false, "✗"}, // a failure always shows
		{algorithmChecks(backend.AES256), true, "skip"},
		{algorithmChecks(backend.AES256), false, "—"}, // skipped because not offered
		{algorithmChecks(backend.Ed25519), true, "—"},
	} {
		if got := cell(res, tt.names, tt.offered); got != tt.want {
			t.Errorf("cell(%q, %v) = %q, want %q", tt.names, tt.offered, got, tt.want)
		}
	}
}

func TestMessage(t *testing.T) {
	got := message("key \"conformance-0123456789ab-rsa\" | bad\nsecond line")
	if want := `key "conformance-…-rsa" \| bad`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// TestWriteMatrix renders two made-up runs: the cells, the skip and
// failure sections, and the same bytes every time (no map order, timing
// or slot number leaks in).
func TestWriteMatrix(t *testing.T) {
	runs := []*tokenRun{
		{Kind: "alpha", Packages: "alpha-pkg", Module: "/usr/lib/alpha.so", Report: &conformance.Report{
			Capabilities: &backend.Capabilities{Backend: "pkcs11", Algorithms: []backend.Algorithm{backend.ECP256}, Operations: []backend.Operation{backend.ECDSASHA256},
				Notes:   []string{"a note from the token"},
				Details: map[string]string{"library-manufacturer": "Alpha Inc", "library-version": "1.2", "library-description": "Alpha module", "slot-id": "77", "token-serial": "42", "token-manufacturer": "IBM", "token-model": "SW   TPM\x00\x00\x00"}},
			Results: []conformance.Result{
				{Name: "generate/ec-p256", Status: conformance.Pass, Duration: 12345},
				{Name: "sign/ec-p256/ecdsa-sha256", Status: conformance.Pass},
				{Name: "import/ec-p256", Status: conformance.Skip, Message: "the token cannot import keys (conformance-abcdefabcdef-x)\nmore"},
			}}},
		{Kind: "beta", Packages: "beta-pkg", Module: "/usr/lib/beta.so", Report: &conformance.Report{
			Capabilities: &backend.Capabilities{Backend: "pkcs11"},
			Results: []conformance.Result{
				{Name: "sign/ec-p256/ecdsa-sha256", Status: conformance.Fail, Message: "signature does not verify"},
			}}},
	}
	qs := map[string][]quirk{"alpha": {{"alpha forgets things", "pkcs11.md#fault-recovery"}}}
	var a, b bytes.Buffer
	if err := writeMatrix(&a, runs, qs); err != nil {
		t.Fatal(err)
	}
	runs[0].Report.Results[0].Duration = 99999 // timings never show
	if err := writeMatrix(&b, runs, qs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two renderings differ")
	}
	md := a.String()
	for _, want := range []string{
		"| [alpha](#alpha) | `/usr/lib/alpha.so` | Alpha Inc 1.2 | IBM SW TPM | 2 | 0 | 1 |\n",
		"| [beta](#beta) | `/usr/lib/beta.so` | ? | ? | 0 | 1 | 0 |\n",
		"| key type | alpha | beta |\n|---|---|---|\n",
		"| `ec-p256` | ✓ (skipped: import) | — |\n",
		"| `ecdsa-sha256` | ✓ | ✗ |\n",
		"| `ed25519` | — | — |\n",
		"- library (CK_INFO): Alpha module, Alpha Inc 1.2\n",
		"- a note from the token (the token's capability report)\n",
		"- alpha forgets things ([details](pkcs11.md#fault-recovery))\n",
		"| `import/ec-p256` | the token cannot import keys (conformance-…-x) |\n",
		"Failed:\n\n| check | reason |\n|---|---|\n| `sign/ec-p256/ecdsa-sha256` | signature does not verify |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("matrix lacks %q:\n%s", want, md)
		}
	}
	for _, leak := range []string{"77", "42", "12345", "more"} {
		if regexp.MustCompile(`\b` + leak + `\b`).MatchString(md) {
			t.Errorf("matrix shows %q:\n%s", leak, md)
		}
	}
}

// TestQuirks: every kind in the quirks table is registered, and every link
// points at a section that exists.
func TestQuirks(t *testing.T) {
	kinds := map[string]bool{}
	for _, k := range testenv.TokenKinds() {
		kinds[k.Name] = true
	}
	anchors := map[string]map[string]bool{}
	for kind, qs := range quirks {
		if !kinds[kind] {
			t.Errorf("quirks for %q, which is no registered token kind", kind)
		}
		for _, q := range qs {
			file, anchor, ok := strings.Cut(q.Doc, "#")
			if !ok || q.Text == "" {
				t.Errorf("%s: quirk %+v needs text and a file#anchor link", kind, q)
				continue
			}
			if anchors[file] == nil {
				anchors[file] = headingAnchors(t, filepath.Join("..", "..", "..", "docs", "backends", file))
			}
			if !anchors[file][anchor] {
				t.Errorf("%s: quirk link %s: no such section", kind, q.Doc)
			}
		}
	}
}

// headingAnchors returns the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		a := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")
		out[a] = true
	}
	return out
}
