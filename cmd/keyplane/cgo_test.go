//go:build cgo && !nopkcs11

package main

// haveCgo: the pkcs11 backend is real in this build (it is a stub that
// says "built without PKCS#11" otherwise).
const haveCgo = true
