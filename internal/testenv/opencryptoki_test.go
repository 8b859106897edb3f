//go:build linux

package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartOpencryptoki starts the opencryptoki kind, checks that the token
// is there as reported, and that Stop puts the machine's configuration and
// soft token state back as they were.
func TestStartOpencryptoki(t *testing.T) {
	// What Stop must put back: the configuration and pkcsslotd as they
	// are now, or, after a killed run (our configuration in place), what
	// that run saved and no pkcsslotd.
	confBefore, confErr := os.ReadFile(ockConf)
	_, machineSlotd := slotdPID() // the machine's own: stopped and started again under KEYPLANE_REQUIRE_TOOLS=1
	if strings.Contains(string(confBefore), ockMarker) {
		confBefore, confErr = os.ReadFile(filepath.Join(ockSaved, "opencryptoki.conf"))
		machineSlotd = false
	}
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
	if _, ok := slotdPID(); ok != machineSlotd {
		t.Errorf("pkcsslotd running after Stop: %v; want %v (as before Start)", ok, machineSlotd)
	}
	confAfter, err := os.ReadFile(ockConf)
	if confErr == nil && (err != nil || string(confAfter) != string(confBefore)) {
		t.Errorf("%s after Stop: %q, %v; want what was there before:\n%s", ockConf, confAfter, err, confBefore)
	}
	if exists(ockSaved) || exists(ockShm) || exists(filepath.Join(ockStore, "NVTOK.DAT")) {
		t.Errorf("left behind after Stop: %s %v, %s %v, %s/NVTOK.DAT %v", ockSaved, exists(ockSaved), ockShm, exists(ockShm), ockStore, exists(filepath.Join(ockStore, "NVTOK.DAT")))
	}
}
