package testenv

import (
	"os"
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
