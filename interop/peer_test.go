package interop

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

const peerScript = "testdata/pyca_peer.py"

// pyca sends req to the Python peer on stdin and decodes its answer into
// resp. Any failure of the peer fails the test, with its stderr.
func pyca(t *testing.T, req map[string]any, resp any) {
	t.Helper()
	py := testenv.Python(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, peerScript)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pyca peer, op %v: %v\n%s", req["op"], err, stderr.Bytes())
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(resp); err != nil {
		t.Fatalf("pyca peer, op %v: answer %q: %v", req["op"], stdout.String(), err)
	}
}

func TestPeerVersion(t *testing.T) {
	var resp struct {
		Version string `json:"version"`
	}
	pyca(t, map[string]any{"op": "version"}, &resp)
	if resp.Version == "" {
		t.Fatal("no version from the peer")
	}
	t.Logf("Python cryptography %s", resp.Version)
}
