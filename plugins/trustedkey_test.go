package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/secretfile"
	"github.com/keyplane/keyplane/internal/trustedkey"
)

// trustedKeyEnv, when set, makes the test binary a helper process that
// makes a trusted AES wrapping key (TestMain picks the role): a PKCS#11
// module is initialized once per process and SoftHSM2 reads its
// configuration then, so the set-up of each test's own SoftHSM2
// configuration runs in a process of its own.
const trustedKeyEnv = "KEYPLANE_PLUGINS_TEST_TRUSTED_KEY"

// trustedKeyJob is what the helper process does: trustedkey.Make in the
// token Source names, the SO PIN read from SOPINFile, the unwrapping
// half (Label+"-unwrap") in Source and each token of UnwrapIn.
type trustedKeyJob struct {
	Source, Label, SOPINFile string
	UnwrapIn                 []string
}

// makeTrustedKey runs job in a helper process with the test's
// environment (SOFTHSM2_CONF) and returns the labels of the wrapping and
// unwrapping keys.
func makeTrustedKey(t *testing.T, job trustedKeyJob) (wrapping, unwrapping string) {
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
	return job.Label, job.Label + "-unwrap"
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
	soPIN := func(context.Context) ([]byte, error) { return secretfile.Read("SO PIN file", job.SOPINFile) }
	if _, _, err := trustedkey.Make(context.Background(), job.Source, soPIN, job.Label, job.UnwrapIn...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
