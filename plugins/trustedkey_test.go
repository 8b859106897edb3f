package plugins_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/internal/secretfile"
)

// trustedKeyEnv, when set, makes the test binary a helper process that
// makes a trusted AES wrapping key (TestMain picks the role): a PKCS#11
// module is initialized once per process and SoftHSM2 reads its
// configuration then, so the set-up of each test's own SoftHSM2
// configuration runs in a process of its own.
const trustedKeyEnv = "KEYPLANE_PLUGINS_TEST_TRUSTED_KEY"

// trustedKeyJob is what the helper process does: in the token Source
// names, the trusted, wrap-only half of a fresh AES-256 key (the SO PIN
// read from SOPINFile), and its unwrap-only half in each token of
// UnwrapIn (URI → label). The key's bytes exist only in the helper.
type trustedKeyJob struct {
	Source, Label, SOPINFile string
	UnwrapIn                 map[string]string
}

// makeTrustedKey runs job in a helper process with the test's
// environment (SOFTHSM2_CONF).
func makeTrustedKey(t *testing.T, job trustedKeyJob) {
	t.Helper()
	j, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testExe, "-test.run=^$")
	cmd.Env = append(os.Environ(), trustedKeyEnv+"="+string(j))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making the trusted wrapping key %q: %v: %s", job.Label, err, strings.TrimSpace(string(out)))
	}
}

// soPINFile writes pin to a 0600 file.
func soPINFile(t *testing.T, pin string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "so.pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runTrustedKeyJob is the helper process's work; it returns the exit code.
func runTrustedKeyJob(spec string) int {
	var job trustedKeyJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	value := make([]byte, 32)
	defer clear(value)
	_, _ = rand.Read(value)
	key := backend.SecretKey{Algorithm: backend.AES256, Value: value}
	soPIN := func(context.Context) ([]byte, error) { return secretfile.Read("SO PIN file", job.SOPINFile) }
	if _, err := pkcs11.CreateTrustedWrappingKey(ctx, job.Source, soPIN, job.Label, key); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for uri, label := range job.UnwrapIn {
		b, err := pkcs11.Open(ctx, uri)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, err = b.ImportUnwrappingKey(ctx, label, key)
		b.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
