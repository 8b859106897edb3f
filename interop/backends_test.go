package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"

	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
)

// target is a backend the interop tests run on.
type target struct {
	name string
	// uri returns the backend URI for one test.
	uri func(t *testing.T) string
	// hsm: keys live in a token; they cannot be exported.
	hsm bool
}

// targets is the table every interop test iterates over.
var targets = []target{
	{name: "software-memory", uri: func(*testing.T) string { return "software:memory" }},
	{name: "software-keystore", uri: keystoreURI},
	{name: "pkcs11-softhsm2", uri: softHSMURI, hsm: true},
}

// keystoreURI is a fresh keystore directory whose keys are encrypted with
// a passphrase read from a 0600 file.
func keystoreURI(t *testing.T) string {
	dir := t.TempDir()
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("interop keystore passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "software:" + filepath.Join(dir, "keys") + "?passphrase-source=file:" + pass
}

// softHSM is one SoftHSM2 token for the whole test binary: SoftHSM reads
// SOFTHSM2_CONF once, when the module is first initialized.
var softHSM struct {
	once sync.Once
	tok  *testenv.Token
	dir  string
}

// softHSMURI returns a URI for the shared token, creating it on first use.
func softHSMURI(t *testing.T) string {
	softHSM.once.Do(func() {
		dir, err := os.MkdirTemp("", "keyplane-interop-softhsm-")
		if err != nil {
			t.Fatal(err)
		}
		softHSM.dir = dir
		softHSM.tok = testenv.NewSoftHSMToken(t, dir, "interop")
		os.Setenv("SOFTHSM2_CONF", softHSM.tok.Conf)
	})
	if softHSM.tok == nil {
		testenv.Missing(t, "a SoftHSM2 token", "apt-get install -y softhsm2")
	}
	return softHSM.tok.URI(t)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if softHSM.dir != "" {
		os.RemoveAll(softHSM.dir)
	}
	removeKeyplaneCommand()
	os.Exit(code)
}

// forEachBackend runs f as a subtest on each target, with the backend
// open and closed when the subtest ends. Keys f makes should use label(t,
// ...) and are deleted at the end.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend.Backend, tg target)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			b, err := backend.Open(t.Context(), tg.uri(t))
			if tg.hsm && errors.Is(err, backend.ErrUnsupported) {
				// The no-cgo stub of the pkcs11 backend.
				testenv.Missing(t, "the pkcs11 backend ("+err.Error()+")", "build with CGO_ENABLED=1 and a C compiler (apt-get install -y gcc)")
			}
			if err != nil {
				t.Fatalf("opening %s: %v", tg.name, err)
			}
			t.Cleanup(func() {
				// Delete what this test made (the token outlives the test).
				if keys, err := b.Keys(context.Background()); err == nil {
					for _, k := range keys {
						if isTestLabel(k.Label) {
							_ = b.DeleteKey(context.Background(), k.Label)
						}
					}
				}
				if err := b.Close(); err != nil {
					t.Errorf("closing %s: %v", tg.name, err)
				}
			})
			f(t, b, tg)
		})
	}
}

const labelPrefix = "interop-"

// label returns a fresh key label.
func label(what string) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return labelPrefix + what + "-" + hex.EncodeToString(r[:])
}

func isTestLabel(l string) bool {
	return len(l) > len(labelPrefix) && l[:len(labelPrefix)] == labelPrefix
}
