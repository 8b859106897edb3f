package testenv

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestStartTPM2 starts the tpm2 kind, checks that the token answers with
// its label through the module, and that Stop leaves no daemon running.
func TestStartTPM2(t *testing.T) {
	tool := Command(t, "pkcs11-tool", "opensc")
	in := StartToken(t, "tpm2")
	if in.Module != TPM2Module || in.Label != "keyplane" || in.PIN == "" || in.SOPIN == "" {
		t.Fatalf("instance = %+v", in)
	}
	var names []string
	for _, kv := range in.Env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"DBUS_SESSION_BUS_ADDRESS", "TPM2_PKCS11_LOG_LEVEL", "TPM2_PKCS11_STORE", "TPM2_PKCS11_TCTI"}; !slices.Equal(names, want) {
		t.Fatalf("Env names = %q, want %q", names, want)
	}
	if len(in.PIDs) != 3 {
		t.Fatalf("PIDs = %v, want swtpm, dbus-daemon and tpm2-abrmd", in.PIDs)
	}
	cmd := exec.Command(tool, "--module", in.Module, "--token-label", in.Label, "--login", "--pin", in.PIN, "-O")
	cmd.Env = append(cmd.Environ(), in.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool -O on the token: %v\n%s", err, out)
	}
	if err := in.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range in.PIDs {
		// Each daemon led its own process group: the group must be empty.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still has a process after Stop (kill -0: %v)", pid, err)
		}
	}
	if err := in.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

// TestStartTPM2Twice: two instances at once get their own ports and buses.
func TestStartTPM2Twice(t *testing.T) {
	a := StartToken(t, "tpm2")
	b := StartToken(t, "tpm2")
	if slices.Equal(a.Env, b.Env) {
		t.Fatalf("two instances share an environment: %q", a.Env)
	}
}
