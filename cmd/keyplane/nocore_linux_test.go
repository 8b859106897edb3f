package main

import (
	"github.com/keyplane/keyplane/internal/testenv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/nocore/nocoretest"
)

// TestNoCoreDumps runs the keyplane executable (this test binary under
// the name keyplane, as the scripts do) while it waits on stdin, and reads
// from /proc that it turned core dumps off: not dumpable, RLIMIT_CORE 0.
func TestNoCoreDumps(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(t.TempDir(), "keyplane")
	if err := testenv.CopyFile(named, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := nocoretest.Command(t, named, "import", "--label", "waiting", "--in", "-")
	cmd.Env = []string{"KEYPLANE_BACKEND=software:memory", "HOME=" + cmd.Dir}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	// keyplane turns dumps off before it parses its arguments; it is then
	// blocked reading stdin. Wait for that (a bounded wait: 10 s) rather
	// than reading /proc before main has run.
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	var s nocoretest.State
	for {
		s, err = nocoretest.Read(pid)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Dumpable && s.CoreSoft == "0" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	nocoretest.Check(t, pid)
}
