package observe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// partChecks are the type assertions of compose's parts, in bit order.
var partChecks = []struct {
	name string
	has  func(backend.Backend) bool
}{
	{"AEADBackend", is[backend.AEADBackend]},
	{"FernetBackend", is[backend.FernetBackend]},
	{"Importer", is[backend.Importer]},
	{"Exporter", is[backend.Exporter]},
	{"Health", is[healthChecker]},
	{"SessionPoolReporter", is[backend.SessionPoolReporter]},
	{"ChildStarts", is[childStarter]},
}

// TestComposeHasExactlyTheParts checks every combination compose makes:
// the value has the optional interfaces whose bits are set and no other,
// so that a wrapped backend neither gains nor loses an ability, and each
// part's method reaches the observed backend.
func TestComposeHasExactlyTheParts(t *testing.T) {
	if len(partChecks) != partCount {
		t.Fatalf("the test knows %d parts, compose_gen.go %d", len(partChecks), partCount)
	}
	o := &observed{}
	for mask := uint(0); mask < 1<<partCount; mask++ {
		b := compose(o, mask)
		for i, c := range partChecks {
			want := mask&(1<<i) != 0
			if got := c.has(b); got != want {
				t.Errorf("compose(mask %07b): %s is %v, want %v", mask, c.name, got, want)
			}
		}
		if partsOf(b) != mask {
			t.Errorf("partsOf(compose(mask %07b)) = %07b", mask, partsOf(b))
		}
		if u, ok := b.(interface{ Unwrap() backend.Backend }); !ok || u.Unwrap() != o.inner {
			t.Errorf("compose(mask %07b) has no Unwrap returning the inner backend", mask)
		}
	}
}

// TestComposeGenerated checks that compose_gen.go is what gen_compose.go
// writes (run go generate ./observe after changing the parts).
func TestComposeGenerated(t *testing.T) {
	goTool := testenv.Command(t, "go", "golang-go")
	out := filepath.Join(t.TempDir(), "compose_gen.go")
	cmd := exec.Command(goTool, "run", "gen_compose.go", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_compose.go: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("compose_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("compose_gen.go is not what gen_compose.go writes: run go generate ./observe")
	}
}
