//go:build !cgo || nopkcs11

package sshagent_test

const haveCgo = false
