package secretstest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// pluginChildren returns the PIDs of the test process's children whose
// executable is exe, from /proc.
func pluginChildren(t *testing.T, exe string) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != self {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(s)[0])
		link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if err != nil || strings.TrimSuffix(link, " (deleted)") != exe {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// checkChild finds the plugin's child process by scanning /proc, checks
// that it is the one the host reports, and checks its environment and
// command line for secrets and for the host variables that hold them. It
// returns the child's PID.
func checkChild(t *testing.T, chk *checker, where string, b backend.Backend, exe string) int {
	t.Helper()
	p, ok := plugins.AsPlugin(b)
	if !ok {
		t.Fatalf("%s: %T is not a plugin", where, b)
	}
	pid := p.PID()
	kids := pluginChildren(t, exe)
	if pid == 0 || !slices.Contains(kids, pid) {
		t.Fatalf("%s: the host reports plugin PID %d; children running %s: %v", where, pid, exe, kids)
	}
	for _, kid := range kids {
		dir := "/proc/" + strconv.Itoa(kid)
		environ, err := os.ReadFile(dir + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		cmdline, err := os.ReadFile(dir + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		vars := strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
		// Positive controls: this is the plugin's real environment (the
		// host sets the log level in it) and command line.
		if !slices.ContainsFunc(vars, func(v string) bool { return strings.HasPrefix(v, plugins.LogLevelEnv+"=") }) {
			t.Errorf("%s: child %d environment has no %s: not the plugin's environment? %q", where, kid, plugins.LogLevelEnv, chk.redact(strings.Join(vars, " ")))
		}
		if args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); len(args) == 0 || args[0] != exe {
			t.Errorf("%s: child %d command line %q does not start with %s", where, kid, chk.redact(string(cmdline)), exe)
		}
		for _, v := range vars {
			chk.text(t, kindEnviron, where+" child "+strconv.Itoa(kid), v)
			name, _, _ := strings.Cut(v, "=")
			if slices.Contains(hostSecretVars, name) {
				t.Errorf("LEAK: %s: the host's %s reached the plugin's environment", where, name)
			}
		}
		chk.text(t, kindCmdline, where+" child "+strconv.Itoa(kid), string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return pid
}

// hostSecretVars are set in the test's environment, with secrets as
// values, while plugins run; none may reach a plugin.
var hostSecretVars = []string{"KEYPLANE_PASSPHRASE", "KEYPLANE_IMPORT_PASSPHRASE", "KEYPLANE_EXPORT_PASSPHRASE", "HSM_USER_PIN"}

// kill sends SIGKILL to the plugin's child and waits until it is gone.
func kill(t *testing.T, b backend.Backend, wait bool) int {
	t.Helper()
	p, _ := plugins.AsPlugin(b)
	pid := p.PID()
	if pid == 0 {
		t.Fatal("no plugin process to kill")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); wait; {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			break // reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %d still there 10s after SIGKILL: %s", pid, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return pid
}

// afterCrash calls f until it returns anything but ErrUnavailable (the
// dead channel, until the host notices the crash), checking every error on
// the way, and returns the first other result. unavailable counts the
// ErrUnavailable errors seen.
func afterCrash(t *testing.T, chk *checker, where string, f func() error) (unavailable int, err error) {
	t.Helper()
	for range 50 {
		err = f()
		if err != nil {
			chk.err(t, where, err)
		}
		if !errors.Is(err, backend.ErrUnavailable) || strings.Contains(err.Error(), "opening the backend") {
			return unavailable, err
		}
		unavailable++
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: still ErrUnavailable after %d calls: %s", where, unavailable, chk.redact(err.Error()))
	return 0, nil
}
