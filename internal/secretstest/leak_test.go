package secretstest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// The secrets. Each is distinctive enough that finding it anywhere can only
// mean it leaked. The wrong ones are secrets too: a mistyped PIN is most of
// the right one.
const (
	pin        = "PIN-7d1c9e-1234"
	wrongPIN   = "PIN-wrong-5e6f70"
	pass       = "pass-3b8f2a-xyzzy"
	wrongPass  = "pass-wrong-91d4c2"
	importPass = "import-pass-6a0b1c"
	// pinTail is what follows the "&" of a PIN written unencoded into a
	// URI query: the parser sees it as the next attribute.
	pinTail = "pintail-8e41d0"
	// soPIN is the security officer's PIN of every SoftHSM2 token the
	// test makes; wrongSOPIN a mistyped one.
	soPIN      = "so-pin-4d2a"
	wrongSOPIN = "so-wrong-c05e"
)

var secrets = []struct{ name, value string }{
	{"PIN", pin},
	{"wrong PIN", wrongPIN},
	{"passphrase", pass},
	{"wrong passphrase", wrongPass},
	{"import passphrase", importPass},
	{"PIN tail", pinTail},
	{"SO PIN", soPIN},
	{"wrong SO PIN", wrongSOPIN},
}

// form is one way a secret could be written out.
type form struct {
	secret, name, text string
}

// forms returns the texts to look for: the secret itself, percent-encoded,
// in hex, in base64, and as fmt prints a []byte with %v and %#v.
func forms() []form {
	var out []form
	for _, s := range secrets {
		b := []byte(s.value)
		var gosyntax []string
		for _, c := range b {
			gosyntax = append(gosyntax, fmt.Sprintf("0x%x", c))
		}
		for _, f := range []struct{ name, text string }{
			{"text", s.value},
			{"percent-encoded", url.QueryEscape(s.value)},
			{"percent-encoded (all)", percentAll(b)},
			{"hex", hex.EncodeToString(b)},
			{"HEX", strings.ToUpper(hex.EncodeToString(b))},
			{"spaced hex", fmt.Sprintf("% x", b)},
			{"base64", base64.RawStdEncoding.EncodeToString(b)},
			{"base64url", base64.RawURLEncoding.EncodeToString(b)},
			{"[]byte %v", strings.Trim(fmt.Sprint(b), "[]")},
			{"[]byte %#v", strings.Join(gosyntax, ", ")},
		} {
			if !slices.ContainsFunc(out, func(o form) bool { return o.text == f.text }) {
				out = append(out, form{s.name, f.name, f.text})
			}
		}
	}
	return out
}

func percentAll(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

// checker looks for the secrets in every text it is shown and counts what
// it looked at, by kind, so the test can tell it looked at enough.
type checker struct {
	forms []form
	mu    sync.Mutex
	seen  map[string]int // kind → texts checked
}

func newChecker() *checker { return &checker{forms: forms(), seen: map[string]int{}} }

// Kinds of text checked.
const (
	kindError   = "error"
	kindLog     = "log record"
	kindString  = "String/Redact"
	kindCaps    = "capabilities"
	kindEnviron = "plugin environ"
	kindCmdline = "plugin cmdline"
	kindCLI     = "CLI output"
)

// text fails t when s holds a secret in any form.
func (c *checker) text(t testing.TB, kind, where, s string) {
	t.Helper()
	c.mu.Lock()
	c.seen[kind]++
	c.mu.Unlock()
	for _, f := range c.forms {
		if strings.Contains(s, f.text) {
			t.Errorf("LEAK: the %s (%s form) appears in %s %s: %q", f.secret, f.name, kind, c.redact(where), c.redact(s))
		}
	}
}

// redact replaces every secret form in s, so that failure messages do not
// repeat what leaked.
func (c *checker) redact(s string) string {
	for _, f := range c.forms {
		s = strings.ReplaceAll(s, f.text, "<"+f.secret+" as "+f.name+">")
	}
	return s
}

// err checks err and everything it wraps: Error(), %+v and %#v of each
// link of the chain.
func (c *checker) err(t testing.TB, where string, err error) {
	t.Helper()
	for i, e := range chain(err) {
		w := fmt.Sprintf("%s (chain link %d, %T)", where, i, e)
		c.text(t, kindError, w, e.Error())
		c.text(t, kindError, w+" %+v", fmt.Sprintf("%+v", e))
		c.text(t, kindError, w+" %#v", fmt.Sprintf("%#v", e))
	}
}

// chain returns err and every error it wraps (Unwrap() error and
// Unwrap() []error), depth first.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

// fails checks that err is the failure a subcase is about — non-nil and
// wrapping want — and that it holds no secret. It stops the subcase when
// the failure did not happen.
func (c *checker) fails(t testing.TB, where string, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error wrapping %q", where, want)
	}
	c.err(t, where, err)
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %q does not wrap %q (it wraps %v)", where, c.redact(err.Error()), want, backend.Kind(err))
	}
}

// ok stops t when err (from a success path) is not nil; the error is
// checked for secrets first.
func (c *checker) ok(t testing.TB, where string, err error) {
	t.Helper()
	if err != nil {
		c.err(t, where, err)
		t.Fatalf("%s: %s", where, c.redact(err.Error()))
	}
}

// caps checks a backend's capability report and its fmt forms.
func (c *checker) caps(t testing.TB, where string, b backend.Backend) *backend.Capabilities {
	t.Helper()
	caps, err := b.Capabilities(t.Context())
	c.ok(t, where+": Capabilities", err)
	if caps.Backend == "" || len(caps.Algorithms) == 0 {
		t.Fatalf("%s: Capabilities %+v are empty", where, c.redact(fmt.Sprintf("%+v", caps)))
	}
	c.text(t, kindCaps, where+" Description", caps.Description)
	for i, n := range caps.Notes {
		c.text(t, kindCaps, fmt.Sprintf("%s Notes[%d]", where, i), n)
	}
	for k, v := range caps.Details {
		c.text(t, kindCaps, where+" Details["+k+"]", k+"="+v)
	}
	c.text(t, kindCaps, where+" %+v", fmt.Sprintf("%+v", caps))
	return caps
}

// value checks the fmt forms of a value that a program might print or log
// (a backend, a key).
func (c *checker) value(t testing.TB, where string, v any) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		c.text(t, kindString, where+" "+verb, fmt.Sprintf(verb, v))
	}
	if j, err := json.Marshal(v); err == nil {
		c.text(t, kindString, where+" JSON", string(j))
	}
	// As a program might log it; the records are checked at the end.
	slog.Debug(ownPrefix+" logging a value", "where", where, "value", v)
}

// counts returns how many texts of each kind were checked.
func (c *checker) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.seen)
}
