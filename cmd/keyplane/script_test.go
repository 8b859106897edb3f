package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the keyplane command: testscript
// copies it into $PATH as "keyplane", and when started under that name it
// runs the CLI instead of the tests (the way filippo.io/age's cmd/age tests
// work). The command is main itself, so that the scripts run what users
// run (core dumps off included).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyplane": main,
	})
}

// TestScripts runs the end-to-end scripts in testdata/*.txtar. Each script
// starts with KEYPLANE_BACKEND set to a fresh software keystore in $WORK/keys.
//
// Scripts guard the parts that need outside tools with [tool:NAME] (an
// executable on PATH), [pyca] (Debian's python3 with the cryptography
// package, as $PYTHON) and [softhsm] (SoftHSM2, for softhsm-token). Both are false when the tool is missing, unless
// KEYPLANE_REQUIRE_TOOLS=1: then a missing tool fails the script.
func TestScripts(t *testing.T) {
	if testenv.Required() {
		// Fail up front, with the install hint, rather than in a script.
		testenv.Command(t, "openssl", "openssl")
		testenv.Python(t)
	}
	python := findPython()
	pluginExe := &pluginBuild{dir: t.TempDir()} // built at most once per run of TestScripts
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("KEYPLANE_BACKEND", "software:"+filepath.Join(e.WorkDir, "keys"))
			e.Setenv("PYTHON", python)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch {
			case cond == "pyca":
				return present(python != "", "python3 with the cryptography package (apt-get install -y python3-cryptography)")
			case cond == "softhsm":
				_, err := exec.LookPath("softhsm2-util")
				_, err2 := os.Stat(testenv.SoftHSMModule)
				if !haveCgo {
					return present(false, "a cgo build (the pkcs11 backend needs cgo)")
				}
				return present(err == nil && err2 == nil, "SoftHSM2 (apt-get install -y softhsm2)")
			case len(cond) > len("tool:") && cond[:len("tool:")] == "tool:":
				name := cond[len("tool:"):]
				_, err := exec.LookPath(name)
				return present(err == nil, name)
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":      cmdExitcode,
			"perm":          cmdPerm,
			"softhsm-token": cmdSoftHSMToken,
			"plugin-exe":    pluginExe.cmd,
			"waitfile":      cmdWaitfile,
		},
	})
}

// present reports a tool's presence to a script condition: a missing tool
// is an error when KEYPLANE_REQUIRE_TOOLS=1.
func present(ok bool, what string) (bool, error) {
	if !ok && testenv.Required() {
		return false, fmt.Errorf("%s is missing, and %s=1 requires it", what, testenv.RequireEnv)
	}
	return ok, nil
}

// findPython returns Debian's python3 when it imports cryptography, else "".
func findPython() string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err == nil && exec.Command(path, "-c", "import cryptography").Run() == nil {
			return path
		}
	}
	return ""
}

// cmdExitcode runs a program and checks its exit status:
//
//	exitcode N program [args...]
//
// Its stdout and stderr are kept for the stdout and stderr commands.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdPerm checks a file's permission bits:
//
//	perm 0600 file
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm MODE file")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("perm: %q is not an octal mode", args[0])
	}
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %04o, want %04o", args[1], got, want)
	}
}

// cmdSoftHSMToken makes a throwaway SoftHSM2 token in $WORK and points the
// script at it:
//
//	softhsm-token LABEL
//
// It sets SOFTHSM2_CONF, and HSM to a pkcs11: backend URI for the token
// with the user PIN in a 0600 file (pin-source=file:).
func cmdSoftHSMToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: softhsm-token LABEL")
	}
	util, err := exec.LookPath("softhsm2-util")
	ts.Check(err)
	dir := ts.MkAbs("softhsm-" + args[0])
	tok, err := testenv.CreateSoftHSMToken(util, dir, args[0])
	ts.Check(err)
	pin := filepath.Join(dir, "pin")
	ts.Check(os.WriteFile(pin, []byte(tok.PIN+"\n"), 0o600))
	ts.Setenv("SOFTHSM2_CONF", tok.Conf)
	ts.Setenv("HSM", fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, tok.Module, pin))
}

// pluginBuild builds keyplane-plugin from this checkout, at most once per
// run of TestScripts (into that run's temporary directory), for scripts
// that use plugin+ URIs:
//
//	plugin-exe
//
// sets KEYPLANE_PLUGIN_PATH to it.
type pluginBuild struct {
	dir  string
	once sync.Once
	path string
	err  error
}

func (p *pluginBuild) cmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: plugin-exe")
	}
	p.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			p.err = fmt.Errorf("building keyplane-plugin: the go command is not on PATH: %v", err)
			return
		}
		out := filepath.Join(p.dir, "keyplane-plugin")
		build := exec.Command(gobin, "build", "-o", out, "github.com/keyplane/keyplane/plugins/cmd/keyplane-plugin")
		if msg, err := build.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("building keyplane-plugin: %v\n%s", err, msg)
			return
		}
		p.path = out
	})
	ts.Check(p.err)
	ts.Setenv("KEYPLANE_PLUGIN_PATH", p.path)
}
