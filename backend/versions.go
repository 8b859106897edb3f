package backend

import "context"

// KeyVersions is an optional interface: backends whose keys have versions
// that rotate.
//
// A key has versions 1..n. One of them is primary: Signer, Decrypter, AEAD
// and the other methods given the key's plain reference (its label or ID)
// use the primary version. Each version also has its own reference, the
// URI field of the Key that Versions returns for it, which addresses that
// version and no other. A key of a backend without versions, or made
// before its backend had them, behaves as version 1.
//
// Key and Keys describe the primary version (Keys lists each key once);
// DeleteKey destroys every version. A handle (crypto.Signer, AEAD, ...)
// keeps the version it was obtained for, even after a rotation, and a
// version is checked against the minimum when a handle is obtained: one
// obtained before SetMinVersion may keep working until it is dropped.
// Ciphertexts do not say which version made them: after a rotation, open
// an old one through its version's URI (or a format that records it, such
// as an envelope header).
type KeyVersions interface {
	// Rotate makes a new version of the key and makes it primary. It
	// returns the new version.
	Rotate(ctx context.Context, ref string) (*Key, error)
	// Versions lists the key's versions, oldest first; each Key has
	// Version set and a URI that addresses that version.
	Versions(ctx context.Context, ref string) ([]*Key, error)
	// SetMinVersion retires the versions below min: they no longer
	// decrypt or sign (ErrKeyRetired) but still verify. min may not exceed
	// the primary version (ErrInvalidInput).
	SetMinVersion(ctx context.Context, ref string, min int) error
	// DeleteVersion destroys one version. The primary version cannot be
	// deleted (ErrInvalidInput); deleting a version is permanent.
	DeleteVersion(ctx context.Context, ref string, version int) error
}
