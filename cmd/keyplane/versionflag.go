package main

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// addVersionFlag adds --version N: use that version of the key rather
// than its primary.
func addVersionFlag(cmd *cobra.Command, version *int) {
	cmd.Flags().IntVar(version, "version", 0, "use version `N` of the key (see \"keyplane key info\"; default: its primary version)")
}

// keyVersionsOf returns the backend's key versions, looking through an
// observing wrapper (--audit-log) that does not carry them, or an error
// saying the backend has none.
func keyVersionsOf(b backend.Backend) (backend.KeyVersions, error) {
	for {
		if kv, ok := b.(backend.KeyVersions); ok {
			return kv, nil
		}
		u, ok := b.(interface{ Unwrap() backend.Backend })
		if !ok {
			return nil, fmt.Errorf("this backend has no key versions: %w", backend.ErrUnsupported)
		}
		b = u.Unwrap()
	}
}

// versionRef returns the reference of version n of the key ref names
// (the URI Versions gives it), or ref itself when n is 0.
func versionRef(ctx context.Context, b backend.Backend, ref string, n int) (string, error) {
	if n == 0 {
		return ref, nil
	}
	if n < 0 {
		return "", fmt.Errorf("--version %d: versions start at 1: %w", n, backend.ErrInvalidInput)
	}
	if ref == "" {
		return "", fmt.Errorf("--key is empty: %w", backend.ErrInvalidInput)
	}
	kv, err := keyVersionsOf(b)
	if err != nil {
		if n == 1 {
			return ref, nil // a key without versions is version 1
		}
		return "", fmt.Errorf("--version %d: %w", n, err)
	}
	vs, err := kv.Versions(ctx, ref)
	if err != nil {
		return "", keyError(ref, err)
	}
	for _, v := range vs {
		if v.Version == n || (n == 1 && v.Version == 0) {
			if v.URI == "" {
				return "", fmt.Errorf("key %q version %d has no reference of its own: %w", v.Label, n, backend.ErrUnsupported)
			}
			return v.URI, nil
		}
	}
	return "", fmt.Errorf("key %q has no version %d (it has %s): %w", backend.Redact(ref), n, versionList(vs), backend.ErrNotFound)
}

// versionList names the versions, "1, 2, 4".
func versionList(vs []*backend.Key) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(max(v.Version, 1))
	}
	return s
}
