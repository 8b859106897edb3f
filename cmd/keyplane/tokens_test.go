package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/internal/testenv"
)

// softHSMForTokens makes a SoftHSM2 token for the tokens command's tests
// and sets SOFTHSM2_CONF, which the probe children inherit.
func softHSMForTokens(t *testing.T, label string) *testenv.Token {
	t.Helper()
	if !haveCgo {
		t.Skip("needs a cgo build (the pkcs11 backend needs cgo)")
	}
	return testenv.SoftHSMToken(t, label)
}

// TestTokensJSONShape pins the --json shape (docs/cli.md): the keys at
// every level, and what the SoftHSM2 token is listed with.
func TestTokensJSONShape(t *testing.T) {
	tok := softHSMForTokens(t, "shape")
	code, stdout, stderr := runCLI(t, "", "tokens", "--module", tok.Module, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%T is not an object", v)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	first := func(v any) any {
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			t.Fatalf("%v is not a non-empty array", v)
		}
		return a[0]
	}
	if got := keys(raw); got != "modules" {
		t.Errorf("top level keys %q", got)
	}
	mod := first(raw["modules"]).(map[string]any)
	if got, want := keys(mod), "library path slots sources"; got != want {
		t.Errorf("module keys %q, want %q", got, want)
	}
	if got, want := keys(mod["library"]), "cryptoki_version description manufacturer version"; got != want {
		t.Errorf("library keys %q, want %q", got, want)
	}
	var slot, token map[string]any
	for _, s := range mod["slots"].([]any) {
		if tk, ok := s.(map[string]any)["token"].(map[string]any); ok && tk["label"] == tok.Label {
			slot, token = s.(map[string]any), tk
		}
	}
	if token == nil {
		t.Fatalf("token %q not listed:\n%s", tok.Label, stdout)
	}
	if got, want := keys(slot), "description firmware_version flags hardware_version id manufacturer token"; got != want {
		t.Errorf("slot keys %q, want %q", got, want)
	}
	if got, want := keys(token), "algorithms firmware_version flags hardware_version key_agreement label manufacturer max_pin_len max_sessions mechanisms min_pin_len model operations post_quantum serial uri"; got != want {
		t.Errorf("token keys %q, want %q", got, want)
	}
	var mech map[string]any
	for _, m := range token["mechanisms"].([]any) {
		if m.(map[string]any)["name"] == "ECDSA" {
			mech = m.(map[string]any)
		}
	}
	if mech == nil {
		t.Fatal("no ECDSA mechanism listed")
	}
	if got, want := keys(mech), "code flags keyplane max_key_size min_key_size name"; got != want {
		t.Errorf("mechanism keys %q, want %q", got, want)
	}

	var l tokensListing
	if err := json.Unmarshal([]byte(stdout), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Modules) != 1 || l.Modules[0].Path != tok.Module || !slices.Equal(l.Modules[0].Sources, []string{"command line"}) || l.Modules[0].Error != "" {
		t.Fatalf("modules = %+v", l.Modules)
	}
	if got, want := token["uri"], "pkcs11:token=shape?module-path="+tok.Module; got != want {
		t.Errorf("uri %q, want %q", got, want)
	}
	if !slices.Contains(toStrings(token["algorithms"]), "ec-p256") || !slices.Contains(toStrings(mech["keyplane"]), "ecdsa-sha256") {
		t.Errorf("token algorithms %v, ECDSA used for %v", token["algorithms"], mech["keyplane"])
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestTokensTable: the table names the module, the token, its flags and
// URI, and the mechanisms keyplane uses.
func TestTokensTable(t *testing.T) {
	tok := softHSMForTokens(t, "table")
	code, stdout, stderr := runCLI(t, "", "tokens", "--module", tok.Module)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"module " + tok.Module + "\n",
		"  library: Implementation of PKCS11, SoftHSM ",
		`    token "table": SoftHSM project SoftHSM v2, serial "`,
		"      flags: rng, login-required, user-pin-initialized, restore-key-not-needed, token-initialized\n",
		"      uri: pkcs11:token=table?module-path=" + tok.Module + "\n",
		"(add &pin-source=file:/path/to/pin to log in)",
		"      key types: rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ec-p521, ed25519, aes-256, fernet\n",
		"      uri: none (the token is not initialized)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "        EDDSA ") {
		t.Errorf("table lacks the EDDSA mechanism line:\n%s", stdout)
	}
}

// TestTokensFaultyModules: a module that crashes its process and one that
// never returns are each listed with the error, within the deadline, and
// the good module next to them is listed in full.
func TestTokensFaultyModules(t *testing.T) {
	tok := softHSMForTokens(t, "faults")
	crash := testenv.FaultyModule(t, "crash")
	hang := testenv.FaultyModule(t, "hang")
	start := time.Now()
	code, stdout, stderr := runCLI(t, "", "tokens", "--timeout", "3s", "--json",
		"--module", crash, "--module", hang, "--module", tok.Module)
	elapsed := time.Since(start)
	if code != exitFailed {
		t.Errorf("exit %d, want %d (a --module failed); stderr %s", code, exitFailed, stderr)
	}
	if !strings.Contains(stderr, "module "+crash) {
		t.Errorf("stderr %q does not name the first failed module", stderr)
	}
	// The three probes run at once: the hang costs the timeout once.
	if elapsed > 3*time.Second+10*time.Second {
		t.Errorf("took %v with a 3s timeout", elapsed)
	}
	var l tokensListing
	if err := json.Unmarshal([]byte(stdout), &l); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(l.Modules) != 3 {
		t.Fatalf("%d modules listed, want 3", len(l.Modules))
	}
	if m := l.Modules[0]; m.Path != crash || !strings.Contains(m.Error, "ended without a result") || !strings.Contains(m.Error, "SIGSEGV: segmentation violation") {
		t.Errorf("crashing module listed as %+v", m)
	}
	if m := l.Modules[1]; m.Path != hang || !strings.Contains(m.Error, "no answer within 3s") {
		t.Errorf("hanging module listed as %+v", m)
	}
	if m := l.Modules[2]; m.Error != "" || m.Library == nil || len(m.Slots) == 0 {
		t.Errorf("SoftHSM2 listed as %+v", m)
	}
}

// TestTokensRedactsConfigInitArgs: init args read from a p11-kit module
// file are never printed, in the table, the JSON or an error; init args
// given on the command line are.
func TestTokensRedactsConfigInitArgs(t *testing.T) {
	softHSMForTokens(t, "redact")
	const secret = "password=hunter2-do-not-show"
	conf := t.TempDir()
	notModule := filepath.Join(t.TempDir(), "libnotmodule.so")
	if err := os.WriteFile(notModule, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two modules as pkcs11.FindModules reports p11-kit module files with
	// x-init-reserved (its own test reads such files).
	var found []pkcs11.ModuleFile
	for _, m := range [][2]string{{"a-softhsm.module", testenv.SoftHSMModule}, {"b-broken.module", notModule}} {
		found = append(found, pkcs11.ModuleFile{Path: m[1], Sources: []string{"p11-kit:" + filepath.Join(conf, m[0])}, InitArgs: secret})
	}
	saved := findModules
	t.Cleanup(func() { findModules = saved })
	findModules = func() []pkcs11.ModuleFile { return found }

	for _, args := range [][]string{{"tokens"}, {"tokens", "--json"}} {
		code, stdout, stderr := runCLI(t, "", args...)
		if code != 0 {
			t.Errorf("%q: exit %d: %s", args, code, stderr)
		}
		if strings.Contains(stdout+stderr, "hunter2") {
			t.Errorf("%q shows the init args:\n%s%s", args, stdout, stderr)
		}
		if !strings.Contains(stdout, testenv.SoftHSMModule) || !strings.Contains(stdout, notModule) {
			t.Errorf("%q does not list both modules:\n%s", args, stdout)
		}
		if !strings.Contains(stdout, pkcs11.RedactedInitArgs) {
			t.Errorf("%q does not say the init args are redacted:\n%s", args, stdout)
		}
	}

	// Given by the user, they are shown as given.
	code, stdout, stderr := runCLI(t, "", "tokens", "--module", notModule, "--module-init-args", secret)
	if code != exitFailed || !strings.Contains(stdout, "  init args: "+secret+"\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
}

// TestTokensUsage: --module-init-args belongs to a --module.
func TestTokensUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tokens", "--module-init-args", "x"}, "must follow the --module"},
		{[]string{"tokens", "--module", "relative.so"}, "want an absolute path"},
		{[]string{"tokens", "--module", "/a.so", "--module-init-args", "x", "--module-init-args", "y"}, "given twice"},
		{[]string{"tokens", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		code, _, stderr := runCLI(t, "", tt.args...)
		if code != exitError || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestTokensInProcessHang: with --in-process, a module that never returns
// is listed with the error at the deadline, and keyplane exits. It runs
// keyplane as a child: the hung call stays behind in the process, holding
// the lock modules are loaded under.
func TestTokensInProcessHang(t *testing.T) {
	if !haveCgo {
		t.Skip("needs a cgo build (the pkcs11 backend needs cgo)")
	}
	hang := testenv.FaultyModule(t, "hang")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "tokens", "--in-process", "--timeout", "1s", "--json", "--module", hang)
	cmd.Args[0] = "keyplane" // TestMain runs the CLI under this name
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed {
		t.Fatalf("exit: %v, want status %d; stderr %s", err, exitFailed, stderr.String())
	}
	if elapsed > 1*time.Second+10*time.Second {
		t.Errorf("took %v with a 1s timeout", elapsed)
	}
	var l tokensListing
	if err := json.Unmarshal([]byte(stdout.String()), &l); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(l.Modules) != 1 || !strings.Contains(l.Modules[0].Error, "did not answer in time") || !strings.Contains(l.Modules[0].Error, "no answer within 1s") {
		t.Errorf("listing %+v", l.Modules)
	}
}
