//go:build !cgo

package sshagent_test

const haveCgo = false
