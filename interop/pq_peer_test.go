package interop

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os/exec"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/pkcs8"
)

const pqPeerScript = "testdata/pyca_pq_peer.py"

// pycaPQ is pyca for the post-quantum peer, run by a python3 whose
// cryptography is 48 or newer (Debian's 38 has no ML-KEM, ML-DSA or HPKE).
func pycaPQ(t *testing.T, req map[string]any, resp any) {
	t.Helper()
	py, _ := testenv.PythonCryptography(t, 48)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, pqPeerScript)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pyca 48 peer, op %v: %v\n%s", req["op"], err, stderr.Bytes())
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(resp); err != nil {
		t.Fatalf("pyca 48 peer, op %v: answer %q: %v", req["op"], stdout.String(), err)
	}
}

func TestPQPeerVersion(t *testing.T) {
	py, v := testenv.PythonCryptography(t, 48)
	var resp struct {
		Version string `json:"version"`
	}
	pycaPQ(t, map[string]any{"op": "version"}, &resp)
	if resp.Version != v {
		t.Fatalf("the peer says cryptography %s, the interpreter %s has %s", resp.Version, py, v)
	}
	t.Logf("Python cryptography %s (%s)", resp.Version, py)
}

// pycaPQKey is a key pyca generated.
type pycaPQKey struct {
	PrivatePEM    string `json:"private_pem"`
	EncryptedPEM  string `json:"encrypted_pem"`
	PrivateDERHex string `json:"private_der_hex"`
	SPKIPEM       string `json:"spki_pem"`
}

const pycaPassword = "interop pq passphrase"

func pycaGenerate(t *testing.T, algs ...backend.Algorithm) []pycaPQKey {
	t.Helper()
	var resp struct {
		Keys []pycaPQKey `json:"keys"`
	}
	pycaPQ(t, map[string]any{"op": "generate", "algs": algs, "password": pycaPassword}, &resp)
	if len(resp.Keys) != len(algs) {
		t.Fatalf("pyca made %d keys, want %d", len(resp.Keys), len(algs))
	}
	return resp.Keys
}

// pqSPKIPEM is the SPKI PEM of any public key keyplane has.
func pqSPKIPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := pkcs8.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func parseSPKIPEM(t *testing.T, s string) crypto.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("not an SPKI PEM: %q", s)
	}
	pub, err := pkcs8.ParsePublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("keyplane cannot read pyca's SPKI: %v", err)
	}
	return pub
}

// requirePQ skips t unless the backend reports every algorithm and
// operation.
func requirePQ(t *testing.T, b backend.Backend, algs []backend.Algorithm, ops ...backend.Operation) *backend.Capabilities {
	t.Helper()
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range algs {
		if !caps.SupportsAlgorithm(a) {
			t.Skipf("%s does not report %s keys", caps.Backend, a)
		}
	}
	for _, op := range ops {
		if !caps.SupportsOperation(op) {
			t.Skipf("%s does not report %s", caps.Backend, op)
		}
	}
	return caps
}

// pycaOpenResult is pyca's answer for one HPKE message it was asked to open.
type pycaOpenResult struct {
	OK        bool   `json:"ok"`
	Plaintext string `json:"plaintext_hex"`
	Error     string `json:"error"`
}

// pycaHPKEOpen has pyca open each of sealed (hex enc ‖ ciphertext) with
// the suite's private keys (PEM) and info, and returns one result per
// message, in order; fewer or more results fail t.
func pycaHPKEOpen(t *testing.T, suite string, privPEMs []string, info []byte, sealed []string) []pycaOpenResult {
	t.Helper()
	var resp struct {
		Results []pycaOpenResult `json:"results"`
	}
	pycaPQ(t, map[string]any{"op": "hpke_open", "suite": suite, "private_pems": privPEMs, "info_hex": hex.EncodeToString(info), "sealed_hex": sealed}, &resp)
	if len(resp.Results) != len(sealed) {
		t.Fatalf("pyca answered %d results, want %d", len(resp.Results), len(sealed))
	}
	return resp.Results
}
