package plugins_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []proc
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if ppid != self {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		out = append(out, proc{pid: pid, comm: s[open+1 : close], state: f[0]})
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
			if c.state == "Z" || !contains(want, c.pid) {
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

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func procAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
