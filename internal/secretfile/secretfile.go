// Package secretfile reads a secret (a PIN, a passphrase) from a file, by
// one rule for all of keyplane: the PKCS#11 backend's pin-source, the
// software keystore's passphrase-source and the CLI's --passphrase-file.
//
// # The rule
//
//   - The path is followed through symbolic links (a Kubernetes secret
//     volume is a tree of links); what it leads to must be a regular file.
//     A FIFO, device, socket or directory is refused without being read
//     (on Unix it is not even opened for reading in blocking mode).
//   - Group and others must have no access to the file at all (mode bits
//     0o077 clear: chmod 600 or 400). The owner is not checked. On Windows,
//     where Go reports no such bits, this check is not made.
//   - At most [MaxSize] bytes (64 KiB); a larger file is refused.
//   - One trailing line ending, "\n" or "\r\n", is dropped (so that
//     `echo secret > file` works); anything else, spaces included, is part
//     of the secret.
//   - What is left must not be empty.
//
// # Security
//
// Errors name the path and the rule that failed, never the content; they
// wrap backend.ErrInvalidInput, or backend.ErrAuthentication when the
// file may not be opened (permission denied). The bytes read are cleared
// when the file is refused after reading. The caller owns the returned
// slice and should clear it when done.
//
// # Concurrency
//
// Read is safe for concurrent use.
package secretfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/keyplane/keyplane/backend"
)

// MaxSize is the largest secret file Read accepts, in bytes.
const MaxSize = 64 << 10

// Read returns the secret in the file at path, by the package's rule.
// what names the secret's origin for error messages ("pkcs11: pin-source",
// "--passphrase-file"); errors read "<what> <path>: <reason>".
func Read(what, path string) ([]byte, error) {
	// Refuse what is not a regular file before opening it: opening a FIFO
	// for reading would wait for a writer.
	st, err := os.Stat(path)
	if err != nil {
		return nil, openError(what, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file (%s): %w", what, path, FileKind(st.Mode()), backend.ErrInvalidInput)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, openError(what, path, err)
	}
	defer f.Close()
	// Check the file opened, not the name (it may have been replaced).
	st, err = f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %w", what, path, errors.Unwrap(err), backend.ErrInvalidInput)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file (%s): %w", what, path, FileKind(st.Mode()), backend.ErrInvalidInput)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%s %s has mode %04o: group and others must have no access (chmod 600 %s): %w", what, path, perm, path, backend.ErrInvalidInput)
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("%s %s is larger than %d bytes: %w", what, path, MaxSize, backend.ErrInvalidInput)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		clear(b)
		// A read error names no content (the message is the system's).
		return nil, fmt.Errorf("%s %s: reading failed: %v: %w", what, path, errors.Unwrap(err), backend.ErrInvalidInput)
	}
	if len(b) > MaxSize { // it grew after Stat
		clear(b)
		return nil, fmt.Errorf("%s %s is larger than %d bytes: %w", what, path, MaxSize, backend.ErrInvalidInput)
	}
	secret := TrimNewline(b)
	if len(secret) == 0 {
		clear(b)
		return nil, fmt.Errorf("%s %s is empty: %w", what, path, backend.ErrInvalidInput)
	}
	return secret, nil
}

// TrimNewline drops one trailing "\n" or "\r\n" from b.
func TrimNewline(b []byte) []byte {
	if t, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(t, []byte("\r"))
	}
	return b
}

// openError is the error for a file that cannot be looked at or opened.
func openError(what, path string, err error) error {
	kind := backend.ErrInvalidInput
	if errors.Is(err, fs.ErrPermission) {
		kind = backend.ErrAuthentication
	}
	reason := err
	if u := errors.Unwrap(err); u != nil { // the *PathError's path is ours
		reason = u
	}
	return fmt.Errorf("%s %s: %w: %w", what, path, reason, kind)
}

// FileKind names what a non-regular file is ("a FIFO", "a directory"),
// for messages; the CLI's --out and --audit-log refusals use it too.
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "mode " + m.String()
	}
}
