package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/localkms"
	"github.com/keyplane/keyplane/plugins"
)

// TestMain makes this test binary the plugin executable: started by a
// host (the magic cookie set), it serves as keyplane-plugin does, with the
// same backends linked; otherwise it runs the tests, with itself on $PATH
// as keyplane-plugin.
func TestMain(m *testing.M) {
	if os.Getenv(plugins.Handshake().MagicCookieKey) == plugins.Handshake().MagicCookieValue {
		main()
		os.Exit(0)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Found on $PATH under its installed name (package plugins reads no
	// variable of its own).
	dir, err := os.MkdirTemp("", "keyplane-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.Symlink(self, filepath.Join(dir, plugins.ExecutableName)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestConformanceAWSKMSThroughPlugin runs the suite on local-kms through
// the plugin boundary (plugin+awskms:). The child finds the test's
// credentials in the shared credentials file under $HOME (the plugin
// environment carries HOME, never a credential).
func TestConformanceAWSKMSThroughPlugin(t *testing.T) {
	s := localkms.Start(t)
	base := "plugin+awskms:region=" + localkms.Region + "?endpoint=" + s.URL + "&pss-salt=maximum"
	open := func(uri string) func(t *testing.T) backend.Backend {
		return func(t *testing.T) backend.Backend {
			b, err := backend.Open(t.Context(), uri)
			if err != nil {
				t.Fatalf("backend.Open(%q): %v", uri, err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}
	}
	t.Run("sign-verify", func(t *testing.T) {
		conformance.Run(t, open(base), conformance.Config{Reopen: true, Short: testing.Short()})
	})
	t.Run("encrypt-decrypt", func(t *testing.T) {
		conformance.Run(t, open(base+"&rsa-key-usage=encrypt-decrypt"), conformance.Config{
			Reopen: true, Short: true,
			Algorithms: []backend.Algorithm{backend.RSA2048, backend.RSA3072},
		})
	})
}
