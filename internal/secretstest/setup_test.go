package secretstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// root is a temporary directory for what the process shares between runs
// of the test (-count): the built executables and the SoftHSM2 tokens.
var root string

func TestMain(m *testing.M) {
	var err error
	root, err = os.MkdirTemp("", "keyplane-secretstest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// Executables built from this checkout, once per process.
var (
	buildOnce sync.Once
	pluginExe string // plugins/cmd/keyplane-plugin
	cliExe    string // cmd/keyplane
	buildErr  error
)

func executables(t *testing.T) (plugin, cli string) {
	t.Helper()
	goTool := testenv.Command(t, "go", "golang-go")
	buildOnce.Do(func() {
		pluginExe = filepath.Join(root, "bin", "keyplane-plugin")
		cliExe = filepath.Join(root, "bin", "keyplane")
		for exe, pkg := range map[string]string{
			pluginExe: "github.com/keyplane/keyplane/plugins/cmd/keyplane-plugin",
			cliExe:    "github.com/keyplane/keyplane/cmd/keyplane",
		} {
			out, err := exec.Command(goTool, "build", "-o", exe, pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build -o %s %s: %v\n%s", exe, pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pluginExe, cliExe
}

// hsm is a SoftHSM2 configuration with four tokens whose user PIN is pin
// and SO PIN soPIN ("secrets" for keys, "doomed" to be deleted from disk,
// "officer" for the security officer's logins) and one with
// testenv's PIN ("other"). SoftHSM2 reads its token directory once, at
// C_Initialize, and the PKCS#11 backend initializes a module once per
// process, so every token is made before the first use, and SOFTHSM2_CONF
// stays set for the life of the process.
type hsm struct {
	module, conf string
	doomedDir    string // the "doomed" token's directory
}

var (
	hsmOnce sync.Once
	theHSM  *hsm
	hsmErr  error
)

const (
	secretsToken = "secrets"
	doomedToken  = "doomed"
	officerToken = "officer" // officer_test.go: the SO logs in
)

func softHSM(t *testing.T) *hsm {
	t.Helper()
	util := testenv.Command(t, "softhsm2-util", "softhsm2")
	if _, err := os.Stat(testenv.SoftHSMModule); err != nil {
		testenv.Missing(t, testenv.SoftHSMModule, "apt-get install -y softhsm2")
	}
	hsmOnce.Do(func() { theHSM, hsmErr = makeHSM(util) })
	if hsmErr != nil {
		t.Fatal(hsmErr)
	}
	return theHSM
}

func makeHSM(util string) (*hsm, error) {
	dir := filepath.Join(root, "softhsm")
	other, err := testenv.CreateSoftHSMToken(util, dir, "other")
	if err != nil {
		return nil, err
	}
	h := &hsm{module: other.Module, conf: other.Conf}
	if _, err := newToken(util, h.conf, secretsToken); err != nil {
		return nil, err
	}
	if h.doomedDir, err = newToken(util, h.conf, doomedToken); err != nil {
		return nil, err
	}
	if _, err := newToken(util, h.conf, officerToken); err != nil {
		return nil, err
	}
	if err := os.Setenv("SOFTHSM2_CONF", h.conf); err != nil {
		return nil, err
	}
	return h, nil
}

// newToken makes a SoftHSM2 token whose user PIN is pin in the
// configuration conf, with softhsm2-util (at util), and returns the
// directory that holds it.
func newToken(util, conf, label string) (string, error) {
	tokens := filepath.Join(filepath.Dir(conf), "tokens")
	before, _ := os.ReadDir(tokens)
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("softhsm2-util --init-token --label %s: %v: %s", label, err, strings.TrimSpace(out.String()))
	}
	after, _ := os.ReadDir(tokens)
	for _, e := range after {
		if !slices.ContainsFunc(before, func(b os.DirEntry) bool { return b.Name() == e.Name() }) {
			return filepath.Join(tokens, e.Name()), nil
		}
	}
	return "", fmt.Errorf("softhsm2-util made no new directory in %s for token %s", tokens, label)
}

// uri returns a pkcs11: backend URI for token with the given query tail
// ("pin-value=..." or "pin-source=file:...").
func (h *hsm) uri(token, query string) string {
	return "pkcs11:token=" + token + "?module-path=" + h.module + "&" + query
}

// writeSecret writes value and a newline to a new file of mode perm.
func writeSecret(t *testing.T, name, value string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}
