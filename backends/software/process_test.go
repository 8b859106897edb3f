package software

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// child starts this test binary in a helper role (see TestMain).
func child(t *testing.T, role, uri, prefix string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		roleEnv+"="+role,
		"KEYPLANE_TEST_URI="+uri,
		"KEYPLANE_TEST_PREFIX="+prefix,
		PassphraseEnv+"=",
	)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

type outcome struct{ verb, label, id string }

func parseOutcomes(t *testing.T, out []byte) []outcome {
	t.Helper()
	var res []outcome
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad child output line %q", line)
		}
		res = append(res, outcome{f[0], f[1], f[2]})
	}
	return res
}

// TestKeystoreConcurrentProcesses: two processes generate and delete keys
// in one directory at once, and race for the same ten labels. Nothing is
// lost, nothing deleted survives, and each contended label has exactly one
// key — the one its winner reported.
func TestKeystoreConcurrentProcesses(t *testing.T) {
	dir := newDir(t)
	pass := []byte("shared passphrase")
	uri := dirURI(t, dir, pass)
	n := 60
	if testing.Short() {
		n = 20
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, p := range []string{"a", "b"} {
		cmd := child(t, "churn", uri, p, fmt.Sprintf("KEYPLANE_TEST_COUNT=%d", n))
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, &out)
		t.Cleanup(func() {
			if stderr.Len() > 0 {
				t.Logf("child %s stderr: %s", p, stderr.String())
			}
		})
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}

	want := map[string]string{} // label -> id
	gone := map[string]bool{}
	winners := map[string]int{}
	for _, out := range outs {
		for _, o := range parseOutcomes(t, out.Bytes()) {
			switch o.verb {
			case "kept":
				want[o.label] = o.id
			case "deleted":
				gone[o.id] = true
			case "won":
				want[o.label] = o.id
				winners[o.label]++
			case "lost":
				winners[o.label] += 0
			}
		}
	}
	for i := range 10 {
		if l := fmt.Sprintf("shared-%d", i); winners[l] != 1 {
			t.Errorf("%s was won %d times, want exactly once", l, winners[l])
		}
	}
	ks := openDir(t, dir, pass)
	keys, err := ks.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.Label] {
			t.Errorf("label %q appears twice", k.Label)
		}
		seen[k.Label] = true
		if gone[k.IDHex()] {
			t.Errorf("deleted key %s (%s) is still there", k.Label, k.IDHex())
		}
		if want[k.Label] != k.IDHex() {
			t.Errorf("key %s has ID %s, its creator reported %q", k.Label, k.IDHex(), want[k.Label])
		}
	}
	if len(keys) != len(want) {
		t.Errorf("%d keys in the directory, want %d", len(keys), len(want))
	}
	// Every surviving key decrypts and works.
	for _, k := range keys {
		if _, err := ks.ExportKey(ctx, "id:"+k.IDHex()); err != nil {
			t.Errorf("key %s: %v", k.Label, err)
		}
	}
	t.Logf("%d keys kept, %d deleted, 10 contended labels, by 2 processes", len(want)-10, len(gone))
}

// TestKeystoreKillDuringWrite: a child generating keys in a loop is killed
// with SIGKILL, several times over the same directory. Afterwards every key
// it reported as written loads and works, and every visible key is whole.
func TestKeystoreKillDuringWrite(t *testing.T) {
	dir := newDir(t)
	pass := []byte("kill passphrase")
	uri := dirURI(t, dir, pass)
	rounds := 6
	if testing.Short() {
		rounds = 3
	}
	reported := map[string]string{}
	debris := 0
	next := 0
	for round := range rounds {
		cmd := child(t, "writer", uri, "k", fmt.Sprintf("KEYPLANE_TEST_START=%d", next))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		// Let it write a few keys, then kill it at a moment that varies
		// from round to round, most likely in the middle of a write.
		target := 4 + round
		for got := 0; got < target && sc.Scan(); got++ {
			f := strings.Fields(sc.Text())
			reported[f[1]] = f[2]
		}
		time.Sleep(time.Duration(round*700) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		// Lines printed before the kill still count as written.
		rest, _ := io.ReadAll(stdout)
		for line := range strings.Lines(string(rest)) {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "wrote" {
				reported[f[1]] = f[2]
			}
		}
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child was not killed (%v): %s", round, cmd.ProcessState, stderr.String())
		}
		debris += countDebris(t, dir)
		next += 1000
	}
	t.Logf("%d keys reported written over %d kills; %d leftover temporary or orphan files seen", len(reported), rounds, debris)

	ks := openDir(t, dir, pass)
	keys, err := ks.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	visible := map[string]*backend.Key{}
	for _, k := range keys {
		visible[k.Label] = k
	}
	for label, id := range reported {
		k := visible[label]
		if k == nil || k.IDHex() != id {
			t.Errorf("reported key %s (%s) is missing after the kills", label, id)
		}
	}
	// Every visible key, reported or written just before a kill, is whole.
	for _, k := range keys {
		usable(t, ks, k)
	}
	if len(keys) < len(reported) || len(keys) > len(reported)+rounds {
		t.Errorf("%d keys visible, %d reported: at most one unreported key per kill is possible", len(keys), len(reported))
	}
	// The next write sweeps the debris away.
	mustGen(t, ks, "after", backend.Ed25519)
	if n := countDebris(t, dir); n != 0 {
		t.Errorf("%d debris files remain after a new write", n)
	}
}

// countDebris counts temporary files and key files without metadata.
func countDebris(t *testing.T, dir string) int {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range names {
		name := de.Name()
		if strings.HasPrefix(name, tempPrefix) {
			n++
		}
		if stem, ok := strings.CutSuffix(name, keySuffix); ok {
			if _, err := os.Stat(filepath.Join(dir, stem+metaSuffix)); err != nil {
				n++
			}
		}
	}
	return n
}

// usable checks that a key's material loads and does its job.
func usable(t *testing.T, ks *Keystore, k *backend.Key) {
	t.Helper()
	ref := "id:" + k.IDHex()
	switch k.Algorithm {
	case backend.AES256:
		a, err := ks.AEAD(ctx, ref)
		if err != nil {
			t.Errorf("%s: %v", k.Label, err)
			return
		}
		s, _ := a.Seal(ctx, []byte("x"), nil)
		if p, err := a.Open(ctx, s, nil); err != nil || string(p) != "x" {
			t.Errorf("%s: AEAD round trip: %v", k.Label, err)
		}
	case backend.Fernet:
		if _, err := ks.Fernet(ctx, ref); err != nil {
			t.Errorf("%s: %v", k.Label, err)
		}
	default:
		s, err := ks.Signer(ctx, ref)
		if err != nil {
			t.Errorf("%s: %v", k.Label, err)
			return
		}
		op := backend.ECDSASHA256
		if k.Algorithm == backend.Ed25519 {
			op = backend.PureEd25519
		}
		msg := []byte(k.Label)
		digest := msg
		if op.Hash() != 0 {
			d := sha256.Sum256(msg)
			digest = d[:]
		}
		sig, err := s.Sign(nil, digest, op.SignerOpts())
		if err != nil {
			t.Errorf("%s: sign: %v", k.Label, err)
			return
		}
		verify(t, k.Public, op, msg, sig)
	}
}

var _ crypto.Signer = (*signer)(nil)
