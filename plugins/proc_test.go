package plugins_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/plugins"
)

// proc is a child process of the test, read from /proc.
type proc struct {
	pid   int
	comm  string
	state string // R, S, Z (zombie), ...
}

// children lists the test process's children from /proc/<pid>/stat.
func children(t *testing.T) []proc {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, f, err := plugins.ProcStat(pid)
		if err != nil || len(f) < 2 {
			continue // exited meanwhile
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != self {
			continue
		}
		out = append(out, proc{pid: pid, comm: comm, state: f[0]})
	}
	return out
}

// waitChildren polls until the test's children are exactly the live
// processes in want (no zombie, no other child), or fails after 10s.
func waitChildren(t *testing.T, want ...int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := children(t)
		ok := len(got) == len(want)
		for _, c := range got {
			if c.state == "Z" || !slices.Contains(want, c.pid) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("children of the test process: got %+v, want exactly the live processes %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func procAlive(pid int) bool {
	_, f, err := plugins.ProcStat(pid)
	return err == nil && len(f) > 0 && f[0] != "Z"
}
