//go:build !linux

package plugins

import "io"

// memfdCopy: no memfd here; the copy goes in a private directory.
func memfdCopy(string, io.Reader) (*pinnedExe, error) { return nil, nil }
