package interop

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// noBackend is a KEYPLANE_BACKEND that cannot be opened: a command that
// works under it opened no backend.
const noBackend = "nosuch:backend"

// TestHPKECLIRecipientToPyca: pyca generates the recipient's key pair(s)
// and writes the public keys as SPKI PEM files; `keyplane encrypt
// --recipient FILE` seals to them with no backend at all (a hybrid's two
// files in either order); pyca opens every message with its private keys,
// and not one sealed with another info string.
func TestHPKECLIRecipientToPyca(t *testing.T) {
	testenv.PythonCryptography(t, 48) // skip (or fail under KEYPLANE_REQUIRE_TOOLS=1) before building the CLI
	if r := runCLI(t, t.TempDir(), noBackend, "list"); r.code != 2 {
		t.Fatalf("keyplane list under KEYPLANE_BACKEND=%s: exit %d, want 2 (the URI must not open)", noBackend, r.code)
	}
	for _, s := range pycaSuites {
		t.Run(s.Name(), func(t *testing.T) {
			dir := t.TempDir()
			keys := pycaGenerate(t, s.KeyAlgorithms()...)
			var files, privPEMs []string
			for i, k := range keys {
				f := fmt.Sprintf("recipient-%s.pub", s.KeyAlgorithms()[i])
				if err := os.WriteFile(filepath.Join(dir, f), []byte(k.SPKIPEM), 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
				privPEMs = append(privPEMs, k.PrivatePEM)
			}
			info := "keyplane cli interop " + s.Name()
			seal := func(n int, info string, msg []byte, files []string) string {
				in := filepath.Join(dir, fmt.Sprintf("msg-%d", n))
				out := filepath.Join(dir, fmt.Sprintf("sealed-%d", n))
				if err := os.WriteFile(in, msg, 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"encrypt", "--alg", s.Name(), "--info", info, "--in", in, "--out", out}
				for _, f := range files {
					args = append(args, "--recipient", f)
				}
				mustCLI(t, dir, noBackend, args...)
				sealed, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if want := s.EncapsulatedKeySize() + len(msg) + 16; len(sealed) != want {
					t.Fatalf("message %d: %d bytes sealed, want enc (%d) + %d + tag (16) = %d", n, len(sealed), s.EncapsulatedKeySize(), len(msg), want)
				}
				return hex.EncodeToString(sealed)
			}
			msgs := hpkeMessages()
			var sealed []string
			for i, m := range msgs {
				order := files
				if i%2 == 1 { // a hybrid's files the other way round
					order = slices.Clone(files)
					slices.Reverse(order)
				}
				sealed = append(sealed, seal(i, info, m, order))
			}
			sealed = append(sealed, seal(len(msgs), "another info", msgs[1], files))
			results := pycaHPKEOpen(t, s.Name(), privPEMs, []byte(info), sealed)
			for i, m := range msgs {
				r := results[i]
				if got, _ := hex.DecodeString(r.Plaintext); !r.OK || string(got) != string(m) {
					t.Errorf("message %d (%d bytes) sealed by keyplane encrypt --recipient: pyca says ok=%v %s", i, len(m), r.OK, r.Error)
				}
			}
			if results[len(msgs)].OK {
				t.Errorf("pyca opened a message sealed with another info string")
			}
			t.Logf("%s: %d messages sealed by `keyplane encrypt --recipient` to pyca's SPKI files opened by pyca, 1 with another info refused", s.Name(), len(msgs))
		})
	}
}

// TestHPKECLIRecipientRefusesPycaKeyOfOtherSuite: a pyca public key of a
// type the suite does not take is refused, naming the file and both types.
func TestHPKECLIRecipientRefusesPycaKeyOfOtherSuite(t *testing.T) {
	testenv.PythonCryptography(t, 48) // skip (or fail under KEYPLANE_REQUIRE_TOOLS=1) before building the CLI
	dir := t.TempDir()
	k := pycaGenerate(t, backend.MLKEM1024)[0]
	if err := os.WriteFile(filepath.Join(dir, "kem1024.pub"), []byte(k.SPKIPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "msg"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, noBackend, "encrypt", "--alg", "hpke-mlkem768", "--recipient", "kem1024.pub", "--in", "msg")
	want := "keyplane: --recipient kem1024.pub holds a public key of type ml-kem-1024, but hpke-mlkem768 takes type ml-kem-768: invalid input\n"
	if r.code != 2 || string(r.stderr) != want || len(r.stdout) != 0 {
		t.Fatalf("exit %d, stdout %d bytes, stderr %q; want exit 2 and %q", r.code, len(r.stdout), r.stderr, want)
	}
}
