//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// outFixture is a keystore with one ec-p256 key, "k", for commands that
// write --out files: pubkey (public, 0644) and export --no-passphrase
// (a secret, 0600).
type outFixture struct {
	t       *testing.T
	dir     string
	backend string
}

func newOutFixture(t *testing.T) *outFixture {
	dir := t.TempDir()
	f := &outFixture{t: t, dir: dir, backend: "software:" + filepath.Join(dir, "keys")}
	if code, _, stderr := runCLI(t, "", "--backend", f.backend, "keygen", "--label", "k", "--type", "ec-p256"); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	return f
}

// export runs export --no-passphrase --out path with extra flags, and
// gives up waiting after 10 s (writing into a FIFO blocks until a reader
// comes).
func (f *outFixture) export(path string, extra ...string) (code int, stderr string, blocked bool) {
	f.t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		args := append([]string{"--backend", f.backend, "export", "--key", "k", "--no-passphrase", "--out", path}, extra...)
		code, _, stderr := runCLI(f.t, "", args...)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr, false
	case <-time.After(10 * time.Second):
		return 0, "", true
	}
}

// noDebris fails when a temporary file was left in dir.
func noDebris(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// TestOutRefusesPlantedFIFO: a FIFO at the --out path (planted in a
// shared directory by its owner) is neither opened nor written: the
// command fails at once, naming it.
func TestOutRefusesPlantedFIFO(t *testing.T) {
	f := newOutFixture(t)
	fifo := filepath.Join(f.dir, "key.pem")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	code, stderr, blocked := f.export(fifo)
	if blocked {
		// Unblock the writer and see what it handed over.
		r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 4096)
		n, _ := r.Read(got)
		r.Close()
		t.Fatalf("export --out FIFO blocked opening it for writing, then wrote %d bytes into it (%.27q...)", n, got[:n])
	}
	if code != exitError || !strings.Contains(stderr, "not a regular file") {
		t.Fatalf("export --out FIFO: exit %d, stderr %q; want %d and \"not a regular file\"", code, stderr, exitError)
	}
	noDebris(t, f.dir)
}

// TestOutRefusesSymlink: a symbolic link at the --out path — to a
// victim's file, or dangling — is refused, with or without --force; the
// victim's file and the link are left as they were.
func TestOutRefusesSymlink(t *testing.T) {
	f := newOutFixture(t)
	victim := filepath.Join(f.dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("the victim's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{victim, filepath.Join(f.dir, "absent", "x")} {
		link := filepath.Join(f.dir, "link.pem")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		for _, extra := range [][]string{nil, {"--force"}} {
			code, stderr, _ := f.export(link, extra...)
			if code != exitError || !strings.Contains(stderr, "symbolic link") {
				t.Errorf("--out symlink to %s %v: exit %d, stderr %q; want %d and \"symbolic link\"", target, extra, code, stderr, exitError)
			}
			if got, _ := os.ReadFile(victim); string(got) != "the victim's file\n" {
				t.Fatalf("the victim's file now holds %.40q", got)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
			}
		}
	}
	noDebris(t, f.dir)
}

// TestOutExistingFile: an existing file is replaced only with --force,
// and then takes the secret's mode (0600) whatever its old mode.
func TestOutExistingFile(t *testing.T) {
	f := newOutFixture(t)
	out := filepath.Join(f.dir, "key.pem")
	if err := os.WriteFile(out, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr, _ := f.export(out)
	if code != exitError || !strings.Contains(stderr, "exists") || !strings.Contains(stderr, "--force") {
		t.Errorf("existing file without --force: exit %d, stderr %q; want %d, \"exists\" and \"--force\"", code, stderr, exitError)
	}
	if got, _ := os.ReadFile(out); string(got) != "keep me\n" {
		t.Fatalf("the file was overwritten without --force: %.40q", got)
	}
	code, stderr, _ = f.export(out, "--force")
	if code != 0 {
		t.Fatalf("--force: exit %d, %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	if !bytes.HasPrefix(got, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatalf("--force wrote %.40q", got)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced secret file has mode %04o, want 0600", fi.Mode().Perm())
	}
	// Directories and other non-regular files are refused with --force too.
	code, stderr, _ = f.export(f.dir, "--force")
	if code != exitError || !strings.Contains(stderr, "not a regular file") {
		t.Errorf("--out DIR --force: exit %d, stderr %q", code, stderr)
	}
	noDebris(t, f.dir)
}

// TestOutOwnedByAnotherUser: a file that another user owns is refused,
// even with --force (as root the test chowns it to nobody).
func TestOutOwnedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	f := newOutFixture(t)
	out := filepath.Join(f.dir, "theirs.pem")
	if err := os.WriteFile(out, []byte("theirs\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(out, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--force"}} {
		code, stderr, _ := f.export(out, extra...)
		if code != exitError || !strings.Contains(stderr, "owned by another user") {
			t.Errorf("--out file of uid 65534 %v: exit %d, stderr %q; want %d and \"owned by another user\"", extra, code, stderr, exitError)
		}
	}
	if got, _ := os.ReadFile(out); string(got) != "theirs\n" {
		t.Fatalf("another user's file was overwritten: %.40q", got)
	}
}

// TestOutNewFiles: new files are created with the mode of what they hold
// (0600 secrets, 0644 public material), whatever the umask allows; a
// failed command leaves no file.
func TestOutNewFiles(t *testing.T) {
	f := newOutFixture(t)
	secret := filepath.Join(f.dir, "new.pem")
	if code, stderr, _ := f.export(secret); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	pub := filepath.Join(f.dir, "new.pub")
	if code, _, stderr := runCLI(t, "", "--backend", f.backend, "pubkey", "--key", "k", "--out", pub); code != 0 {
		t.Fatalf("pubkey: %s", stderr)
	}
	for path, want := range map[string]os.FileMode{secret: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	// A failure (no such key) creates nothing.
	failed := filepath.Join(f.dir, "failed.pem")
	if code, _, _ := runCLI(t, "", "--backend", f.backend, "export", "--key", "nope", "--no-passphrase", "--out", failed); code == 0 {
		t.Fatal("export of a missing key succeeded")
	}
	if _, err := os.Lstat(failed); err == nil {
		t.Errorf("a failed export left %s", failed)
	}
	noDebris(t, f.dir)
}
