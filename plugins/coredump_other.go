//go:build !linux

package plugins

// noCoreDumps does nothing outside Linux (see coredump_linux.go).
func noCoreDumps() {}
