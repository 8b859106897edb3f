package plugins_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestHostAnswersWithoutInterface: on a plugin whose backend has none of
// the extension interfaces (the test plugin's keystore hidden behind
// backend.Backend), each extension method of the host answers
// ErrUnsupported naming the plugin and what its backend lacks.
func TestHostAnswersWithoutInterface(t *testing.T) {
	ctx := t.Context()
	_, p := openPlugin(t, "plugin:"+testExe+"?dir="+t.TempDir(), plugins.Options{})
	for _, c := range []struct {
		method, lacks string
		err           error
	}{
		{"KeyExchanger", "does no key agreement", func() error { _, err := p.KeyExchanger(ctx, "k"); return err }()},
		{"Decapsulator", "has no KEM keys", func() error { _, err := p.Decapsulator(ctx, "k"); return err }()},
		{"Certificates", "stores no certificates", func() error { _, err := p.Certificates(ctx, "k"); return err }()},
		{"StoreCertificates", "stores no certificates", p.StoreCertificates(ctx, "k", nil)},
		{"DeleteCertificates", "stores no certificates", p.DeleteCertificates(ctx, "k")},
		{"Rotate", "has no key versions", func() error { _, err := p.Rotate(ctx, "k"); return err }()},
		{"Versions", "has no key versions", func() error { _, err := p.Versions(ctx, "k"); return err }()},
		{"SetMinVersion", "has no key versions", p.SetMinVersion(ctx, "k", 1)},
		{"DeleteVersion", "has no key versions", p.DeleteVersion(ctx, "k", 1)},
	} {
		if !errors.Is(c.err, backend.ErrUnsupported) || !strings.Contains(c.err.Error(), ": the plugin's backend "+c.lacks+": ") {
			t.Errorf("%s: %v, want ErrUnsupported saying the plugin's backend %s", c.method, c.err, c.lacks)
		}
	}
}
