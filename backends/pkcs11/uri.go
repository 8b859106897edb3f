package pkcs11

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// URI is a parsed RFC 7512 PKCS#11 URI, with keyplane's own query
// attributes (oaep-fallback, max-sessions).
//
// A backend URI names a module and a token; a key URI names a key (object,
// id, type) and may omit the rest. Empty fields are absent attributes.
type URI struct {
	// Path attributes: the token.
	Token        string // token label (CK_TOKEN_INFO.label)
	Manufacturer string // token manufacturer
	Serial       string // token serial number
	Model        string // token model

	// Path attributes: the library (CK_INFO).
	LibraryManufacturer string
	LibraryDescription  string
	LibraryVersion      string // "M" or "M.m"

	// Path attributes: the slot.
	SlotID           *uint // nil when absent
	SlotDescription  string
	SlotManufacturer string

	// Path attributes: the object.
	Object string // CKA_LABEL
	ID     []byte // CKA_ID, nil when absent
	Type   string // "public", "private", "cert", "secret-key", "data"

	// Query attributes.
	ModulePath string // absolute path of the PKCS#11 module
	ModuleName string // module name, looked up in the usual directories
	// PINValue is the user PIN. String, GoString and encoding/json never
	// show it.
	PINValue string `json:"-"`
	// PINSource is where to read the PIN: "file:/path" or an absolute
	// path, or "prompt" (PINSourcePrompt: PIN must then be set).
	PINSource string
	// PIN supplies the user PIN in code (a secret manager, a prompt): the
	// backend calls it at each login — the first, at OpenConfig; again
	// after the token comes back from a fault; and before each use of a
	// key marked CKA_ALWAYS_AUTHENTICATE — and zeroes the returned bytes
	// once C_Login has them. No URI sets it; give it or pin-value or a
	// pin-source file, not two of them (pin-source=prompt goes with it).
	// String, GoString and Format never show it.
	PIN backend.SecretFunc `json:"-"`
	// ModuleInitArgs is module-init-args: the string C_Initialize gets as
	// CK_C_INITIALIZE_ARGS.pReserved (NSS softokn's configuration). It may
	// hold a secret for some modules, so String, GoString and
	// encoding/json never show it, and no error or log does.
	ModuleInitArgs string `json:"-"`

	// Keyplane's query attributes.
	OAEPFallback string        // "", "on" or "off"
	MaxSessions  int           // 0 when absent
	CallTimeout  time.Duration // call-timeout; 0 when absent (DefaultCallTimeout), CallTimeoutOff for "off"

	// Vendor attributes ("x-..."), kept in order.
	VendorPath  []Attribute
	VendorQuery []Attribute
}

// Attribute is a vendor attribute of a URI.
type Attribute struct {
	Name, Value string
}

// Object types accepted in the type attribute (RFC 7512 §2.3).
var objectTypes = []string{"public", "private", "cert", "secret-key", "data"}

// maxSessionsLimit bounds the max-sessions attribute.
const maxSessionsLimit = 4096

// DefaultCallTimeout is how long an operation may stay inside the module
// when the URI gives no call-timeout: long enough for a key generation on
// a slow HSM, short enough that a caller learns of a hung module.
const DefaultCallTimeout = 30 * time.Second

// maxCallTimeout bounds the call-timeout attribute.
const maxCallTimeout = time.Hour

// CallTimeoutOff is URI.CallTimeout for call-timeout=off: operations run
// on their caller's goroutine with no deadline, as they did before call
// deadlines existed — a little cheaper (docs/performance.md), and a module
// call that never returns blocks its caller for good. Only for a module
// that cannot hang (a local software token).
const CallTimeoutOff time.Duration = -1

const scheme = "pkcs11:"

// ParseURI parses an RFC 7512 PKCS#11 URI:
//
//	pkcs11:token=signing;serial=0123456789abcdef?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
//	pkcs11:token=My%20Token;slot-id=0?module-name=softhsm2&pin-value=1234
//	pkcs11:token=signing;object=release;type=private
//	pkcs11:id=%01%02%03?oaep-fallback=off&max-sessions=4
//	pkcs11:token=signing?module-path=/opt/hsm/lib/libhsm.so&call-timeout=5s
//	pkcs11:token=keyplane?module-path=/usr/lib/x86_64-linux-gnu/libsoftokn3.so&module-init-args=configdir%3D%27sql%3A%2Fhome%2Fme%2F.pki%2Fnssdb%27%20certPrefix%3D%27%27%20keyPrefix%3D%27%27%20secmod%3D%27secmod.db%27%20flags%3D%20dbTokenDescription%3D%27keyplane%27&pin-source=file:/run/secrets/pin
//
// Path attributes (separated by ";"): token, manufacturer, serial, model,
// library-manufacturer, library-description, library-version, slot-id,
// slot-description, slot-manufacturer, object, id, type. Query attributes
// (separated by "&"): module-path, module-name, pin-value, pin-source
// (file:/path, /path, or prompt: see PINSourcePrompt), and keyplane's oaep-fallback=on|off, max-sessions=N, call-timeout=D (a Go
// duration, how long an operation may stay inside the module before its
// caller gets backend.ErrUnavailable; DefaultCallTimeout when absent; off
// for none, see CallTimeoutOff) and module-init-args=<percent-encoded
// string>. module-init-args is handed to the module's C_Initialize as
// CK_C_INITIALIZE_ARGS.pReserved: NSS softokn needs its configuration
// there. The last example opens the NSS database in /home/me/.pki/nssdb,
// whose token is labelled by dbTokenDescription; decoded, its
// module-init-args are
//
//	configdir='sql:/home/me/.pki/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags= dbTokenDescription='keyplane'
//
// A module is initialized once per process, so every URI naming one
// module must give it the same module-init-args (Open refuses another
// value). Like pin-value, module-init-args may hold a secret: String
// leaves it out and no error shows it. Values are
// percent-decoded. Vendor attributes whose names start with "x-" are kept;
// any other unknown attribute, a repeated attribute, a malformed
// percent-escape, a non-numeric slot-id, an unknown type, both pin-value
// and pin-source, or a relative module-path is refused with an error
// wrapping backend.ErrInvalidInput that names the attribute. Errors never
// contain the PIN, nor anything after pin-value that could be its tail (a
// PIN holding an unencoded "&"): an error there names only a known
// attribute, without its value.
func ParseURI(s string) (*URI, error) {
	rest, ok := strings.CutPrefix(s, scheme)
	if !ok {
		return nil, fmt.Errorf("pkcs11 URI %q: must start with %q: %w", backend.Redact(s), scheme, backend.ErrInvalidInput)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	for _, attr := range strings.Split(path, ";") {
		if attr == "" {
			continue
		}
		if err := u.setPath(attr, seen); err != nil {
			return nil, err
		}
	}
	for _, attr := range strings.Split(query, "&") {
		if attr == "" {
			continue
		}
		if err := u.setQuery(attr, seen); err != nil {
			if seen["pin-value"] {
				return nil, errAfterPIN(attr)
			}
			return nil, err
		}
	}
	if u.PINValue != "" && u.PINSource != "" {
		return nil, fmt.Errorf("pkcs11 URI: pin-value and pin-source are both given (use one): %w", backend.ErrInvalidInput)
	}
	return u, nil
}

func splitAttr(attr string, seen map[string]bool) (name, value string, err error) {
	name, raw, ok := strings.Cut(attr, "=")
	if !ok {
		return "", "", fmt.Errorf("pkcs11 URI: attribute %q has no \"=\": %w", clip(name), backend.ErrInvalidInput)
	}
	if seen[name] {
		return "", "", fmt.Errorf("pkcs11 URI: attribute %q given twice: %w", clip(name), backend.ErrInvalidInput)
	}
	seen[name] = true
	value, err = url.PathUnescape(raw) // RFC 3986 escapes; "+" stays "+"
	if err != nil {
		if isSecretAttr(name) {
			return "", "", fmt.Errorf("pkcs11 URI: attribute %s: malformed percent-encoding: %w", name, backend.ErrInvalidInput)
		}
		return "", "", fmt.Errorf("pkcs11 URI: attribute %s: %v: %w", clip(name), err, backend.ErrInvalidInput)
	}
	return name, value, nil
}

// isSecretAttr: attributes whose values never appear in an error.
func isSecretAttr(name string) bool { return name == "pin-value" || name == "module-init-args" }

// errAfterPIN is the error for a bad query attribute after pin-value. A
// PIN holding an unencoded "&" splits the query there, so what follows may
// be the PIN's tail: the error names the attribute only when it is a known
// one, and never repeats its value.
func errAfterPIN(attr string) error {
	const hint = `(not shown: it may be the tail of a PIN holding "&", which must be written %26)`
	name, _, _ := strings.Cut(attr, "=")
	if isQueryName(name) {
		return fmt.Errorf("pkcs11 URI: attribute %s after pin-value is invalid %s: %w", name, hint, backend.ErrInvalidInput)
	}
	return fmt.Errorf("pkcs11 URI: an attribute after pin-value is not one this backend knows %s: %w", hint, backend.ErrInvalidInput)
}

// clip shortens a string quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (u *URI) setPath(attr string, seen map[string]bool) error {
	name, v, err := splitAttr(attr, seen)
	if err != nil {
		return err
	}
	switch name {
	case "token":
		u.Token = v
	case "manufacturer":
		u.Manufacturer = v
	case "serial":
		u.Serial = v
	case "model":
		u.Model = v
	case "library-manufacturer":
		u.LibraryManufacturer = v
	case "library-description":
		u.LibraryDescription = v
	case "library-version":
		if !validVersion(v) {
			return fmt.Errorf("pkcs11 URI: library-version %q: want M or M.m (digits): %w", clip(v), backend.ErrInvalidInput)
		}
		u.LibraryVersion = v
	case "slot-id":
		n, err := strconv.ParseUint(v, 10, 0)
		if err != nil || v == "" || v[0] == '+' {
			return fmt.Errorf("pkcs11 URI: slot-id %q: want a decimal number: %w", clip(v), backend.ErrInvalidInput)
		}
		id := uint(n)
		u.SlotID = &id
	case "slot-description":
		u.SlotDescription = v
	case "slot-manufacturer":
		u.SlotManufacturer = v
	case "object":
		u.Object = v
	case "id":
		u.ID = []byte(v)
	case "type":
		if !slices.Contains(objectTypes, v) {
			return fmt.Errorf("pkcs11 URI: type %q: want one of %s: %w", clip(v), strings.Join(objectTypes, ", "), backend.ErrInvalidInput)
		}
		u.Type = v
	default:
		if isVendor(name) {
			u.VendorPath = append(u.VendorPath, Attribute{name, v})
			return nil
		}
		if isQueryName(name) {
			return fmt.Errorf("pkcs11 URI: %s belongs in the query (after \"?\"), not the path: %w", name, backend.ErrInvalidInput)
		}
		return fmt.Errorf("pkcs11 URI: unknown path attribute %q (vendor attributes start with \"x-\"): %w", clip(name), backend.ErrInvalidInput)
	}
	return nil
}

func (u *URI) setQuery(attr string, seen map[string]bool) error {
	name, v, err := splitAttr(attr, seen)
	if err != nil {
		return err
	}
	switch name {
	case "module-path":
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("pkcs11 URI: module-path %q is not an absolute path (use module-name for a name): %w", clip(v), backend.ErrInvalidInput)
		}
		u.ModulePath = v
	case "module-name":
		if v == "" || strings.ContainsAny(v, "/\x00") {
			return fmt.Errorf("pkcs11 URI: module-name %q must be a file name without \"/\" (use module-path for a path): %w", clip(v), backend.ErrInvalidInput)
		}
		u.ModuleName = v
	case "pin-value":
		u.PINValue = v
	case "module-init-args":
		if v == "" || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("pkcs11 URI: module-init-args is empty or holds a NUL byte: %w", backend.ErrInvalidInput)
		}
		u.ModuleInitArgs = v
	case "pin-source":
		if v != PINSourcePrompt {
			if _, err := pinSourcePath(v); err != nil {
				return err
			}
		}
		u.PINSource = v
	case "oaep-fallback":
		if v != "on" && v != "off" {
			return fmt.Errorf("pkcs11 URI: oaep-fallback %q: want on or off: %w", clip(v), backend.ErrInvalidInput)
		}
		u.OAEPFallback = v
	case "max-sessions":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSessionsLimit || v[0] == '+' {
			return fmt.Errorf("pkcs11 URI: max-sessions %q: want a number from 1 to %d: %w", clip(v), maxSessionsLimit, backend.ErrInvalidInput)
		}
		u.MaxSessions = n
	case "call-timeout":
		if v == "off" {
			u.CallTimeout = CallTimeoutOff
			break
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxCallTimeout {
			return fmt.Errorf("pkcs11 URI: call-timeout %q: want a Go duration above 0 and at most %v (\"500ms\", \"10s\"), or off: %w", clip(v), maxCallTimeout, backend.ErrInvalidInput)
		}
		u.CallTimeout = d
	default:
		if isVendor(name) {
			u.VendorQuery = append(u.VendorQuery, Attribute{name, v})
			return nil
		}
		return fmt.Errorf("pkcs11 URI: unknown query attribute %q (vendor attributes start with \"x-\"): %w", clip(name), backend.ErrInvalidInput)
	}
	return nil
}

func isQueryName(name string) bool {
	switch name {
	case "module-path", "module-name", "module-init-args", "pin-value", "pin-source", "oaep-fallback", "max-sessions", "call-timeout":
		return true
	}
	return false
}

// isVendor: "x-" followed by 1*(ALPHA / DIGIT / "-" / "_").
func isVendor(name string) bool {
	rest, ok := strings.CutPrefix(name, "x-")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(isAlnum(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validVersion(v string) bool {
	major, minor, hasMinor := strings.Cut(v, ".")
	return allDigits(major) && (!hasMinor || allDigits(minor))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the URI, percent-encoding what RFC 7512 requires (the id
// always, byte by byte). It never shows the PIN: pin-value is left out, so
// that a URI copied from a log can never cause a login attempt with a
// wrong PIN (a finite resource on real tokens). pin-source is kept.
// module-init-args is left out too: it is opaque to keyplane and some
// modules take secrets in it, so a URI that needs it must be kept as the
// caller wrote it, not rebuilt from String.
//
// String has a value receiver so that a URI printed by value (fmt's %v, a
// log attribute) is formatted by it too, not field by field.
func (u URI) String() string {
	var path, query []string
	add := func(list *[]string, name, v string, query bool) {
		if v != "" {
			*list = append(*list, name+"="+escape(v, query))
		}
	}
	add(&path, "token", u.Token, false)
	add(&path, "manufacturer", u.Manufacturer, false)
	add(&path, "serial", u.Serial, false)
	add(&path, "model", u.Model, false)
	add(&path, "library-manufacturer", u.LibraryManufacturer, false)
	add(&path, "library-description", u.LibraryDescription, false)
	add(&path, "library-version", u.LibraryVersion, false)
	if u.SlotID != nil {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(*u.SlotID), 10))
	}
	add(&path, "slot-description", u.SlotDescription, false)
	add(&path, "slot-manufacturer", u.SlotManufacturer, false)
	add(&path, "object", u.Object, false)
	if u.ID != nil {
		path = append(path, "id="+escapeAll(u.ID))
	}
	add(&path, "type", u.Type, false)
	for _, a := range u.VendorPath {
		path = append(path, a.Name+"="+escape(a.Value, false))
	}
	add(&query, "module-path", u.ModulePath, true)
	add(&query, "module-name", u.ModuleName, true)
	add(&query, "pin-source", u.PINSource, true)
	add(&query, "oaep-fallback", u.OAEPFallback, true)
	if u.MaxSessions != 0 {
		query = append(query, "max-sessions="+strconv.Itoa(u.MaxSessions))
	}
	switch {
	case u.CallTimeout == CallTimeoutOff:
		query = append(query, "call-timeout=off")
	case u.CallTimeout != 0:
		query = append(query, "call-timeout="+u.CallTimeout.String())
	}
	for _, a := range u.VendorQuery {
		query = append(query, a.Name+"="+escape(a.Value, true))
	}
	s := scheme + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// GoString is what fmt's %#v prints: the URI as String formats it,
// without the PIN, and whether a PIN callback is set.
func (u URI) GoString() string {
	if u.PIN != nil {
		return backend.ConfigGoString("pkcs11.URI", u.String(), "PIN")
	}
	return backend.ConfigGoString("pkcs11.URI", u.String())
}

// Format prints the URI as String does (GoString for %#v) whatever the
// verb, so that no verb (%d, %x, %+v) prints it field by field with the
// PIN.
func (u URI) Format(f fmt.State, verb rune) {
	backend.FormatConfig(f, verb, u.String(), u.GoString())
}

// HasPIN reports whether the URI gives a PIN (pin-value, pin-source or a
// PIN callback).
func (u *URI) HasPIN() bool { return u.PINValue != "" || u.PINSource != "" || u.PIN != nil }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// allowed reports whether c may appear unencoded in a value (RFC 7512
// pk11-pchar / pk11-qchar).
func allowed(c byte, query bool) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		':', '[', ']', '@', '!', '$', '\'', '(', ')', '*', '+', ',', '=': // pk11-res-avail
		return true
	case '&':
		return !query
	case '/', '?', '|':
		return query
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

func escape(s string, query bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if allowed(c, query) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func escapeAll(p []byte) string {
	b := make([]byte, 0, 3*len(p))
	for _, c := range p {
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}
