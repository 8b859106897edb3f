package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

func uintp(n uint) *uint { return &n }

func TestParseURI(t *testing.T) {
	tests := []struct {
		in   string
		want URI
		out  string // String(); "" means same as in
	}{
		{in: "pkcs11:", want: URI{}},
		{
			in:   "pkcs11:token=signing;slot-id=3;serial=0123abcd?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
			want: URI{Token: "signing", SlotID: uintp(3), Serial: "0123abcd", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "file:/run/secrets/pin"},
			out:  "pkcs11:token=signing;serial=0123abcd;slot-id=3?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
		},
		{
			in:   "pkcs11:token=My%20Token%2Fa;object=rel%3Bease;id=%01%02%ff;type=private",
			want: URI{Token: "My Token/a", Object: "rel;ease", ID: []byte{1, 2, 0xff}, Type: "private"},
			out:  "pkcs11:token=My%20Token%2Fa;object=rel%3Bease;id=%01%02%FF;type=private",
		},
		{
			in:   "pkcs11:id=ab",
			want: URI{ID: []byte("ab")},
			out:  "pkcs11:id=%61%62",
		},
		{
			in: "pkcs11:manufacturer=SoftHSM%20project;model=SoftHSM%20v2;library-manufacturer=SoftHSM;library-description=Implementation%20of%20PKCS11;library-version=2.6;slot-description=S;slot-manufacturer=M",
			want: URI{Manufacturer: "SoftHSM project", Model: "SoftHSM v2", LibraryManufacturer: "SoftHSM",
				LibraryDescription: "Implementation of PKCS11", LibraryVersion: "2.6", SlotDescription: "S", SlotManufacturer: "M"},
		},
		{
			in:   "pkcs11:token=a&b=c;x-vendor=v%3D?module-name=softhsm2&pin-value=12%2634&oaep-fallback=off&max-sessions=8&x-q=a/b?c",
			want: URI{Token: "a&b=c", VendorPath: []Attribute{{"x-vendor", "v="}}, ModuleName: "softhsm2", PINValue: "12&34", OAEPFallback: "off", MaxSessions: 8, VendorQuery: []Attribute{{"x-q", "a/b?c"}}},
			out:  "pkcs11:token=a&b=c;x-vendor=v=?module-name=softhsm2&oaep-fallback=off&max-sessions=8&x-q=a/b?c",
		},
		{
			in:   "pkcs11:token=t?module-path=/opt/hsm/libhsm.so&call-timeout=1500ms",
			want: URI{Token: "t", ModulePath: "/opt/hsm/libhsm.so", CallTimeout: 1500 * time.Millisecond},
			out:  "pkcs11:token=t?module-path=/opt/hsm/libhsm.so&call-timeout=1.5s",
		},
		{
			in:   "pkcs11:token=t?call-timeout=off",
			want: URI{Token: "t", CallTimeout: CallTimeoutOff},
			out:  "pkcs11:token=t?call-timeout=off",
		},
		{
			in:   "pkcs11:object=release;;type=public?&pin-source=/run/pin",
			want: URI{Object: "release", Type: "public", PINSource: "/run/pin"},
			out:  "pkcs11:object=release;type=public?pin-source=/run/pin",
		},
	}
	for _, tt := range tests {
		u, err := ParseURI(tt.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*u, tt.want) {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tt.in, *u, tt.want)
		}
		want := tt.out
		if want == "" {
			want = tt.in
		}
		if got := u.String(); got != want {
			t.Errorf("ParseURI(%q).String() = %q, want %q", tt.in, got, want)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"software:memory", "must start with"},
		{"pkcs11:token=a;token=b", `"token" given twice`},
		{"pkcs11:bogus=1", `unknown path attribute "bogus"`},
		{"pkcs11:?bogus=1", `unknown query attribute "bogus"`},
		{"pkcs11:x-=1", `unknown path attribute "x-"`},
		{"pkcs11:module-path=/x", "belongs in the query"},
		{"pkcs11:token", `has no "="`},
		{"pkcs11:token=%4", `invalid URL escape "%4"`},
		{"pkcs11:token=%zz", `invalid URL escape "%zz"`},
		{"pkcs11:slot-id=abc", `slot-id "abc"`},
		{"pkcs11:slot-id=-1", `slot-id "-1"`},
		{"pkcs11:slot-id=+1", `slot-id "+1"`},
		{"pkcs11:type=key", `type "key"`},
		{"pkcs11:library-version=a.1", `library-version "a.1"`},
		{"pkcs11:?module-path=lib.so", "not an absolute path"},
		{"pkcs11:?module-name=a/b", "module-name"},
		{"pkcs11:?pin-source=relative", "pin-source"},
		{"pkcs11:?oaep-fallback=maybe", "oaep-fallback"},
		{"pkcs11:?max-sessions=0", "max-sessions"},
		{"pkcs11:?max-sessions=99999", "max-sessions"},
		{"pkcs11:?call-timeout=5", `call-timeout "5"`},
		{"pkcs11:?call-timeout=0s", `call-timeout "0s"`},
		{"pkcs11:?call-timeout=-1s", `call-timeout "-1s"`},
		{"pkcs11:?call-timeout=2h", `call-timeout "2h"`},
		{"pkcs11:?call-timeout=Off", `call-timeout "Off"`},
		{"pkcs11:call-timeout=1s", "belongs in the query"},
		{"pkcs11:?pin-value=1&pin-source=/p", "both given"},
	}
	for _, tt := range tests {
		_, err := ParseURI(tt.in)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded, want error containing %q", tt.in, tt.want)
			continue
		}
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ParseURI(%q) = %v, not ErrInvalidInput", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseURI(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestURINeverShowsPIN(t *testing.T) {
	const pin = "s3cr3t-PIN"
	for _, in := range []string{
		"pkcs11:token=t?pin-value=" + pin,
		"pkcs11:token=t?pin-value=" + pin + "%zz",
		"pkcs11:token=t?pin-value=" + pin + "&pin-value=" + pin,
		"pkcs11:token=t;pin-value=" + pin,
	} {
		u, err := ParseURI(in)
		if err != nil {
			if strings.Contains(err.Error(), pin) {
				t.Errorf("ParseURI error %q shows the PIN", err)
			}
			continue
		}
		if s := u.String(); strings.Contains(s, pin) || strings.Contains(s, "pin-value") {
			t.Errorf("String() = %q shows the PIN", s)
		}
		if !u.HasPIN() {
			t.Errorf("HasPIN() = false for %q", in)
		}
	}
}

func TestPINSource(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pin")
	if err := os.WriteFile(good, []byte("4321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"file:" + good, "file://" + good, good} {
		u, err := ParseURI("pkcs11:?pin-source=" + escape(src, true))
		if err != nil {
			t.Fatal(err)
		}
		pin, ok, err := pinOf(u)
		if err != nil || !ok || pin != "4321" {
			t.Errorf("PIN() from %s = %q, %v, %v; want 4321", src, pin, ok, err)
		}
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("4321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o640); err != nil {
		t.Fatal(err)
	}
	u, _ := ParseURI("pkcs11:?pin-source=file:" + loose)
	_, _, err := pinOf(u)
	if err == nil || !strings.Contains(err.Error(), loose) || !strings.Contains(err.Error(), "0640") || strings.Contains(err.Error(), "4321") {
		t.Errorf("PIN() from a 0640 file = %v, want an error naming the path and the mode, without the PIN", err)
	}
	u, _ = ParseURI("pkcs11:?pin-source=file:" + filepath.Join(dir, "absent"))
	if _, _, err := pinOf(u); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("PIN() from a missing file = %v, want an error naming it", err)
	}
	u, _ = ParseURI("pkcs11:")
	if _, ok, err := pinOf(u); ok || err != nil {
		t.Errorf("PIN() without a PIN = %v, %v; want false, nil", ok, err)
	}
}

// pinOf returns the PIN the backend would log in with.
func pinOf(u *URI) (pin string, ok bool, err error) {
	f, err := u.pinFunc()
	if err != nil || f == nil {
		return "", false, err
	}
	b, err := f(context.Background())
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

func TestPINSourcePrompt(t *testing.T) {
	u, err := ParseURI("pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=prompt")
	if err != nil || u.PINSource != PINSourcePrompt {
		t.Fatalf("ParseURI(pin-source=prompt) = %v, %v", u, err)
	}
	if !strings.Contains(u.String(), "pin-source=prompt") {
		t.Errorf("String() = %s, want pin-source=prompt kept", u)
	}
	if _, _, err := pinOf(u); !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "Config.PIN") {
		t.Errorf("pin-source=prompt without a callback: %v, want ErrInvalidInput naming Config.PIN", err)
	}
	u.PIN = backend.NewStaticSecret([]byte("7531")).Secret
	if pin, ok, err := pinOf(u); pin != "7531" || !ok || err != nil {
		t.Errorf("pin-source=prompt with a callback: %q, %v, %v", pin, ok, err)
	}
	u2, _ := ParseURI("pkcs11:?pin-value=1111")
	u2.PIN = u.PIN
	if _, _, err := pinOf(u2); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("pin-value and Config.PIN: %v, want ErrInvalidInput", err)
	}
}

// TestConfigFormatHidesPIN: no fmt verb prints a Config field by field
// (a struct printed with %d or %x would show pin-value's bytes).
func TestConfigFormatHidesPIN(t *testing.T) {
	c, err := ParseURI("pkcs11:token=t?pin-value=86420&module-init-args=secretargs97")
	if err != nil {
		t.Fatal(err)
	}
	c.PIN = backend.NewStaticSecret([]byte("86420")).Secret
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
		for _, v := range []any{c, *c} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{"86420", "secretargs97"} {
				if strings.Contains(out, secret) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", secret)) {
					t.Errorf("Sprintf(%s, %T) = %s: shows a secret", verb, v, out)
				}
			}
		}
	}
	if s := fmt.Sprintf("%#v", c); !strings.Contains(s, "PIN: set") {
		t.Errorf("%%#v = %s, want it to say a PIN callback is set", s)
	}
}

func TestModuleLookup(t *testing.T) {
	u, _ := ParseURI("pkcs11:?module-path=/nonexistent/libnothing.so")
	_, err := u.Module()
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libnothing.so") || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Module() for a missing path = %v, want ErrUnavailable naming the path", err)
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libfake.so")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	saved := moduleDirs
	t.Cleanup(func() { moduleDirs = saved })
	moduleDirs = []string{filepath.Join(dir, "none"), dir}
	for _, name := range []string{"fake", "libfake", "libfake.so"} {
		u, _ := ParseURI("pkcs11:?module-name=" + name)
		if got, err := u.Module(); err != nil || got != lib {
			t.Errorf("Module() for module-name=%s = %q, %v; want %s", name, got, err, lib)
		}
	}
	u, _ = ParseURI("pkcs11:?module-name=other")
	if _, err := u.Module(); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Module() for an unknown name = %v, want an error listing the directories", err)
	}
	u, _ = ParseURI("pkcs11:token=x")
	if _, err := u.Module(); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Module() without module attributes = %v, want ErrInvalidInput", err)
	}
}

func FuzzURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:",
		"pkcs11:token=signing;slot-id=3;serial=0123abcd?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
		"pkcs11:token=My%20Token;object=rel%3Bease;id=%01%02%ff;type=private",
		"pkcs11:token=a&b=c;x-vendor=v%3D?module-name=softhsm2&pin-value=12%2634&oaep-fallback=off&max-sessions=8&x-q=a/b?c",
		"pkcs11:library-version=2.6;slot-id=0;model=%00%ff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidInput) {
				t.Fatalf("ParseURI(%q) = %v, not ErrInvalidInput", s, err)
			}
			return
		}
		out := u.String()
		v, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q) ok, but its String %q does not parse: %v", s, out, err)
		}
		u.PINValue = "" // String leaves the PIN out
		if !reflect.DeepEqual(u, v) {
			t.Fatalf("round trip of %q via %q: %+v != %+v", s, out, u, v)
		}
		if out2 := v.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}
