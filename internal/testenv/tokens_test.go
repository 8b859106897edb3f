package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartSoftHSM starts the SoftHSM2 kind and checks what it reports.
func TestStartSoftHSM(t *testing.T) {
	in := StartToken(t, "softhsm2")
	if in.Module != SoftHSMModule || in.Label != "keyplane" || in.PIN == "" {
		t.Fatalf("instance = %+v", in)
	}
	if len(in.Env) != 1 || !strings.HasPrefix(in.Env[0], "SOFTHSM2_CONF=") {
		t.Fatalf("Env = %q", in.Env)
	}
	conf := strings.TrimPrefix(in.Env[0], "SOFTHSM2_CONF=")
	if _, err := os.Stat(conf); err != nil {
		t.Fatal(err)
	}
	u := in.URI("/tmp/pin")
	if want := "pkcs11:token=keyplane?module-path=" + SoftHSMModule + "&pin-source=file:/tmp/pin"; u != want {
		t.Fatalf("URI = %q, want %q", u, want)
	}
	in.InitArgs = "configdir='sql:/x y'"
	if u := in.URI(""); !strings.Contains(u, "module-init-args=configdir%3D%27sql%3A%2Fx%20y%27") {
		t.Fatalf("URI with init args = %q", u)
	}
}

func TestTokenKindsSorted(t *testing.T) {
	ks := TokenKinds()
	for i := 1; i < len(ks); i++ {
		if ks[i-1].Name >= ks[i].Name {
			t.Fatalf("kinds not sorted: %q before %q", ks[i-1].Name, ks[i].Name)
		}
	}
}

// TestStartOpencryptoki starts the opencryptoki kind, checks that the token
// is there as reported, and that Stop puts the machine's configuration and
// soft token state back as they were.
func TestStartOpencryptoki(t *testing.T) {
	confBefore, confErr := os.ReadFile(ockConf)
	in := StartToken(t, "opencryptoki")
	if in.Module != OpencryptokiModule || in.Label != "keyplane" || in.PIN == "" {
		t.Fatalf("instance = %+v", in)
	}
	conf, err := os.ReadFile(ockConf)
	if err != nil || !strings.Contains(string(conf), ockMarker) {
		t.Fatalf("%s during the instance: %q, %v", ockConf, conf, err)
	}
	if _, ok := slotdPID(); !ok {
		t.Fatal("pkcsslotd is not running")
	}
	out := Run(t, "pkcsconf", "-t", "-c", "3")
	if !strings.Contains(string(out), "Label: keyplane") || !strings.Contains(string(out), "TOKEN_INITIALIZED") {
		t.Fatalf("pkcsconf -t:\n%s", out)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := slotdPID(); ok {
		t.Error("pkcsslotd still running after Stop")
	}
	confAfter, err := os.ReadFile(ockConf)
	if confErr == nil && (err != nil || string(confAfter) != string(confBefore)) {
		t.Errorf("%s after Stop: %q, %v; want what was there before:\n%s", ockConf, confAfter, err, confBefore)
	}
	if exists(ockSaved) || exists(ockShm) || exists(filepath.Join(ockStore, "NVTOK.DAT")) {
		t.Errorf("left behind after Stop: %s %v, %s %v, %s/NVTOK.DAT %v", ockSaved, exists(ockSaved), ockShm, exists(ockShm), ockStore, exists(filepath.Join(ockStore, "NVTOK.DAT")))
	}
}
