package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// keyRef is a parsed key resource ID: what cosign passes after
// "keyplane://".
type keyRef struct {
	Backend string // a keyplane backend URI
	Key     string // a key reference in that backend: label, "id:<hex>" or key URI
}

// parseKeyRef parses the key resource ID cosign hands the plugin (the
// --key value without its "keyplane://" prefix):
//
//	<backend URI>#<key>
//
// The backend URI is what `keyplane --backend` takes; the key, after the
// last "#", is a label, "id:<hex>" or a backend key URI, percent-decoded
// (so a label holding "#" is written %23). Examples:
//
//	pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin#release
//	software:/srv/keys?passphrase-source=file:/run/secrets/keystore-pass#release
//
// Without "#", the whole ID is the key and the backend is KEYPLANE_BACKEND
// (getenv), as for the keyplane CLI. A reference that carries a secret
// (pin-value=, passphrase=, module-init-args=: anything backend.Redact
// would hide) is refused: cosign puts the reference on its own command
// line and on the plugin's, where any user of the machine can read it.
func parseKeyRef(id string, getenv func(string) string) (keyRef, error) {
	if id == "" {
		return keyRef{}, fmt.Errorf("empty key reference (want keyplane://<backend URI>#<key>): %w", backend.ErrInvalidInput)
	}
	if backend.Redact(id) != id {
		return keyRef{}, fmt.Errorf("the key reference %q holds a secret, which cosign would show on its command line and the plugin's: give the PIN by pin-source=file:<path> (a passphrase by passphrase-source=file:<path>): %w",
			backend.Redact(id), backend.ErrInvalidInput)
	}
	uri, key, ok := cutLast(id, "#")
	if !ok {
		uri, key = getenv("KEYPLANE_BACKEND"), id
		if uri == "" {
			return keyRef{}, fmt.Errorf("key reference %q names no backend: write keyplane://<backend URI>#<key>, or set KEYPLANE_BACKEND: %w", id, backend.ErrInvalidInput)
		}
		if backend.Redact(uri) != uri {
			return keyRef{}, fmt.Errorf("KEYPLANE_BACKEND holds a secret: give the PIN by pin-source=file:<path>: %w", backend.ErrInvalidInput)
		}
	}
	if uri == "" {
		return keyRef{}, fmt.Errorf("key reference %q: no backend URI before \"#\": %w", id, backend.ErrInvalidInput)
	}
	k, err := url.PathUnescape(key)
	if err != nil {
		return keyRef{}, fmt.Errorf("key reference %q: the key after \"#\" is not percent-encoded correctly: %w", backend.Redact(id), backend.ErrInvalidInput)
	}
	if k == "" {
		return keyRef{}, fmt.Errorf("key reference %q: no key after \"#\": %w", id, backend.ErrInvalidInput)
	}
	return keyRef{Backend: uri, Key: k}, nil
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
