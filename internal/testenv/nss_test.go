package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartNSS starts the nss kind and checks what it reports: a new
// database in its directory and the init args that open it.
func TestStartNSS(t *testing.T) {
	in := StartToken(t, "nss")
	if in.Kind != "nss" || in.Module != NSSModule || in.Label != "keyplane" || in.PIN == "" || len(in.Env) != 0 {
		t.Fatalf("instance = %+v", in)
	}
	db := filepath.Join(in.Dir, "nssdb")
	for _, f := range []string{"cert9.db", "key4.db"} {
		if _, err := os.Stat(filepath.Join(db, f)); err != nil {
			t.Errorf("certutil -N made no %s: %v", f, err)
		}
	}
	if want := "configdir='sql:" + db + "' "; !strings.HasPrefix(in.InitArgs, want) || !strings.HasSuffix(in.InitArgs, " dbTokenDescription='keyplane'") {
		t.Errorf("InitArgs = %q", in.InitArgs)
	}
	if _, err := os.Stat(filepath.Join(in.Dir, "certutil-pin")); !os.IsNotExist(err) {
		t.Errorf("the PIN file for certutil was left behind: %v", err)
	}
	if u := in.URI("/tmp/pin"); !strings.Contains(u, "module-init-args=configdir%3D%27sql%3A") || !strings.HasPrefix(u, "pkcs11:token=keyplane?module-path="+NSSModule+"&") {
		t.Errorf("URI = %q", u)
	}
}
