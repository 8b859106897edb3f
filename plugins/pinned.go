package plugins

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/keyplane/keyplane/backend"
)

// pinnedExe is a plugin executable whose SHA-256 is pinned, as the host
// checked it: a private copy of its bytes, hashed while they were copied,
// which is what every start of the plugin runs. Hashing a file by its path
// and then executing it by its path lets whoever can rename another file
// over that path between the two run an unpinned program, which would then
// receive the backend configuration (docs/decisions.md). The copy cannot
// be changed by anyone but the host's user: on Linux it is a sealed memfd
// (no writer can exist, executed through /proc/self/fd/N); elsewhere, and
// for scripts (whose interpreter opens the file again by its name), it is
// a file in a directory only the host's user can enter.
type pinnedExe struct {
	path string   // what to execute
	argv string   // argv[0]: the original path, for ps and logs
	f    *os.File // the memfd, held open while path refers to it; or nil
	dir  string   // the private directory holding the copy; or ""
}

// pinExecutable copies exe while hashing it and returns the copy when the
// hash is want; a mismatch is ErrChecksumMismatch (and ErrAuthentication).
func pinExecutable(name, exe string, want []byte) (*pinnedExe, error) {
	src, err := os.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s to check its SHA-256: %v: %w", name, exe, err, backend.ErrUnavailable)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file: %w", name, exe, backend.ErrInvalidInput)
	}
	var head [2]byte
	n, _ := io.ReadFull(src, head[:])
	script := bytes.Equal(head[:n], []byte("#!"))
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: reading %s: %v: %w", name, exe, err, backend.ErrUnavailable)
	}
	var p *pinnedExe
	sum := sha256.New()
	if !script {
		p, err = memfdCopy(filepath.Base(exe), io.TeeReader(src, sum))
	}
	if p == nil && err == nil {
		p, err = dirCopy(filepath.Base(exe), io.TeeReader(src, sum))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: copying %s to run it: %v: %w", name, exe, err, backend.ErrUnavailable)
	}
	p.argv = exe
	got := sum.Sum(nil)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		p.close()
		return nil, fmt.Errorf("%s: %s has SHA-256 %s, but %s is pinned; not starting it: %w (%w)",
			name, exe, hex.EncodeToString(got), hex.EncodeToString(want), ErrChecksumMismatch, backend.ErrAuthentication)
	}
	return p, nil
}

// dirCopy writes the copy in a new directory only this user can enter,
// read-only and executable.
func dirCopy(base string, r io.Reader) (*pinnedExe, error) {
	dir, err := os.MkdirTemp("", "keyplane-plugin-exe-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, base)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err == nil {
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Chmod(path, 0o500)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &pinnedExe{path: path, dir: dir}, nil
}

// command returns the command that runs the copy.
func (p *pinnedExe) command() *exec.Cmd {
	cmd := exec.Command(p.path)
	cmd.Args[0] = p.argv
	return cmd
}

// close releases the copy; running children keep theirs.
func (p *pinnedExe) close() {
	if p.f != nil {
		p.f.Close()
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}
