package plugins_test

import (
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/plugins"
)

// TestChildNoCoreDumps: a plugin child may dump no core. keyplane-plugin's
// /proc/<pid>/limits shows a core file limit of 0 (soft and hard), and the
// test plugin, which calls the same ServeOpen, reports from inside itself
// that it is not dumpable (PR_GET_DUMPABLE 0).
func TestChildNoCoreDumps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("core dumps are turned off on Linux only")
	}
	_, p := openPlugin(t, "plugin+software:memory", plugins.Options{})
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID()) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^Max core file size\s+(\S+)\s+(\S+)`).FindSubmatch(limits); m == nil || string(m[1]) != "0" || string(m[2]) != "0" {
		t.Errorf("keyplane-plugin's core file limit: %q, want 0 0\n%s", m, limits)
	}

	b, _ := openPlugin(t, "plugin:"+testExe+"?dir="+t.TempDir(), plugins.Options{})
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(caps.Notes, "dumpable=0 core-limit=0/0") {
		t.Errorf("the test plugin reports %q, want a note dumpable=0 core-limit=0/0", caps.Notes)
	}
}
