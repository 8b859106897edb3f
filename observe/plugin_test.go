//go:build unix

package observe_test

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/observe"
	"github.com/keyplane/keyplane/plugins"
)

// TestPluginRestarts wraps a real plugin+software:memory backend, kills its
// child, and reads the restart counter before (0) and after (1) the host
// replaced it; the wrapper keeps the plugin's interfaces, and AsPlugin
// finds the plugin through it.
func TestPluginRestarts(t *testing.T) {
	goTool := testenv.Command(t, "go", "golang-go")
	exe := filepath.Join(t.TempDir(), "keyplane-plugin")
	if out, err := exec.Command(goTool, "build", "-o", exe, "github.com/keyplane/keyplane/plugins/cmd/keyplane-plugin").CombinedOutput(); err != nil {
		t.Fatalf("go build keyplane-plugin: %v\n%s", err, out)
	}
	inner, err := plugins.Open(t.Context(), "plugin+software:memory", plugins.Options{Path: exe})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "plugin+software:memory")
	b := observe.Wrap(inner, h.opts)
	defer b.Close()
	for _, c := range []struct {
		name        string
		inner, wrap bool
	}{
		{"AEADBackend", is[backend.AEADBackend](inner), is[backend.AEADBackend](b)},
		{"FernetBackend", is[backend.FernetBackend](inner), is[backend.FernetBackend](b)},
		{"Importer", is[backend.Importer](inner), is[backend.Importer](b)},
		{"Exporter", is[backend.Exporter](inner), is[backend.Exporter](b)},
	} {
		if c.inner != c.wrap {
			t.Errorf("%s: the plugin %v, the wrapped plugin %v", c.name, c.inner, c.wrap)
		}
	}
	p, ok := plugins.AsPlugin(b)
	if !ok {
		t.Fatal("plugins.AsPlugin does not find the plugin inside the wrapper")
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	if n, ok := gauge(h.collect(t), observe.MetricPluginRestarts); !ok || n != 0 {
		t.Fatalf("%s before any crash: %d (reported: %v), want 0", observe.MetricPluginRestarts, n, ok)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// software:memory dies with its child: the key is gone, and a new
	// child answers not-found. Ask until a new child answers.
	digest := sha256.Sum256([]byte("after the crash"))
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "k2", Algorithm: backend.ECP256})
		if err == nil {
			break
		}
		if !errors.Is(err, backend.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("GenerateKey after the child was killed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, err := b.Signer(t.Context(), "k2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	rm := h.collect(t)
	if n, ok := gauge(rm, observe.MetricPluginRestarts); !ok || n != 1 {
		t.Errorf("%s after one crash: %d (reported: %v), want 1", observe.MetricPluginRestarts, n, ok)
	}
	cnt := counts(t, rm)
	if cnt[opKey{"plugin+software:memory", "ecdsa-sha256", "sign", "ok"}] != 1 {
		t.Errorf("the signature after the restart is not counted: %v", cnt)
	}
	var unavailable int64
	for k, n := range cnt {
		if k.outcome == observe.OutcomeUnavailable {
			unavailable += n
		}
	}
	t.Logf("calls answered unavailable while the child was replaced: %d", unavailable)
}
