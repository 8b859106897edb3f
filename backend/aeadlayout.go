package backend

import (
	"strconv"
	"strings"
)

// DetailAEADLayout is the Capabilities.Details key by which a backend
// whose AEAD seals messages in a service's own ciphertext format says so,
// with the value AEADLayoutService. Without the key, sealed messages are
// the contract's nonce ‖ ciphertext ‖ tag (see AEAD).
//
// A service-formatted sealed message (AWS KMS's ciphertext blob) is
// opaque: the AEAD's NonceSize is 0 (there is no nonce at a place a
// caller may read), and Overhead is an upper bound, not the exact
// difference, between a sealed message's length and its plaintext's.
// Every other promise of AEAD holds: a fresh random nonce inside each
// sealed message, associated data authenticated, every failure to open
// ErrDecryption.
const DetailAEADLayout = "aead-layout"

// AEADLayoutService is Details[DetailAEADLayout] for an AEAD whose sealed
// messages are a service's own ciphertext format.
const AEADLayoutService = "service"

// DetailAEADPlaintext is the Capabilities.Details key by which a backend
// whose AEAD seals only plaintexts of some lengths says which, as
// "<min>-<max>" in bytes ("1-4096" for AWS KMS Encrypt). Its AEADs refuse
// other lengths with ErrInvalidInput. Without the key, any length seals.
const DetailAEADPlaintext = "aead-plaintext"

// AEADServiceLayout reports whether the backend's AEAD seals messages in
// a service's own format (DetailAEADLayout).
func (c *Capabilities) AEADServiceLayout() bool {
	return c.Details[DetailAEADLayout] == AEADLayoutService
}

// AEADPlaintextSupported reports whether the backend's AEAD seals a
// plaintext of n bytes (DetailAEADPlaintext).
func (c *Capabilities) AEADPlaintextSupported(n int) bool {
	v, ok := c.Details[DetailAEADPlaintext]
	if !ok {
		return true
	}
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		return true
	}
	min, err1 := strconv.Atoi(lo)
	max, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil {
		return true
	}
	return n >= min && n <= max
}
