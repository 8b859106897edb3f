//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/keyplane/keyplane/internal/testenv"
)

// keyplaneExe returns a "keyplane" link to this test binary, which then
// runs the CLI (TestMain), in a fresh directory.
func keyplaneExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "keyplane")
	if err := os.Symlink(self, exe); err != nil {
		t.Fatal(err)
	}
	return exe
}

// ptyRun runs the CLI on a new pseudo-terminal (its controlling terminal,
// and its stdin, stdout and stderr), types input once the prompt shows,
// and returns everything the terminal showed and the exit code. While the
// CLI waits at the prompt, its command line and environment are checked
// for secret.
func ptyRun(t *testing.T, exe string, env []string, input, secret string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("pty.Start: %v", err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil { // EIO once the child has exited
				return
			}
		}
	}()
	seen := func(s string) bool { mu.Lock(); defer mu.Unlock(); return strings.Contains(out.String(), s) }
	deadline := time.Now().Add(30 * time.Second)
	for !seen("PIN for PKCS#11 token") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			<-done
			t.Fatalf("no PIN prompt within 30s; the terminal showed:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, f := range []string{"cmdline", "environ"} {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the CLI's %s holds the PIN", f)
		}
	}
	if _, err := io.WriteString(tty, input+"\n"); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	<-done
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// TestPINPrompt runs keyplane on a pseudo-terminal with pin-source=prompt:
// it asks on the terminal, the typed PIN is not echoed and appears in no
// output, error, command line or environment, a signature made with it
// verifies, and a wrong PIN is an authentication failure, also unshown.
// Without a terminal, pin-source=prompt is a clear error.
func TestPINPrompt(t *testing.T) {
	tok := testenv.NewSoftHSMToken(t, t.TempDir(), "prompted")
	exe := keyplaneExe(t)
	// Debug logging on: the PIN must not be in the logs either.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SOFTHSM2_CONF=" + tok.Conf, "TERM=dumb", "KEYPLANE_LOG=debug"}
	fileURI := tok.URI(t)
	promptURI := "pkcs11:token=" + tok.Label + "?module-path=" + tok.Module + "&pin-source=prompt"
	dir := t.TempDir()
	msg := filepath.Join(dir, "msg")
	if err := os.WriteFile(msg, []byte("signed after typing the PIN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(exe, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("keyplane %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("--backend", fileURI, "keygen", "--label", "k", "--type", "ec-p256")

	sig := filepath.Join(dir, "sig")
	out, code := ptyRun(t, exe, env, tok.PIN, tok.PIN, "--backend", promptURI, "sign", "--key", "k", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig)
	if code != 0 {
		t.Fatalf("sign with pin-source=prompt: exit %d; the terminal showed:\n%s", code, out)
	}
	if strings.Contains(out, tok.PIN) {
		t.Errorf("the terminal shows the PIN (echo on?):\n%q", out)
	}
	if !strings.Contains(out, `PIN for PKCS#11 token "prompted": `) {
		t.Errorf("the prompt is not as documented:\n%q", out)
	}
	run("--backend", fileURI, "verify", "--key", "k", "--alg", "ecdsa-sha256", "--in", msg, "--sig", sig)

	const wrong = "97531"
	out, code = ptyRun(t, exe, env, wrong, wrong, "--backend", promptURI, "sign", "--key", "k", "--alg", "ecdsa-sha256", "--in", msg, "--out", sig)
	if code != 2 || !strings.Contains(out, "authentication failed") {
		t.Errorf("a wrong PIN typed: exit %d, want 2 and an authentication failure:\n%s", code, out)
	}
	if strings.Contains(out, wrong) {
		t.Errorf("the terminal shows the wrong PIN:\n%q", out)
	}

	// No controlling terminal (a new session, stdin not a terminal).
	cmd := exec.Command(exe, "--backend", promptURI, "list")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = strings.NewReader(tok.PIN + "\n")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "pin-source=prompt needs a terminal") {
		t.Errorf("pin-source=prompt without a terminal: %v\n%s\nwant a clear error", err, b)
	}
	if strings.Contains(string(b), tok.PIN) {
		t.Errorf("output shows the PIN: %s", b)
	}
}
