package software

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri  string
		want Config
	}{
		{"software:memory", Config{Memory: true}},
		{"software:/var/lib/keys", Config{Dir: "/var/lib/keys"}},
		{"software:keys", Config{Dir: "keys"}},
		{"software:./memory", Config{Dir: "./memory"}},
		{"software:/srv/keys?passphrase-source=file:/run/secrets/pass", Config{Dir: "/srv/keys", PassphraseFile: "/run/secrets/pass"}},
		{"software:/srv/my%3Fodd%25dir", Config{Dir: "/srv/my?odd%dir"}},
		{"software:/srv/k?", Config{Dir: "/srv/k"}},
		{"software:/a b/c", Config{Dir: "/a b/c"}},
	}
	for _, tt := range tests {
		got, err := ParseURI(tt.uri)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.uri, err)
			continue
		}
		if !sameConfig(got, &tt.want) {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tt.uri, got, tt.want)
		}
		back, err := ParseURI(got.String())
		if err != nil || !sameConfig(back, got) && !(got.Dir == "memory") {
			t.Errorf("round trip of %q through %q: %+v, %v", tt.uri, got.String(), back, err)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		uri      string
		sentinel error
		has      string
	}{
		{"software:", backend.ErrInvalidInput, "no path"},
		{"pkcs11:token=x", backend.ErrInvalidInput, "does not start with"},
		{"software:/k?foo=1&bar=2", backend.ErrInvalidInput, `"bar", "foo"`},
		{"software:/k?passphrase=hunter2", backend.ErrInvalidInput, `unknown URI query parameter "passphrase"`},
		{"software:/k?passphrase-source=env:X", backend.ErrUnsupported, "file:<path>"},
		{"software:/k?passphrase-source=hunter2", backend.ErrUnsupported, "file:<path>"},
		{"software:/k?passphrase-source=file:", backend.ErrInvalidInput, "needs a path"},
		{"software:/k?passphrase-source=file:/a&passphrase-source=file:/b", backend.ErrInvalidInput, "2 times"},
		{"software:memory?passphrase-source=file:/a", backend.ErrInvalidInput, "no use with software:memory"},
		{"software:memory?x=1", backend.ErrInvalidInput, `"x"`},
		{"software:/bad%zz", backend.ErrInvalidInput, "%-escape"},
		{"software:/k?a=%zz", backend.ErrInvalidInput, "malformed"},
		{"software:/k?passphrase-source=hunter2&a=%zz", backend.ErrInvalidInput, "malformed"},
		{"pkcs11:x?pin-value=hunter2", backend.ErrInvalidInput, "does not start with"},
		{"software:/nul%00", backend.ErrInvalidInput, "NUL"},
	}
	for _, tt := range tests {
		_, err := ParseURI(tt.uri)
		if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.has) {
			t.Errorf("ParseURI(%q) = %v, want %v containing %q", tt.uri, err, tt.sentinel, tt.has)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURI(%q): error repeats a secret-looking value: %v", tt.uri, err)
		}
	}
}

// FuzzParseURI: no panics; errors wrap a sentinel; what parses formats
// back to a URI that parses to the same configuration.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"software:memory", "software:/var/lib/keys", "software:keys", "software:./memory",
		"software:/srv/keys?passphrase-source=file:/run/secrets/pass", "software:/srv/my%3Fodd%25dir",
		"software:/k?foo=1", "software:", "software:/k?passphrase-source=file:/a%26b+c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		c, err := ParseURI(uri)
		if err != nil {
			if backend.Kind(err) == nil {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		s := c.String()
		c2, err := ParseURI(s)
		if err != nil {
			t.Fatalf("ParseURI(%q) = %+v, whose String %q does not parse: %v", uri, c, s, err)
		}
		if c.Dir == "memory" {
			c.Dir = "./memory"
		}
		if !sameConfig(c2, c) && filepath.Clean(c2.Dir) != filepath.Clean(c.Dir) {
			t.Fatalf("round trip: %+v -> %q -> %+v", c, s, c2)
		}
		if c2.PassphraseFile != c.PassphraseFile || c2.Memory != c.Memory {
			t.Fatalf("round trip: %+v -> %q -> %+v", c, s, c2)
		}
	})
}

// sameConfig compares the URI fields of two Configs (a Config with a
// callback is not comparable with ==).
func sameConfig(a, b *Config) bool {
	return a.Memory == b.Memory && a.Dir == b.Dir && a.PassphraseFile == b.PassphraseFile &&
		(a.Passphrase == nil) == (b.Passphrase == nil)
}
