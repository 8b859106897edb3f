package sshagent

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSocketCreatedPrivate: on Linux the socket file is 0600 from the
// moment it exists, whatever the umask, not only after Listen's chmod; a
// client racing the chmod (or a test's `perm 0600` right after the file
// appears) never sees a wider mode.
func TestSocketCreatedPrivate(t *testing.T) {
	old := syscall.Umask(0) // the widest: the socket would be 0777
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := listenUnix(path) // bind and listen only, no chmod
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("%s is %v, not a socket", path, fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("socket created with mode %#o under umask 0, want 0600", perm)
	}
}
