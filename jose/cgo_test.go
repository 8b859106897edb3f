//go:build cgo

package jose_test

const haveCgo = true
