package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// readFile reads a named file (never stdin), for flags such as --sig.
func readFile(flag, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("--%s needs a file name", flag)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, pathError(err))
	}
	return data, nil
}

// Output permissions: public material, and secrets (private keys,
// plaintexts).
const (
	permPublic = 0o644
	permSecret = 0o600
)

// writeOutput writes data to the file named by path (replacing it, through
// a temporary file in the same directory and a rename), or to stdout when
// path is "" or "-". Errors name path, never the temporary file.
func (c *cli) writeOutput(path string, data []byte, perm os.FileMode) error {
	if path == "" || path == "-" {
		_, err := c.stdout.Write(data)
		return err
	}
	fail := func(err error) error {
		var pe *os.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	target := path
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return fmt.Errorf("writing %s: it is a directory", path)
		case !fi.Mode().IsRegular():
			// A device or a pipe (/dev/stdout, a FIFO): write into it.
			return writeInto(path, data)
		}
		// Through a symbolic link, replace the file it points to, not
		// the link.
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			target = resolved
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, this fails harmlessly
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fail(err)
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fail(err)
	}
	return nil
}

// writeInto writes data into an existing file that is not a regular file.
func writeInto(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, pathError(err))
	}
	return nil
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
