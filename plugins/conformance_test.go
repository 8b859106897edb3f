package plugins_test

import (
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/plugins"
)

// openURI returns a conformance opener for uri that closes the backend
// when the test ends.
func openURI(uri string) func(t *testing.T) backend.Backend {
	return func(t *testing.T) backend.Backend {
		t.Helper()
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatalf("backend.Open(%q): %v", backend.Redact(uri), err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
}

func TestConformanceSoftwareMemory(t *testing.T) {
	conformance.Run(t, openURI("plugin+software:memory"), conformance.Config{Short: testing.Short()})
}

func TestConformanceSoftwareKeystore(t *testing.T) {
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	dir := t.TempDir()
	conformance.Run(t, openURI("plugin+software:"+dir), conformance.Config{Reopen: true, Short: testing.Short()})
}

func TestConformanceExamplePlugin(t *testing.T) {
	conformance.Run(t, openURI("plugin:"+exampleExe+"?sha256="+exampleSum), conformance.Config{Short: testing.Short()})
}

// TestConformanceNoDirect runs the suite with Sign and Decrypt over gRPC
// (Options.NoDirect), the path plugins without a direct channel take.
func TestConformanceNoDirect(t *testing.T) {
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := plugins.Open(t.Context(), "plugin+software:memory", plugins.Options{NoDirect: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}, conformance.Config{Short: true})
}

// TestExamplePluginConfiguration sends the example plugin its own
// configuration (algorithms=) through the plugin: URI, and runs the suite
// on what it then offers.
func TestExamplePluginConfiguration(t *testing.T) {
	uri := "plugin:" + exampleExe + "?sha256=" + exampleSum + "&algorithms=ec-p256,ed25519&timeout=10s"
	b := openURI(uri)(t)
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(caps.Algorithms) != 2 || !caps.SupportsAlgorithm(backend.ECP256) || !caps.SupportsAlgorithm(backend.Ed25519) {
		t.Errorf("example plugin with algorithms=ec-p256,ed25519 reports %v", caps.Algorithms)
	}
	if caps.Backend != "plugin" || caps.Export {
		t.Errorf("capabilities through the plugin: backend %q, export %v; want plugin, false", caps.Backend, caps.Export)
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "r", Algorithm: backend.RSA2048}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateKey rsa-2048 on the restricted example: %v, want ErrUnsupported", err)
	}
	conformance.Run(t, openURI(uri), conformance.Config{Short: true})
}
