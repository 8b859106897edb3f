package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Opener opens a backend from its full URI ("software:memory",
// "pkcs11:token=test?module-path=..."). It parses everything after the
// scheme itself.
type Opener func(ctx context.Context, uri string) (Backend, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a backend available under scheme, as database/sql.Register
// does for drivers. It panics if opener is nil, if scheme is empty or
// malformed, or if scheme is already registered.
//
// A scheme ending in "+" ("plugin+") is a wrapper: Open hands it every URI
// whose scheme starts with that prefix ("plugin+pkcs11:...") and has no
// exact registration of its own.
func Register(scheme string, opener Opener) {
	if opener == nil {
		panic("backend: Register opener is nil")
	}
	if !validScheme(strings.TrimSuffix(scheme, "+")) {
		panic("backend: Register called with invalid scheme " + fmt.Sprintf("%q", scheme))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("backend: Register called twice for scheme " + scheme)
	}
	registry[scheme] = opener
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s := make([]string, 0, len(registry))
	for k := range registry {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the backend that uri names, by its scheme (the text before the
// first ":"). Unknown schemes give an error wrapping ErrUnsupported that
// lists the registered ones.
func Open(ctx context.Context, uri string) (Backend, error) {
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok || !validScheme(scheme) {
		return nil, fmt.Errorf("backend URI %q: want <scheme>:<rest>, e.g. software:memory: %w", Redact(uri), ErrInvalidInput)
	}
	registryMu.RLock()
	opener := registry[scheme]
	if opener == nil {
		if i := strings.Index(scheme, "+"); i > 0 {
			opener = registry[scheme[:i+1]]
		}
	}
	registryMu.RUnlock()
	if opener == nil {
		return nil, fmt.Errorf("backend scheme %q is not registered (registered: %s): %w", scheme, strings.Join(Schemes(), ", "), ErrUnsupported)
	}
	return opener(ctx, uri)
}

// validScheme: a letter, then letters, digits, "+", "-", "." (RFC 3986).
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// secretParams are URI query parameters whose values are secrets (or may
// be: a PKCS#11 module's module-init-args).
var secretParams = []string{"pin-value", "passphrase", "pin", "module-init-args"}

// knownParams are the attribute names, none secret, of the URIs of the
// backends in this module (RFC 7512's path and query attributes,
// keyplane's own, the software and plugin schemes'). After a secret
// attribute, Redact keeps only these: anything else may be the tail of a
// secret holding an unencoded separator.
var knownParams = []string{
	// PKCS#11 path attributes (RFC 7512).
	"token", "manufacturer", "serial", "model",
	"library-manufacturer", "library-description", "library-version",
	"slot-id", "slot-description", "slot-manufacturer",
	"object", "id", "type",
	// PKCS#11 query attributes (RFC 7512 and keyplane's).
	"module-path", "module-name", "pin-source",
	"oaep-fallback", "max-sessions", "call-timeout",
	// software: and plugin: URIs.
	"passphrase-source", "sha256", "timeout",
}

// Redact returns uri with the values of secret query parameters
// (pin-value, passphrase, pin, module-init-args) replaced by "REDACTED",
// for errors and logs. A secret holding an unencoded "&" (";" in a path)
// splits there, and its tail reads as further parameters: so after a
// secret parameter, every part whose name is not one of keyplane's known
// attribute names is dropped. It works on any scheme and never fails.
func Redact(uri string) string {
	base, query, ok := strings.Cut(uri, "?")
	if !ok {
		// RFC 7512 also allows attributes in the path; pin-value may appear there.
		return redactList(uri, ";")
	}
	return redactList(base, ";") + "?" + redactList(query, "&")
}

func redactList(s, sep string) string {
	parts := strings.Split(s, sep)
	out := parts[:0]
	afterSecret := false
	for _, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		// The first path attribute carries the scheme ("pkcs11:pin-value=...").
		if j := strings.LastIndex(name, ":"); j >= 0 && hasValue {
			name = name[j+1:]
		}
		switch {
		case hasValue && slices.Contains(secretParams, strings.ToLower(name)):
			p = p[:strings.Index(p, "=")+1] + "REDACTED"
			afterSecret = true
		case afterSecret && !(hasValue && slices.Contains(knownParams, strings.ToLower(name))):
			continue // possibly the secret's tail
		}
		out = append(out, p)
	}
	return strings.Join(out, sep)
}
