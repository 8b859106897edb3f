//go:build !cgo || nopkcs11

package main

const haveCgo = false
