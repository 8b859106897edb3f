package main

import (
	"strings"
	"testing"
)

// TestWarnsOfSecretOnCommandLine (issue 12, B.7): a PIN in --backend or in
// a --key URI is readable by every user in /proc/<pid>/cmdline while
// keyplane runs; keyplane says so on stderr (without the PIN) and names
// the safe ways. KEYPLANE_BACKEND (environ, readable by the same user
// only) and arguments without a secret get no warning.
func TestWarnsOfSecretOnCommandLine(t *testing.T) {
	const pin = "987654"
	t.Setenv("KEYPLANE_BACKEND", "")
	for _, args := range [][]string{
		{"--backend", "nosuch:x?pin-value=" + pin, "list"},
		{"--backend=nosuch:x?pin-value=" + pin, "list"},
		{"--backend", "software:memory", "pubkey", "--key", "pkcs11:token=t;object=x?pin-value=" + pin},
	} {
		_, _, stderr := runCLI(t, "", args...)
		if strings.Contains(stderr, pin) {
			t.Errorf("%q: stderr shows the PIN: %q", args, stderr)
		}
		if !strings.Contains(stderr, "keyplane: warning: ") || !strings.Contains(stderr, "/proc/<pid>/cmdline") || !strings.Contains(stderr, "pin-source=file:") {
			t.Errorf("%q: stderr %q; want a warning that the command line shows the secret, naming pin-source=file:", args, stderr)
		}
	}
	for _, args := range [][]string{
		{"--backend", "software:memory", "list"},
		{"--backend", "software:memory", "pubkey", "--key", "pkcs11:token=t;object=x?pin-source=file:/p"},
	} {
		_, _, stderr := runCLI(t, "", args...)
		if strings.Contains(stderr, "warning") {
			t.Errorf("%q: a warning without a secret on the command line: %q", args, stderr)
		}
	}
	t.Setenv("KEYPLANE_BACKEND", "nosuch:x?pin-value="+pin)
	if _, _, stderr := runCLI(t, "", "list"); strings.Contains(stderr, "warning") {
		t.Errorf("KEYPLANE_BACKEND with a PIN: %q; the environment is not the command line", stderr)
	}
}
