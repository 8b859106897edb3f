//go:build cgo && !nopkcs11

package secretstest

// haveCgo: the pkcs11 backend is built (it needs cgo).
const haveCgo = true
