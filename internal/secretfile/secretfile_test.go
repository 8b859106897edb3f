//go:build unix

package secretfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/secretfile"
)

// secret is in every file the tests write; no error may contain it.
const secret = "s3cret-Pa55phrase"

func write(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by the umask
		t.Fatal(err)
	}
	return p
}

// refused checks that err wraps kind, names the path and reason, and
// does not contain the secret.
func refused(t *testing.T, name string, got []byte, err error, kind error, path, reason string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: read %q, want an error", name, got)
		return
	}
	if got != nil {
		t.Errorf("%s: %q returned with the error", name, got)
	}
	if !errors.Is(err, kind) {
		t.Errorf("%s: %v, want it to wrap %v", name, err, kind)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "test-secret "+path) || !strings.Contains(msg, reason) {
		t.Errorf("%s: %q, want it to start with %q and say %q", name, msg, "test-secret "+path, reason)
	}
	if strings.Contains(msg, secret) || strings.Contains(msg, secret[:8]) {
		t.Errorf("%s: the error contains the file's content: %q", name, msg)
	}
}

func TestTrimsOneLineEnding(t *testing.T) {
	for content, want := range map[string]string{
		secret:               secret,
		secret + "\n":        secret,
		secret + "\r\n":      secret,
		secret + "\n\n":      secret + "\n", // only one
		secret + "\r\n\r\n":  secret + "\r\n",
		secret + "\r":        secret + "\r", // a lone CR is not a line ending
		" " + secret + " \n": " " + secret + " ",
		"\t" + secret + "\t": "\t" + secret + "\t",
		"line1\nline2\n":     "line1\nline2",
		string([]byte{0, 1}): string([]byte{0, 1}),
	} {
		got, err := secretfile.Read("test-secret", write(t, "s", content, 0o600))
		if err != nil || string(got) != want {
			t.Errorf("%q: read %q, %v; want %q", content, got, err, want)
		}
	}
}

func TestEmptyRefused(t *testing.T) {
	for _, content := range []string{"", "\n", "\r\n"} {
		p := write(t, "empty", content, 0o600)
		got, err := secretfile.Read("test-secret", p)
		refused(t, "content "+strings.ReplaceAll(content, "\n", `\n`), got, err, backend.ErrInvalidInput, p, "is empty")
	}
}

func TestModeRule(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o400, 0o700, 0o200} {
		if _, err := secretfile.Read("test-secret", write(t, "ok", secret, mode)); err != nil && !(mode == 0o200 && os.Geteuid() != 0) {
			t.Errorf("mode %04o: %v, want it accepted", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644, 0o666} {
		p := write(t, "loose", secret+"\n", mode)
		got, err := secretfile.Read("test-secret", p)
		refused(t, "mode "+mode.String(), got, err, backend.ErrInvalidInput, p, "group and others must have no access (chmod 600 "+p+")")
	}
}

func TestSizeLimit(t *testing.T) {
	at := strings.Repeat(secret, secretfile.MaxSize/len(secret)+1)[:secretfile.MaxSize]
	got, err := secretfile.Read("test-secret", write(t, "max", at, 0o600))
	if err != nil || len(got) != secretfile.MaxSize {
		t.Errorf("%d bytes: read %d, %v; want it accepted", secretfile.MaxSize, len(got), err)
	}
	p := write(t, "big", at+"x", 0o600)
	got, err = secretfile.Read("test-secret", p)
	refused(t, "MaxSize+1", got, err, backend.ErrInvalidInput, p, "is larger than 65536 bytes")
}

func TestSymlinkFollowed(t *testing.T) {
	dir := t.TempDir()
	target := write(t, "target", secret+"\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if got, err := secretfile.Read("test-secret", link); err != nil || string(got) != secret {
		t.Errorf("link to a 0600 file: %q, %v", got, err)
	}
	// The rule holds for what the link leads to (a link's own mode is 0777).
	loose := write(t, "loose", secret, 0o644)
	link2 := filepath.Join(dir, "link2")
	if err := os.Symlink(loose, link2); err != nil {
		t.Fatal(err)
	}
	got, err := secretfile.Read("test-secret", link2)
	refused(t, "link to a 0644 file", got, err, backend.ErrInvalidInput, link2, "has mode 0644")
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	got, err = secretfile.Read("test-secret", dangling)
	refused(t, "dangling link", got, err, backend.ErrInvalidInput, dangling, "no such file")
}

func TestNotRegularRefused(t *testing.T) {
	dir := t.TempDir()
	got, err := secretfile.Read("test-secret", dir)
	refused(t, "directory", got, err, backend.ErrInvalidInput, dir, "is not a regular file (a directory)")

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // with no writer, opening the FIFO to read would block
		_, err := secretfile.Read("test-secret", fifo)
		done <- err
	}()
	select {
	case err := <-done:
		refused(t, "FIFO", nil, err, backend.ErrInvalidInput, fifo, "is not a regular file (a FIFO)")
	case <-time.After(10 * time.Second):
		t.Fatal("Read of a FIFO without a writer did not return within 10 s")
	}

	got, err = secretfile.Read("test-secret", "/dev/null")
	refused(t, "/dev/null", got, err, backend.ErrInvalidInput, "/dev/null", "is not a regular file (a device)")
}

func TestMissingAndUnreadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing")
	got, err := secretfile.Read("test-secret", p)
	refused(t, "missing", got, err, backend.ErrInvalidInput, p, "no such file or directory")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v does not wrap fs.ErrNotExist", err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: permission denied cannot be produced; skipping that case")
		return
	}
	p = write(t, "unreadable", secret, 0o200)
	got, err = secretfile.Read("test-secret", p)
	refused(t, "unreadable (mode 0200)", got, err, backend.ErrAuthentication, p, "permission denied")
}

func TestTrimNewline(t *testing.T) {
	if got := secretfile.TrimNewline([]byte("a\r\n")); !bytes.Equal(got, []byte("a")) {
		t.Errorf("TrimNewline(a\\r\\n) = %q", got)
	}
}
