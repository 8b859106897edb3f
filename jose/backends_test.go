package jose_test

import (
	"os"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/testenv"
)

var backendNames = []string{"software", "softhsm2"}

// keyAlgorithms are the key types with JWS algorithms.
var keyAlgorithms = []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.RSA2048, backend.Ed25519}

// openBackend opens "software" (software:memory) or "softhsm2" (the test
// binary's shared SoftHSM2 token).
func openBackend(t *testing.T, name string) backend.Backend {
	return testenv.OpenSoftwareOrSoftHSM(t, name, "jose")
}

// generate makes one key of each algorithm (labelled by it), deleted at the
// end of the test.
func generate(t *testing.T, b backend.Backend, algs []backend.Algorithm) map[backend.Algorithm]*backend.Key {
	t.Helper()
	return testenv.GenerateEach(t, b, "jose-", algs)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveSharedSoftHSM()
	os.Exit(code)
}
