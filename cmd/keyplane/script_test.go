package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the keyplane command: testscript
// copies it into $PATH as "keyplane", and when started under that name it
// runs the CLI instead of the tests (the way filippo.io/age's cmd/age tests
// work).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyplane": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/*.txtar. Each script
// starts with KEYPLANE_BACKEND set to a fresh software keystore in $WORK/keys.
//
// Scripts guard the parts that need outside tools with [tool:NAME] (an
// executable on PATH) and [pyca] (Debian's python3 with the cryptography
// package, as $PYTHON). Both are false when the tool is missing, unless
// KEYPLANE_REQUIRE_TOOLS=1: then a missing tool fails the script.
func TestScripts(t *testing.T) {
	if testenv.Required() {
		// Fail up front, with the install hint, rather than in a script.
		testenv.Command(t, "openssl", "openssl")
		testenv.Python(t)
	}
	python := findPython()
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
			case len(cond) > len("tool:") && cond[:len("tool:")] == "tool:":
				name := cond[len("tool:"):]
				_, err := exec.LookPath(name)
				return present(err == nil, name)
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"perm":     cmdPerm,
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
