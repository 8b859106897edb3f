package jose_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/jose"
)

// interopCase is what the Node and Python checkers read: a token, the
// algorithm to allow, the SPKI public key, and whether it must verify.
type interopCase struct {
	Alg   string `json:"alg"`
	Token string `json:"token"`
	PEM   string `json:"pem"`
	Valid bool   `json:"valid"`
}

func spkiPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// interopCases signs a JWT with every algorithm on b, plus two tokens
// that must fail: one with a changed payload and a PS256 one with the
// longest salt (what rsa.PSSSaltLengthAuto gives).
func interopCases(t *testing.T, name string) []interopCase {
	b := openBackend(t, name)
	payload := []byte(`{"iss":"keyplane","sub":"` + name + `"}`)
	var cases []interopCase
	for _, s := range signAll(t, b, payload) {
		cases = append(cases, interopCase{string(s.alg), s.token, spkiPEM(t, s.pub), true})
		if s.alg == jose.PS256 {
			parts := strings.Split(s.token, ".")
			cases = append(cases, interopCase{"PS256", parts[0] + "." + b64(`{"iss":"mallory"}`) + "." + parts[2], spkiPEM(t, s.pub), false})
		}
	}
	// A PS256 token with the longest salt, from the same RSA key.
	rs, err := b.Signer(context.Background(), "jose-"+string(backend.RSA2048))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, interopCase{"PS256", maxSaltPS256(t, rs, payload), spkiPEM(t, rs.Public()), false})
	return cases
}

// writeCases writes the cases as JSON in dir and returns the file.
func writeCases(t *testing.T, cases []interopCase) string {
	t.Helper()
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkOutput reads the checker's lines "ALG ok" / "ALG refused" and
// compares them with the cases.
func checkOutput(t *testing.T, tool string, cases []interopCase, out []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%s printed %d lines for %d tokens:\n%s", tool, len(lines), len(cases), out)
	}
	verified := map[string]bool{}
	for i, c := range cases {
		want := c.Alg + " ok"
		if !c.Valid {
			want = c.Alg + " refused"
		}
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("%s, token %d (%s, valid=%v): %q, want %q", tool, i, c.Alg, c.Valid, lines[i], want)
		}
		if c.Valid && strings.HasPrefix(lines[i], want) {
			verified[c.Alg] = true
		}
	}
	if len(verified) != len(jose.AllAlgorithms()) {
		t.Errorf("%s verified %d algorithms, want %d", tool, len(verified), len(jose.AllAlgorithms()))
	}
	t.Logf("%s:\n%s", tool, out)
}

const nodeChecker = `import { readFileSync } from 'node:fs';
import { compactVerify, importSPKI } from 'jose';
const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const c of cases) {
  try {
    const key = await importSPKI(c.pem, c.alg);
    const { payload, protectedHeader } = await compactVerify(c.token, key, { algorithms: [c.alg] });
    console.log(c.alg + ' ok ' + protectedHeader.alg + ' ' + new TextDecoder().decode(payload));
  } catch (e) {
    console.log(c.alg + ' refused ' + (e.code || e.name));
  }
}
`

// nodeJose returns a directory with Node's jose 6 installed, from a cache
// in the system temporary directory or installed now with npm.
func nodeJose(t *testing.T) (node, dir string) {
	t.Helper()
	node = testenv.Command(t, "node", "nodejs")
	npm := testenv.Command(t, "npm", "npm")
	dir = filepath.Join(os.TempDir(), "keyplane-test-npm-jose6")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err == nil {
		return node, dir
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "keyplane-npm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", tmp, "jose@6")
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "Node's jose package (npm install jose@6 failed: "+err.Error()+": "+strings.TrimSpace(string(out))+")", "network access to the npm registry")
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(filepath.Join(dir, "node_modules", "jose")); serr != nil {
			t.Fatalf("caching jose: %v", err)
		}
	}
	return node, dir
}

// TestNodeJose: Node's jose verifies a JWS of every algorithm made with
// keys in each backend, and refuses a changed payload and a PS256 token
// with the longest salt.
func TestNodeJose(t *testing.T) {
	node, dir := nodeJose(t)
	script := filepath.Join(dir, "check.mjs")
	if err := os.WriteFile(script, []byte(nodeChecker), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			cases := interopCases(t, name)
			cmd := exec.Command(node, script, writeCases(t, cases))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, stderr.String())
			}
			checkOutput(t, "node jose", cases, out)
		})
	}
}

const pyjwtChecker = `import json, sys
import jwt
for c in json.load(open(sys.argv[1])):
    try:
        payload = jwt.api_jws.PyJWS().decode(c["token"], c["pem"], algorithms=[c["alg"]])
        print(c["alg"], "ok", payload.decode())
    except Exception as e:
        print(c["alg"], "refused", type(e).__name__)
`

// pyJWT returns a python3 that imports jwt (PyJWT) and cryptography.
func pyJWT(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err == nil && exec.Command(path, "-c", "import jwt, cryptography").Run() == nil {
			return path
		}
	}
	testenv.Missing(t, "python3 with PyJWT and cryptography", "apt-get install -y python3-jwt python3-cryptography")
	return ""
}

// TestPyJWT: PyJWT (over pyca's cryptography) verifies every algorithm
// and refuses the same two tokens.
func TestPyJWT(t *testing.T) {
	python := pyJWT(t)
	script := filepath.Join(t.TempDir(), "check.py")
	if err := os.WriteFile(script, []byte(pyjwtChecker), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			cases := interopCases(t, name)
			cmd := exec.Command(python, script, writeCases(t, cases))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, stderr.String())
			}
			checkOutput(t, "PyJWT", cases, out)
		})
	}
}
