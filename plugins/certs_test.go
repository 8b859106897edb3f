package plugins_test

import (
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestCertificatesWhenTheChildHasThem: the host is always a
// backend.CertificateStore (docs/decisions.md, "Wrappers and the extension
// interfaces"); Capabilities.Certificates says whether it works. The
// software keystore through keyplane-plugin stores certificates; the test
// plugin wraps a keystore in a type that hides its optional interfaces
// (while passing on its capability report): there the report says false
// and every method is ErrUnsupported.
func TestCertificatesWhenTheChildHasThem(t *testing.T) {
	ctx := t.Context()
	withCerts, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	caps, err := withCerts.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Certificates {
		t.Errorf("plugin+software:memory: Capabilities.Certificates is false")
	}

	without, _ := openPlugin(t, "plugin:"+testExe+"?dir="+t.TempDir(), plugins.Options{})
	if caps, err = without.Capabilities(ctx); err != nil {
		t.Fatal(err)
	}
	if caps.Certificates {
		t.Errorf("a plugin whose backend stores no certificates: Capabilities.Certificates is true")
	}
	if _, err := without.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	cs, ok := without.(backend.CertificateStore)
	if !ok {
		t.Fatalf("the plugin host is not a backend.CertificateStore")
	}
	if _, err := cs.Certificates(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Certificates through a plugin whose backend has none: %v, want ErrUnsupported", err)
	}
	if err := cs.DeleteCertificates(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("DeleteCertificates through a plugin whose backend has none: %v, want ErrUnsupported", err)
	}
}
