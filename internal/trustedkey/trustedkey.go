// Package trustedkey sets up, for tests and the token matrix, the AES-256
// wrapping key the conformance suite's wrap checks need
// (conformance.Config.TrustedWrappingKey and UnwrappingKey) on a PKCS#11
// token: its trusted, wrap-only half made by the token's security officer
// (pkcs11.CreateTrustedWrappingKey) and its unwrap-only half, under
// another label, in the same token or others (ImportUnwrappingKey).
//
// Make does it in the calling process; MakeInHelper in a fresh process
// of the test binary (RunHelper in an init function), for a test process
// that is logged in to the token as its user already.
//
// # Security
//
// The key's 32 bytes are random, exist in this process only while Make
// runs, and are zeroed before it returns. The SO PIN comes from a
// backend.SecretFunc and is handled as pkcs11 handles it.
package trustedkey

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

// Make creates, in the token uri names, the trusted wrapping key label
// (the SO logs in with soPIN; uri's user PIN, when it has one, checks
// that no private object has the label), and the unwrapping half
// label+"-unwrap" in the same token and in each token of unwrapIn. It
// returns the two labels. The application must not be logged in to
// uri's token as its user while Make runs (see CreateTrustedWrappingKey).
func Make(ctx context.Context, uri string, soPIN backend.SecretFunc, label string, unwrapIn ...string) (wrapping, unwrapping string, err error) {
	value := make([]byte, 32)
	defer clear(value)
	_, _ = rand.Read(value) // crypto/rand.Read never fails
	key := backend.SecretKey{Algorithm: backend.AES256, Value: value}
	if _, err := pkcs11.CreateTrustedWrappingKey(ctx, uri, soPIN, label, key); err != nil {
		return "", "", err
	}
	unwrapping = label + "-unwrap"
	for _, u := range append([]string{uri}, unwrapIn...) {
		b, err := pkcs11.Open(ctx, u)
		if err != nil {
			return "", "", err
		}
		_, err = b.ImportUnwrappingKey(ctx, unwrapping, key)
		b.Close()
		if err != nil {
			return "", "", fmt.Errorf("the unwrapping half in %s: %w", backend.Redact(u), err)
		}
	}
	return label, unwrapping, nil
}

// StaticPIN is a SecretFunc for a PIN the test knows: a fresh copy on
// every call.
func StaticPIN(pin string) backend.SecretFunc {
	return func(context.Context) ([]byte, error) { return []byte(pin), nil }
}

// HelperEnv, when set in a test binary's environment, makes RunHelper do
// the job it holds (JSON) and exit: PKCS#11 logs an application in as one
// user type per token, so a test process already logged in as the user
// (or whose module was initialized with another configuration) has the
// SO's work done by a fresh process of its own binary.
const HelperEnv = "KEYPLANE_TRUSTEDKEY_JOB"

// helperJob is what MakeInHelper asks of the helper process.
type helperJob struct {
	URI, Label, SOPINFile string
	UnwrapIn              []string
}

// RunHelper does the job of HelperEnv and exits, when the variable is
// set; otherwise it returns at once. Call it from an init function of the
// test package (before TestMain, so that nothing else in the helper
// process touches the token first).
func RunHelper() {
	spec := os.Getenv(HelperEnv)
	if spec == "" {
		return
	}
	var job helperJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintln(os.Stderr, "trustedkey helper:", err)
		os.Exit(1)
	}
	soPIN := func(context.Context) ([]byte, error) { return secretfile.Read("SO PIN file", job.SOPINFile) }
	if _, _, err := Make(context.Background(), job.URI, soPIN, job.Label, job.UnwrapIn...); err != nil {
		fmt.Fprintln(os.Stderr, "trustedkey helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// MakeInHelper is Make in a helper process: this test binary again
// (os.Executable), with the test's environment and HelperEnv, in which
// an init function calls RunHelper. The SO PIN goes to it in a 0600 file in a
// temporary directory of t, never on its command line or in its
// environment.
func MakeInHelper(t testing.TB, uri, soPIN, label string, unwrapIn ...string) (wrapping, unwrapping string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(t.TempDir(), "so.pin")
	if err := os.WriteFile(pinFile, []byte(soPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(helperJob{URI: uri, Label: label, SOPINFile: pinFile, UnwrapIn: unwrapIn})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), HelperEnv+"="+string(j))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making the trusted wrapping key %q in a helper process: %v: %s", label, err, strings.TrimSpace(string(out)))
	}
	return label, label + "-unwrap"
}
