package backend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// openerCalls records which opener Open dispatched to.
type openerCalls struct{ got []string }

func (o *openerCalls) opener(name string) backend.Opener {
	return func(ctx context.Context, uri string) (backend.Backend, error) {
		o.got = append(o.got, name+" "+uri)
		return nil, fmt.Errorf("%s opener called: %w", name, backend.ErrUnavailable)
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Fatalf("no panic, want one mentioning %q", want)
		}
		if msg := fmt.Sprint(p); !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want it to mention %q", msg, want)
		}
	}()
	f()
}

// runs numbers the runs of the tests that register schemes: the registry
// is process-wide and refuses a second registration of a scheme, and
// go test -count=N runs each test N times in one process, so each run
// registers names of its own.
var runs atomic.Int64

// run returns a suffix unique to this run of a test, for scheme names.
func run() string { return fmt.Sprintf("r%d", runs.Add(1)) }

func TestRegisterPanics(t *testing.T) {
	var o openerCalls
	dup := "regtest-dup-" + run()
	mustPanic(t, "nil", func() { backend.Register("regtest-nil", nil) })
	for _, scheme := range []string{"", "+", "1abc", "-abc", "a b", "a:b", "a/b", "ä", "++"} {
		t.Run(fmt.Sprintf("%q", scheme), func(t *testing.T) {
			mustPanic(t, "invalid scheme", func() { backend.Register(scheme, o.opener("bad")) })
		})
	}
	backend.Register(dup, o.opener("first"))
	mustPanic(t, "twice", func() { backend.Register(dup, o.opener("second")) })

	// The first registration is kept: a duplicate never overwrites.
	_, err := backend.Open(t.Context(), dup+":x")
	if !errors.Is(err, backend.ErrUnavailable) || !slices.Equal(o.got, []string{"first " + dup + ":x"}) {
		t.Fatalf("Open after a refused duplicate: err %v, calls %q; want the first opener only", err, o.got)
	}
}

func TestRegisterValidSchemes(t *testing.T) {
	var o openerCalls
	r := run()
	for _, scheme := range []string{"regtest-valid-" + r, "RegTest.Valid2-" + r, "regtest+x-y.z-" + r, "regtestwrap-" + r + "+"} {
		backend.Register(scheme, o.opener(scheme))
		if !slices.Contains(backend.Schemes(), scheme) {
			t.Errorf("Schemes() does not list %q after Register", scheme)
		}
	}
}

func TestSchemesSorted(t *testing.T) {
	var o openerCalls
	p := "regtest-sort-" + run() + "-"
	for _, s := range []string{p + "c", p + "a", p + "b"} {
		backend.Register(s, o.opener(s))
	}
	got := backend.Schemes()
	if !slices.IsSorted(got) {
		t.Fatalf("Schemes() = %q, not sorted", got)
	}
	i := slices.Index(got, p+"a")
	if i < 0 || i+2 >= len(got) || got[i+1] != p+"b" || got[i+2] != p+"c" {
		t.Fatalf("Schemes() = %q, want regtest-sort-a, -b, -c in order", got)
	}
	// The result is a copy: changing it does not change the registry.
	got[0] = "zzz"
	if backend.Schemes()[0] == "zzz" {
		t.Fatalf("Schemes() returns the registry's own slice")
	}
}

func TestOpenDispatch(t *testing.T) {
	var o openerCalls
	r := run()
	d, w := "dispatch-"+r, "dispatchwrap-"+r+"+"
	backend.Register(d, o.opener("exact"))
	backend.Register(w, o.opener("wrapper"))
	backend.Register(w+"special", o.opener("wrapped-exact"))

	for _, c := range []struct{ uri, want string }{
		{d + ":memory", "exact " + d + ":memory"},
		{d + ":/a/b?x=1", "exact " + d + ":/a/b?x=1"},
		{w + "software:memory", "wrapper " + w + "software:memory"},
		{w + "pkcs11:token=a?module-path=/m", "wrapper " + w + "pkcs11:token=a?module-path=/m"},
		{w + "special:x", "wrapped-exact " + w + "special:x"},
		{w + ":x", "wrapper " + w + ":x"},
	} {
		o.got = nil
		_, err := backend.Open(t.Context(), c.uri)
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("Open(%q): %v, want the opener's error", c.uri, err)
		}
		if len(o.got) != 1 || o.got[0] != c.want {
			t.Errorf("Open(%q) called %q, want %q", c.uri, o.got, c.want)
		}
	}
}

func TestOpenPassesContext(t *testing.T) {
	type key struct{}
	var got any
	scheme := "ctxtest-" + run()
	backend.Register(scheme, func(ctx context.Context, uri string) (backend.Backend, error) {
		got = ctx.Value(key{})
		return nil, backend.ErrUnavailable
	})
	ctx := context.WithValue(t.Context(), key{}, "marker")
	backend.Open(ctx, scheme+":x")
	if got != "marker" {
		t.Fatalf("the opener saw context value %v, want the caller's context", got)
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	var o openerCalls
	known := "known-scheme-" + run()
	backend.Register(known, o.opener("known"))
	for _, uri := range []string{"nosuchscheme:x", "K" + known[1:] + ":x", "nosuch+thing:x", known + "+x:y"} {
		_, err := backend.Open(t.Context(), uri)
		if !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("Open(%q): %v, want ErrUnsupported", uri, err)
			continue
		}
		scheme, _, _ := strings.Cut(uri, ":")
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", scheme)) {
			t.Errorf("Open(%q): error %q does not name the scheme", uri, err)
		}
		if !strings.Contains(err.Error(), known) {
			t.Errorf("Open(%q): error %q does not list the registered schemes", uri, err)
		}
	}
	if len(o.got) != 0 {
		t.Fatalf("an unknown scheme reached an opener: %q", o.got)
	}
}

func TestOpenMalformed(t *testing.T) {
	for _, uri := range []string{"", "memory", ":memory", "1x:y", "a b:c", "/abs/path"} {
		_, err := backend.Open(t.Context(), uri)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("Open(%q): %v, want ErrInvalidInput", uri, err)
		}
	}
	// A malformed URI carrying a PIN does not show it in the error.
	_, err := backend.Open(t.Context(), "bad scheme:token=a?pin-value=271828")
	if err == nil || strings.Contains(err.Error(), "271828") {
		t.Fatalf("Open of a malformed URI with a PIN: %v; the PIN must not appear", err)
	}
}
