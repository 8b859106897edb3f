//go:build linux

// Package nocoretest checks from the outside that a process called
// nocore.Disable: for tests of the programs that call it.
package nocoretest

import (
	"bufio"
	"fmt"
	"github.com/keyplane/keyplane/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// unprivileged is the uid and gid (nobody, nogroup) that Command runs a
// program as when the test runs as root.
const unprivileged = 65534

// Command returns a command running exe with args as a user other than
// root: as the test's own user, or as nobody (uid 65534) when the test runs
// as root. A non-dumpable process can only be told from a dumpable one when
// it does not run as root (its /proc files are owned by root instead of its
// user). exe is copied into a directory every user can read, so that nobody
// can run a test binary from go test's private build directory.
func Command(t testing.TB, exe string, args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copied := filepath.Join(dir, filepath.Base(exe))
	if err := testenv.CopyFile(copied, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copied, args...)
	cmd.Dir = dir
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged}}
	}
	return cmd
}

// State is what /proc says of a process's core dumps.
type State struct {
	// Dumpable is false when the process cleared its dumpable flag: its
	// /proc/<pid> files are owned by root although it runs as another
	// user.
	Dumpable bool
	// CoreSoft and CoreHard are RLIMIT_CORE ("Max core file size" in
	// /proc/<pid>/limits), as written there ("0", "unlimited").
	CoreSoft, CoreHard string
}

// Read returns the State of process pid, which must not run as root.
func Read(pid int) (State, error) {
	var s State
	status := fmt.Sprintf("/proc/%d/status", pid)
	data, err := os.ReadFile(status)
	if err != nil {
		return s, err
	}
	uid := -1
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				uid, _ = strconv.Atoi(f[0])
			}
		}
	}
	if uid <= 0 {
		return s, fmt.Errorf("%s: process runs as uid %d: a process running as root cannot be told dumpable or not", status, uid)
	}
	fi, err := os.Stat(status)
	if err != nil {
		return s, err
	}
	s.Dumpable = fi.Sys().(*syscall.Stat_t).Uid != 0

	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max core file size"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 2 {
				s.CoreSoft, s.CoreHard = fields[0], fields[1]
				return s, nil
			}
		}
	}
	return s, fmt.Errorf("/proc/%d/limits: no \"Max core file size\" line", pid)
}

// Check fails t unless process pid is not dumpable and has RLIMIT_CORE 0.
func Check(t testing.TB, pid int) {
	t.Helper()
	s, err := Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("process %d: dumpable %v, RLIMIT_CORE soft %s hard %s", pid, s.Dumpable, s.CoreSoft, s.CoreHard)
	if s.Dumpable {
		t.Errorf("process %d is dumpable (its /proc/%d/status is owned by its own user, not root)", pid, pid)
	}
	if s.CoreSoft != "0" || s.CoreHard != "0" {
		t.Errorf("process %d has RLIMIT_CORE soft %s hard %s, want 0 and 0", pid, s.CoreSoft, s.CoreHard)
	}
}
