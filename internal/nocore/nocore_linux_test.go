package nocore_test

import (
	"bufio"
	"fmt"
	"os"
	"testing"

	"github.com/keyplane/keyplane/internal/nocore"
	"github.com/keyplane/keyplane/internal/nocore/nocoretest"
)

// childEnv makes the test binary the child of TestDisable: it calls
// Disable (when asked), says "ready", and waits for its stdin to close.
const childEnv = "NOCORE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "disable":
		if err := nocore.Disable(); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fallthrough
	case "plain":
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts the test binary as a child in mode (plain or disable) and
// returns its state as /proc shows it.
func child(t *testing.T, mode string) nocoretest.State {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := nocoretest.Command(t, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("child (%s) said %q, not ready", mode, line)
	}
	s, err := nocoretest.Read(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDisable(t *testing.T) {
	// Without Disable the same child is dumpable: the check can fail.
	if s := child(t, "plain"); !s.Dumpable {
		t.Fatalf("a child that did not call Disable reads as not dumpable (%+v): the check tells nothing", s)
	}
	s := child(t, "disable")
	if s.Dumpable {
		t.Errorf("after Disable the child is still dumpable")
	}
	if s.CoreSoft != "0" || s.CoreHard != "0" {
		t.Errorf("after Disable RLIMIT_CORE is soft %s hard %s, want 0 and 0", s.CoreSoft, s.CoreHard)
	}
}
