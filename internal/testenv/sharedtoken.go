package testenv

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// SoftHSM2 reads SOFTHSM2_CONF once per process, when its module is first
// initialized, so a test binary that opens SoftHSM2 through pkcs11: URIs
// uses one token for all its tests.
var sharedSoftHSM struct {
	once sync.Once
	uri  string
	dir  string
	err  error
}

// SharedSoftHSMURI returns a pkcs11: URI (PIN from a 0600 file) of the one
// SoftHSM2 token of this test process, made on first use in a temporary
// directory with SOFTHSM2_CONF set for the process; it skips/fails t when
// SoftHSM2 is not installed. Tests share the token, so each deletes the
// keys it makes. A TestMain calls RemoveSharedSoftHSM after m.Run.
func SharedSoftHSMURI(t testing.TB, label string) string {
	t.Helper()
	util := Command(t, "softhsm2-util", "softhsm2")
	if _, err := os.Stat(SoftHSMModule); err != nil {
		Missing(t, SoftHSMModule, "apt-get install -y softhsm2")
	}
	s := &sharedSoftHSM
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "keyplane-shared-softhsm-"); s.err != nil {
			return
		}
		var in *Instance
		if in, s.err = startSoftHSMWith(util, s.dir, label); s.err != nil {
			return
		}
		var pin string
		if pin, s.err = in.WritePINFile(s.dir); s.err != nil {
			return
		}
		if s.err = in.Setenv(); s.err == nil {
			s.uri = in.URI(pin)
		}
	})
	if s.err != nil {
		t.Fatalf("the shared SoftHSM2 token: %v", s.err)
	}
	return s.uri
}

// RemoveSharedSoftHSM removes the shared token's directory, if one was made.
func RemoveSharedSoftHSM() {
	if sharedSoftHSM.dir != "" {
		os.RemoveAll(sharedSoftHSM.dir)
	}
}

// OpenSoftwareOrSoftHSM opens the backend a test names: "software"
// (software:memory) or "softhsm2" (the shared SoftHSM2 token, labelled
// label, through backends/pkcs11), closed at the end of the test. The
// caller's package imports the backends, so that their schemes are
// registered.
func OpenSoftwareOrSoftHSM(t testing.TB, name, label string) backend.Backend {
	t.Helper()
	uri := "software:memory"
	switch name {
	case "software":
	case "softhsm2":
		if !PKCS11Built {
			Missing(t, "a cgo build (the pkcs11 backend needs cgo)", "CGO_ENABLED=1 and a C compiler")
		}
		uri = SharedSoftHSMURI(t, label)
	default:
		t.Fatalf("testenv: no test backend %q", name)
	}
	b, err := backend.Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// GenerateEach makes one key of each algorithm in b, labelled prefix+alg,
// and deletes each at the end of the test (the shared token outlives it).
func GenerateEach(t testing.TB, b backend.Backend, prefix string, algs []backend.Algorithm) map[backend.Algorithm]*backend.Key {
	t.Helper()
	keys := map[backend.Algorithm]*backend.Key{}
	for _, alg := range algs {
		k, err := b.GenerateKey(context.Background(), backend.KeySpec{Label: prefix + string(alg), Algorithm: alg})
		if err != nil {
			t.Fatalf("generating %s: %v", alg, err)
		}
		keys[alg] = k
		t.Cleanup(func() {
			if err := b.DeleteKey(context.Background(), k.Label); err != nil {
				t.Errorf("deleting %s: %v", k.Label, err)
			}
		})
	}
	return keys
}
