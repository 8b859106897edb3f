package plugins_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestCertificateStoreOnlyWhenTheChildHasIt: the host's value implements
// backend.CertificateStore exactly when the plugin's backend does — the
// software keystore through keyplane-plugin does; the test plugin, which
// wraps a keystore in a type that hides its optional interfaces, does not
// (and then the certificate RPCs are never offered to callers).
func TestCertificateStoreOnlyWhenTheChildHasIt(t *testing.T) {
	withCerts, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	if _, ok := withCerts.(backend.CertificateStore); !ok {
		t.Errorf("plugin+software:memory: the host's backend is not a CertificateStore")
	}
	without, _ := openPlugin(t, "plugin:"+testExe+"?dir="+t.TempDir(), plugins.Options{})
	if _, ok := without.(backend.CertificateStore); ok {
		t.Errorf("a plugin whose backend stores no certificates: the host's backend is a CertificateStore")
	}
	if _, ok := without.(backend.Importer); ok {
		t.Errorf("the test plugin's backend hides Importer too; the host's value has it")
	}
}
