package plugins_test

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/plugins"
)

// Built once per test process by TestMain, from this checkout's source.
var (
	testExe    string // this test binary, which serves testplugin_test.go's backend as a plugin
	pluginExe  string // keyplane-plugin
	exampleExe string // examples/plugin-memory
	exampleSum string // its SHA-256, hex
)

func TestMain(m *testing.M) {
	if os.Getenv(plugins.Handshake().MagicCookieKey) == plugins.Handshake().MagicCookieValue {
		// Started by a host as a plugin (testplugin_test.go).
		plugins.ServeOpen(openTestPlugin)
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run() // a fuzz worker runs only FuzzServer, which needs no executable
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testExe = self
	dir, err := os.MkdirTemp("", "keyplane-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginExe = filepath.Join(dir, plugins.ExecutableName)
	exampleExe = filepath.Join(dir, "plugin-memory")
	for exe, pkg := range map[string]string{
		pluginExe:  "github.com/keyplane/keyplane/plugins/cmd/keyplane-plugin",
		exampleExe: "github.com/keyplane/keyplane/examples/plugin-memory",
	} {
		if err := goBuild(exe, pkg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	exampleSum, err = fileSHA256(exampleExe)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The package reads no variable of its own: FindExecutable finds
	// keyplane-plugin on $PATH (the CLI would set Options.Path from
	// $KEYPLANE_PLUGIN_PATH).
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return m.Run()
}

func goBuild(out, pkg string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %s: the go command is not on PATH: %v", pkg, err)
	}
	cmd := exec.Command(gobin, "build", "-o", out, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -o %s %s: %v", out, pkg, err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
