//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// The cosign the tests run: built once into the user's cache directory
// (testenv.GoTool), about 3 minutes.
const (
	cosignPkg     = "github.com/sigstore/cosign/v3/cmd/cosign"
	cosignVersion = "v3.1.3"
)

// cosignRun is a working directory where cosign finds this plugin (the
// test binary, through a link named sigstore-kms-keyplane) and the
// keyplane CLI on PATH, with a HOME and TUF_ROOT of its own, and the
// files for signing offline: a signing config without services (no
// transparency log, no timestamp authority, no Fulcio) and an empty
// trusted root (so that cosign does not try to fetch one over TUF).
type cosignRun struct {
	t        *testing.T
	cosign   string
	keyplane string
	dir      string
	bin      string
}

func newCosignRun(t *testing.T) *cosignRun {
	t.Helper()
	c := &cosignRun{t: t, cosign: testenv.GoTool(t, cosignPkg, cosignVersion), dir: t.TempDir(), bin: t.TempDir()}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(c.bin, "sigstore-kms-keyplane")); err != nil {
		t.Fatal(err)
	}
	c.keyplane = keyplaneCLI(t)
	for _, d := range []string{"home", "tuf"} {
		if err := os.Mkdir(filepath.Join(c.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c.mustRun(c.cosign, "signing-config", "create", "--out", "signing-config.json")
	c.write("trusted-root.json", `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`+"\n")
	return c
}

// keyplaneCLI builds the keyplane CLI once for the test binary (in
// testTools, removed by TestMain) and returns its path.
func keyplaneCLI(t *testing.T) string {
	t.Helper()
	goCmd := testenv.Command(t, "go", "golang")
	cliOnce.Do(func() {
		exe := filepath.Join(testTools, "keyplane")
		out, err := exec.Command(goCmd, "build", "-o", exe, "github.com/keyplane/keyplane/cmd/keyplane").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("building the keyplane CLI: %v\n%s", err, out)
			return
		}
		cliPath = exe
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

func (c *cosignRun) write(name, data string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// run runs a command in the directory and returns its exit code and its
// standard output and error together (cosign prints "Verified OK" on
// standard error).
func (c *cosignRun) run(name string, args ...string) (int, string) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	env := []string{"PATH=" + c.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(c.dir, "home"), "TUF_ROOT=" + filepath.Join(c.dir, "tuf")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "HOME" && k != "TUF_ROOT" && k != "KEYPLANE_BACKEND" {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("%s %q: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return code, out.String()
}

func (c *cosignRun) mustRun(name string, args ...string) string {
	c.t.Helper()
	code, out := c.run(name, args...)
	if code != 0 {
		c.t.Fatalf("%s %s: exit %d\n%s", filepath.Base(name), strings.Join(args, " "), code, out)
	}
	return out
}

// signAndVerify signs blob.txt with cosign through the plugin, with the
// key ref in the backend at uri, then checks cosign verify-blob: with the
// public key `keyplane pubkey` exported ("Verified OK"), with the key
// through the plugin, and that a tampered blob is refused both ways.
//
// ECDSA and RSA keys sign into a bundle with the signing config; an
// Ed25519 key signs in cosign's older form (a bare signature file):
// cosign v3.1.3 signs pure Ed25519 when it uploads to no log, and then
// fails to check the bundle it has just made ("message is missing
// artifact digest"). verify-blob --key uses SHA-256 unless
// --signature-digest-algorithm says otherwise, even when the bundle
// names the digest's algorithm (P-384 and P-521 sign SHA-384 and SHA-512
// digests).
func (c *cosignRun) signAndVerify(uri, ref string, alg backend.Algorithm) {
	c.t.Helper()
	key := "keyplane://" + uri + "#" + ref
	pub := ref + ".pub.pem"
	c.mustRun(c.keyplane, "--backend", uri, "pubkey", "--key", ref, "--out", filepath.Join(c.dir, pub))
	c.write("blob.txt", "the artifact "+ref+"\n")
	c.write("tampered.txt", "the artifact "+ref+"!\n")

	var signArgs, verifyArgs []string
	switch alg {
	case backend.Ed25519:
		sig := ref + ".sig"
		signArgs = []string{"sign-blob", "--key", key, "--tlog-upload=false", "--use-signing-config=false", "--new-bundle-format=false", "--output-signature", sig, "blob.txt"}
		verifyArgs = []string{"verify-blob", "--signature", sig, "--insecure-ignore-tlog=true"}
	default:
		bundle := ref + ".bundle.json"
		signArgs = []string{"sign-blob", "--key", key, "--signing-config", "signing-config.json", "--trusted-root", "trusted-root.json", "--bundle", bundle, "blob.txt"}
		verifyArgs = []string{"verify-blob", "--bundle", bundle, "--insecure-ignore-tlog=true"}
		switch alg {
		case backend.ECP384:
			verifyArgs = append(verifyArgs, "--signature-digest-algorithm", "sha384")
		case backend.ECP521:
			verifyArgs = append(verifyArgs, "--signature-digest-algorithm", "sha512")
		}
	}
	out := c.mustRun(c.cosign, signArgs...)
	c.t.Logf("cosign %s\n%s", strings.Join(signArgs, " "), out)
	for _, k := range []string{pub, key} {
		args := append(append([]string{}, verifyArgs...), "--key", k)
		code, out := c.run(c.cosign, append(args, "blob.txt")...)
		if code != 0 || !strings.Contains(out, "Verified OK") {
			c.t.Errorf("cosign %s blob.txt: exit %d, want Verified OK:\n%s", strings.Join(args, " "), code, out)
		} else {
			c.t.Logf("cosign %s blob.txt: %s", strings.Join(args, " "), lineWith(out, "Verified OK"))
		}
		code, out = c.run(c.cosign, append(args, "tampered.txt")...)
		if code == 0 || strings.Contains(out, "Verified OK") || !strings.Contains(out, "failed to verify signature") && !strings.Contains(out, "invalid signature") {
			c.t.Errorf("cosign %s tampered.txt: exit %d, want a refusal:\n%s", strings.Join(args, " "), code, out)
		} else {
			c.t.Logf("cosign %s tampered.txt: exit %d: %s", strings.Join(args, " "), code, lineWith(out, "Error:"))
		}
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestCosignSoftHSM: cosign sign-blob and verify-blob with keys in a
// SoftHSM2 token, the PIN read from a file (pin-source=file:).
func TestCosignSoftHSM(t *testing.T) {
	c := newCosignRun(t)
	tok := testenv.SoftHSMToken(t, "cosign") // SOFTHSM2_CONF reaches cosign and the plugin
	uri := tok.URI(t)
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.ECP384, backend.RSA2048, backend.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			c.t = t
			ref := "hsm-" + string(alg)
			c.mustRun(c.keyplane, "--backend", uri, "keygen", "--label", ref, "--type", string(alg))
			c.signAndVerify(uri, ref, alg)
		})
	}
	t.Run("generate-key-pair", func(t *testing.T) {
		// cosign generate-key-pair --kms: the plugin's createKey makes the
		// key in the token (the default algorithm, ECDSA P-256) and
		// cosign writes its public key, which is the token's.
		c.t = t
		c.mustRun(c.cosign, "generate-key-pair", "--kms", "keyplane://"+uri+"#made-by-cosign")
		written, err := os.ReadFile(filepath.Join(c.dir, "cosign.pub"))
		if err != nil {
			t.Fatal(err)
		}
		exported := c.mustRun(c.keyplane, "--backend", uri, "pubkey", "--key", "made-by-cosign")
		if string(written) != exported {
			t.Errorf("cosign.pub:\n%s\nkeyplane pubkey:\n%s", written, exported)
		}
		info := c.mustRun(c.keyplane, "--backend", uri, "list")
		if !strings.Contains(lineWith(info, "made-by-cosign"), "ec-p256") {
			t.Errorf("keyplane list:\n%s", info)
		}
		c.signAndVerify(uri, "made-by-cosign", backend.ECP256)
	})
	t.Run("pin-value refused", func(t *testing.T) {
		c.t = t
		const pin = "1234"
		secretURI := "pkcs11:token=" + tok.Label + "?module-path=" + tok.Module + "&pin-value=" + pin
		c.write("blob.txt", "x\n")
		code, out := c.run(c.cosign, "sign-blob", "--key", "keyplane://"+secretURI+"#hsm-ec-p256", "--signing-config", "signing-config.json",
			"--trusted-root", "trusted-root.json", "--bundle", "refused.json", "blob.txt")
		if code == 0 || !strings.Contains(out, "holds a secret") || !strings.Contains(out, "pin-source=file:") {
			t.Errorf("exit %d, want a refusal pointing to pin-source=file::\n%s", code, out)
		}
		if strings.Contains(strings.ReplaceAll(out, secretURI, ""), "pin-value="+pin) {
			t.Errorf("the plugin's error repeats the PIN:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(c.dir, "refused.json")); err == nil {
			t.Error("a bundle was written")
		}
	})
}

// TestCosignSoftware: the same with a software keystore (its passphrase
// from passphrase-source=file:).
func TestCosignSoftware(t *testing.T) {
	c := newCosignRun(t)
	uri := keystore(t)
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.ECP521, backend.RSA3072, backend.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			c.t = t
			ref := "soft-" + string(alg)
			c.mustRun(c.keyplane, "--backend", uri, "keygen", "--label", ref, "--type", string(alg))
			c.signAndVerify(uri, ref, alg)
		})
	}
}
