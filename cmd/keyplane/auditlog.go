package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/keyplane/keyplane/internal/secretfile"
)

// openAuditLog opens the --audit-log file for appending JSON records, by
// the rules writeOutput follows for what may be at path:
//
//   - nothing: the file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode
//     0600 whatever the umask.
//   - a regular file owned by this user: opened with O_APPEND|O_NOFOLLOW
//     (appending to an audit log is what --audit-log is for; no --force),
//     and refused if what was opened is not the file that was checked.
//   - a symbolic link, a FIFO, a device, a socket, a directory or a file
//     another user owns: refused, and not opened.
func openAuditLog(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|oNoFollow, permSecret)
		if err != nil {
			return nil, fmt.Errorf("--audit-log %s: %w", path, pathErrno(err))
		}
		if err := f.Chmod(permSecret); err != nil {
			f.Close()
			return nil, fmt.Errorf("--audit-log %s: %w", path, pathErrno(err))
		}
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("--audit-log %s: %w", path, pathErrno(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("--audit-log %s: it is a symbolic link; refused (name the file itself)", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("--audit-log %s: it is not a regular file (%s); refused, and not opened", path, secretfile.FileKind(fi.Mode()))
	case !ownedByMe(fi):
		return nil, fmt.Errorf("--audit-log %s: it is owned by another user; refused", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|oNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("--audit-log %s: %w", path, pathErrno(err))
	}
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		f.Close()
		return nil, fmt.Errorf("--audit-log %s: it was replaced while keyplane opened it; refused", path)
	}
	return f, nil
}

// auditLogger returns the logger for --audit-log, opening the file on the
// first call of the run (a command that opens the backend more than once
// appends to the same file). It returns nil without --audit-log.
func (c *cli) auditLogger() (*slog.Logger, error) {
	if c.auditLogPath == "" {
		return nil, nil
	}
	if c.auditFile == nil {
		f, err := openAuditLog(c.auditLogPath)
		if err != nil {
			return nil, err
		}
		c.auditFile = f
	}
	return slog.New(slog.NewJSONHandler(c.auditFile, nil)), nil
}

// closeAuditLog closes the --audit-log file, if it was opened.
func (c *cli) closeAuditLog() error {
	if c.auditFile == nil {
		return nil
	}
	err := c.auditFile.Close()
	c.auditFile = nil
	if err != nil {
		return fmt.Errorf("--audit-log %s: %w", c.auditLogPath, pathErrno(err))
	}
	return nil
}
