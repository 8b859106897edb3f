//go:build cgo && !nopkcs11

package pkcs11

// Exported for the external test package of the same test binary.
var SharedTokenURIForTest = SharedTokenURI
