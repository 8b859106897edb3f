package software

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// Scheme is the URI scheme this package registers.
const Scheme = "software"

// PassphraseEnv is the environment variable the keyplane CLI reads the
// keystore passphrase from when the URI has no passphrase-source. This
// package never reads it (nor any other variable): a program supplies the
// passphrase in code, as Config.Passphrase.
const PassphraseEnv = "KEYPLANE_PASSPHRASE"

// Config configures a software keystore: a parsed software: URI, plus what
// only code can supply (the passphrase callback). Its String, GoString and
// Format never show a secret.
type Config struct {
	// Memory is true for software:memory.
	Memory bool
	// Dir is the keystore directory, as written in the URI (relative paths
	// are resolved against the working directory when the keystore opens).
	Dir string
	// PassphraseFile is the file named by passphrase-source=file:<path>,
	// or "".
	PassphraseFile string
	// Passphrase supplies the passphrase that encrypts the keystore's
	// private keys, in code (a secret manager, a prompt); it is called once,
	// by OpenConfig, and the keystore keeps the bytes until Close, which
	// zeroes them. Give either Passphrase or PassphraseFile, not both; with
	// neither, keys are stored unencrypted. No URI sets it.
	Passphrase backend.SecretFunc `json:"-"`
}

// ParseURI parses a software: URI; see [Open] for the grammar. Errors wrap
// backend.ErrInvalidInput (or backend.ErrUnsupported for a passphrase
// source other than file:) and never repeat a query parameter's value.
func ParseURI(uri string) (*Config, error) {
	rest, ok := strings.CutPrefix(uri, Scheme+":")
	if !ok {
		return nil, fmt.Errorf("software: URI %q does not start with %q: %w", withoutQuery(uri), Scheme+":", backend.ErrInvalidInput)
	}
	rawPath, rawQuery, hasQuery := strings.Cut(rest, "?")
	if rawPath == "" {
		return nil, fmt.Errorf("software: URI %q has no path (want software:memory or software:<dir>): %w", withoutQuery(uri), backend.ErrInvalidInput)
	}
	c := &Config{}
	if rawPath == "memory" {
		c.Memory = true
	} else {
		p, err := url.PathUnescape(rawPath)
		if err != nil {
			return nil, fmt.Errorf("software: URI path %q: bad %%-escape (write %%25 for a literal %%): %w", rawPath, backend.ErrInvalidInput)
		}
		if strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("software: URI path contains a NUL byte: %w", backend.ErrInvalidInput)
		}
		c.Dir = p
	}
	if !hasQuery || rawQuery == "" {
		return c, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("software: URI query of %q is malformed (want name=value pairs joined by &): %w", withoutQuery(uri), backend.ErrInvalidInput)
	}
	if err := checkQueryNames(rawQuery); err != nil {
		return nil, err
	}
	if src, ok := q["passphrase-source"]; ok {
		if c.Memory {
			return nil, fmt.Errorf("software: passphrase-source has no use with software:memory (keys in memory are never written): %w", backend.ErrInvalidInput)
		}
		if len(src) != 1 {
			return nil, fmt.Errorf("software: passphrase-source given %d times: %w", len(src), backend.ErrInvalidInput)
		}
		kind, path, ok := strings.Cut(src[0], ":")
		if !ok || kind != "file" {
			return nil, fmt.Errorf("software: passphrase-source must be file:<path> (other sources are not supported; the passphrase itself never goes in the URI): %w", backend.ErrUnsupported)
		}
		if path == "" || strings.ContainsRune(path, 0) {
			return nil, fmt.Errorf("software: passphrase-source=file: needs a path: %w", backend.ErrInvalidInput)
		}
		c.PassphraseFile = path
	}
	return c, nil
}

// secretLooking are parameter names that hold a secret in other URIs; a
// software: URI has none (the passphrase never goes in it), so one of
// these is a mistake whose value, and whatever follows it, may be a
// passphrase.
var secretLooking = []string{"passphrase", "password", "pin", "pin-value"}

// checkQueryNames refuses names other than passphrase-source and names
// them (sorted), except those that follow a secret-looking one: a
// passphrase holding an unencoded "&" splits there, and its tail reads as
// further names. The query has already been parsed by url.ParseQuery.
func checkQueryNames(rawQuery string) error {
	var unknown []string
	tail := false
	for _, part := range strings.Split(rawQuery, "&") {
		raw, _, _ := strings.Cut(part, "=")
		name, _ := url.QueryUnescape(raw)
		if part == "" || name == "passphrase-source" {
			continue
		}
		if tail {
			continue // possibly the secret's tail
		}
		if q := fmt.Sprintf("%q", name); !slices.Contains(unknown, q) {
			unknown = append(unknown, q)
		}
		tail = slices.Contains(secretLooking, strings.ToLower(name))
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	msg := fmt.Sprintf("software: unknown URI query parameter %s (known: passphrase-source)", strings.Join(unknown, ", "))
	if tail {
		msg += "; what follows it is not shown, in case it is part of a passphrase (the passphrase never goes in the URI: use passphrase-source=file:<path>, or Config.Passphrase in code, or " + PassphraseEnv + " with the keyplane CLI)"
	}
	return fmt.Errorf("%s: %w", msg, backend.ErrInvalidInput)
}

// withoutQuery returns uri up to its query, for errors: query values are
// never repeated, in case one holds a secret by mistake.
func withoutQuery(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}

// String returns the URI in the form ParseURI reads. It holds no secret:
// the passphrase source is a file name, and a Passphrase callback is not
// shown (no URI can carry it).
//
// String, GoString and Format have value receivers so that a Config
// printed by value is formatted by them too, never field by field.
func (c Config) String() string {
	if c.Memory {
		return Scheme + ":memory"
	}
	dir := c.Dir
	if dir == "memory" {
		dir = "./memory"
	}
	s := Scheme + ":" + escape(dir, "%?")
	if c.PassphraseFile != "" {
		s += "?passphrase-source=" + escape("file:"+c.PassphraseFile, "%?&#+=;")
	}
	return s
}

// escape %-encodes control characters, non-ASCII bytes are kept, and the
// bytes in special.
func escape(s, special string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch == 0x7f || ch == ' ' || strings.IndexByte(special, ch) >= 0 {
			fmt.Fprintf(&b, "%%%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// GoString is what fmt's %#v prints: the URI as String formats it, and
// whether a passphrase callback is set.
func (c Config) GoString() string {
	if c.Passphrase != nil {
		return backend.ConfigGoString("software.Config", c.String(), "Passphrase")
	}
	return backend.ConfigGoString("software.Config", c.String())
}

// Format prints the Config as String does (GoString for %#v), whatever
// the verb: no verb prints it field by field.
func (c Config) Format(f fmt.State, verb rune) {
	backend.FormatConfig(f, verb, c.String(), c.GoString())
}
