//go:build cgo && !nopkcs11

package testenv

// PKCS11Built reports whether this build has the real PKCS#11 backend
// (cgo, and no nopkcs11 tag).
const PKCS11Built = true
