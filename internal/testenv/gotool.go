//go:build linux

package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BuildToolsEnv is the variable that lets GoTool build a missing tool
// when tools are not required (KEYPLANE_REQUIRE_TOOLS=1 builds it anyway).
const BuildToolsEnv = "KEYPLANE_BUILD_TOOLS"

// GoTool returns the path of a Go program that a test runs as a real peer
// (cosign), built with `go install pkg@version` into
// <os.UserCacheDir()>/keyplane-test-tools/<name>-<version>/, where it stays
// between test runs: the build takes minutes (cosign v3.1.3: about 3 on
// two cores), a run of the test seconds. Concurrent test processes build
// it once: the first takes a lock, the others wait for it.
//
// When the program is not built yet, GoTool builds it if
// KEYPLANE_REQUIRE_TOOLS=1 or KEYPLANE_BUILD_TOOLS=1 is set (a failed
// build fails t), and otherwise skips t saying how to build it.
func GoTool(t testing.TB, pkg, version string) string {
	t.Helper()
	name := path.Base(pkg)
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for %s: %v", name, err)
	}
	dir := filepath.Join(cache, "keyplane-test-tools", name+"-"+version)
	exe := filepath.Join(dir, name)
	if isExecutable(exe) {
		return exe
	}
	if !Required() && os.Getenv(BuildToolsEnv) != "1" {
		t.Skipf("%s %s is not built in %s; skipping (set %s=1 or %s=1 to build it: go install %s@%s, a few minutes)",
			name, version, dir, BuildToolsEnv, RequireEnv, pkg, version)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building %s %s needs the go command: %v", name, version, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := lockFile(filepath.Join(dir, ".lock"), 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if isExecutable(exe) { // another process built it while this one waited
		return exe
	}
	// Build into a temporary GOBIN and rename: a build that dies halfway
	// leaves no executable for the next run to trust. What such a build
	// left (its process killed, e.g. by go test's -timeout) goes now: the
	// lock says no other build is running.
	if stale, _ := filepath.Glob(filepath.Join(dir, "build-*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && time.Until(dl) < 10*time.Minute {
			t.Logf("building %s %s with %s left before the test's -timeout; a cold build can take longer", name, version, time.Until(dl).Round(time.Second))
		}
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	cmd := exec.Command(goCmd, "install", pkg+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", pkg, version, err, strings.TrimSpace(out.String()))
	}
	if err := os.Rename(filepath.Join(tmp, name), exe); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s %s in %s (%s)", name, version, time.Since(start).Round(time.Second), exe)
	return exe
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
