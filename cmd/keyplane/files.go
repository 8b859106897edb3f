package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/secretfile"
)

// maxInput bounds what keyplane reads into memory from one file or stdin.
const maxInput = 1 << 30

// openInput returns the file named by path, or stdin when path is "" or "-".
func (c *cli) openInput(path string) (io.ReadCloser, error) {
	if path == "" || path == "-" {
		return io.NopCloser(c.stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", pathError(err))
	}
	return f, nil
}

// maxKeyFile bounds a key file read by import: far more than any key
// (with a certificate chain around it) takes, and small enough that a
// hostile file is refused before it is decoded.
const maxKeyFile = 1 << 20

// readInput reads the whole file named by path, or stdin.
func (c *cli) readInput(path string) ([]byte, error) {
	return c.readInputMax(path, maxInput)
}

// readInputMax is readInput with a smaller bound than maxInput.
func (c *cli) readInputMax(path string, limit int) ([]byte, error) {
	r, err := c.openInput(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", pathError(err))
	}
	if len(data) > limit {
		clear(data)
		return nil, fmt.Errorf("%s: input is larger than %d bytes", inputName(path), limit)
	}
	return data, nil
}

// maxSmallFile bounds the files readFile reads: signatures (an ML-DSA-87
// one is 4,627 bytes) and public keys (an RSA-4096 SubjectPublicKeyInfo
// is 800 bytes in PEM, an ML-KEM-1024 one 2.2 KB). 64 KiB leaves room for
// comments around a PEM block and refuses /dev/zero or a misplaced
// archive before anything is decoded.
const maxSmallFile = 64 << 10

// readFile reads a named file (never stdin) of at most maxSmallFile
// bytes, for flags such as --sig and --pubkey. The errors name the flag
// and the file, never its content.
func readFile(flag, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("--%s needs a file name", flag)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, pathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, pathError(err))
	}
	if len(data) > maxSmallFile {
		clear(data)
		return nil, fmt.Errorf("--%s %s: larger than %d bytes, not a signature or public key file: %w", flag, path, maxSmallFile, backend.ErrInvalidInput)
	}
	return data, nil
}

// Output permissions: public material, and secrets (private keys,
// plaintexts).
const (
	permPublic = 0o644
	permSecret = 0o600
)

// addOutFlag adds --out (with usage) and --force to cmd.
func (c *cli) addOutFlag(cmd *cobra.Command, out *string, usage string) {
	cmd.Flags().StringVar(out, "out", "", usage)
	cmd.Flags().BoolVar(&c.force, "force", false, "replace the --out `FILE` if it exists (only a regular file of yours, never a link)")
}

// writeOutput writes data to the file named by path, or to stdout when
// path is "" or "-". Errors name path, never the temporary file.
//
// What is at path decides, before anything is opened:
//
//   - nothing: data goes to a temporary file in the same directory
//     (O_CREAT|O_EXCL|O_NOFOLLOW, a random name, mode perm), which is
//     synced and then hard-linked to path: link(2) fails if path has
//     appeared meanwhile, whatever it is, and never follows a symbolic
//     link, so the new name gets O_EXCL semantics and only ever a complete
//     file. The temporary name is then removed. (On a file system without
//     hard links, path itself is created with O_CREAT|O_EXCL|O_NOFOLLOW and
//     removed if the write fails.)
//   - a regular file owned by this user: refused unless --force; with it,
//     the temporary file is renamed over path (atomic; rename replaces a
//     name, it never writes through a link that replaced the file).
//   - a symbolic link (even to a file of ours, even dangling), a FIFO, a
//     device, a socket, a directory, or a file another user owns: refused,
//     --force or not. A FIFO is never opened, so it cannot block the
//     command nor receive anything: another user's FIFO in a shared /tmp
//     would otherwise hand them a private key.
//
// A failure leaves no file behind: neither path nor the temporary file
// (a process killed in the middle may leave the temporary file, named
// "."+base+".tmp-*", readable only by this user).
func (c *cli) writeOutput(path string, data []byte, perm os.FileMode) error {
	return c.writeOutputFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeOutputFrom is writeOutput for output that fill streams: fill
// writes it to the temporary file (or stdout), and a failure of fill
// leaves no file behind, as for writeOutput. (On stdout, what fill wrote
// before it failed has been written.)
func (c *cli) writeOutputFrom(path string, perm os.FileMode, fill func(io.Writer) error) error {
	if path == "" || path == "-" {
		return fill(c.stdout)
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createOutput(path, fill, perm)
	case err != nil:
		return fmt.Errorf("writing %s: %w", path, pathErrno(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("writing %s: it is a symbolic link; refused (name the file itself, or - for stdout)", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("writing %s: it is not a regular file (%s); refused, and not opened (use - for stdout)", path, secretfile.FileKind(fi.Mode()))
	case !ownedByMe(fi):
		return fmt.Errorf("writing %s: it is owned by another user; refused", path)
	case !c.force:
		return fmt.Errorf("writing %s: it exists; pass --force to replace it", path)
	}
	return replaceOutput(path, fill, perm)
}

// tempOutput writes what fill writes to a new temporary file next to
// path, synced, of mode perm, and returns its name.
func tempOutput(path string, fill func(io.Writer) error, perm os.FileMode) (string, error) {
	dir, base := filepath.Split(path)
	var f *os.File
	var name string
	for range 100 {
		name = filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(uint64(rand.Uint32()), 36))
		var err error
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("writing %s: %w", path, pathErrno(err))
		}
		break
	}
	if f == nil {
		return "", fmt.Errorf("writing %s: no free temporary name", path)
	}
	if err := fillFile(f, fill, perm); err != nil {
		return "", outputError(path, err)
	}
	return name, nil
}

// fillFile makes f, just created, mode perm exactly (whatever the umask)
// and holds what fill writes, synced, then closes it. On failure it
// removes f: no partial file is left.
func fillFile(f *os.File, fill func(io.Writer) error, perm os.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		err = fill(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// createOutput makes path, which did not exist, hold what fill writes.
func createOutput(path string, fill func(io.Writer) error, perm os.FileMode) error {
	tmp, err := tempOutput(path, fill, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("writing %s: it appeared while keyplane was writing; refused", path)
	case !linkUnsupported(err):
		return fmt.Errorf("writing %s: %w", path, pathErrno(err))
	}
	// No hard links here: create path itself, exclusively.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, pathErrno(err))
	}
	if err := fillFile(f, fill, perm); err != nil {
		return outputError(path, err)
	}
	return nil
}

// replaceOutput makes the existing regular file path hold what fill
// writes.
func replaceOutput(path string, fill func(io.Writer) error, perm os.FileMode) error {
	tmp, err := tempOutput(path, fill, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, pathErrno(err))
	}
	return nil
}

// pathErrno drops the operation and the path from an *os.PathError or
// *os.LinkError, whose path may be the temporary file's.
func pathErrno(err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// fillError is a failure of the producer of an output (a decryption
// failure while streaming), not of the file: it is returned as it is.
type fillError struct{ err error }

func (e *fillError) Error() string { return e.err.Error() }
func (e *fillError) Unwrap() error { return e.err }

// outputError is the error of a failed write to path: a fillError's
// own error, or the file system's, named by path.
func outputError(path string, err error) error {
	var fe *fillError
	if errors.As(err, &fe) {
		return fe.err
	}
	return fmt.Errorf("writing %s: %w", path, pathErrno(err))
}

// pathError drops the operation from an *os.PathError ("open x: no such
// file or directory" becomes "x: no such file or directory").
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
