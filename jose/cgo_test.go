//go:build cgo && !nopkcs11

package jose_test

const haveCgo = true
