package interop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// mldsaCLIContexts are the contexts of the CLI tests: none (the flags
// absent), text (--context) and 255 bytes that are not text
// (--context-hex), the longest FIPS 204 allows.
var mldsaCLIContexts = []struct {
	name  string
	ctx   []byte
	flags []string
}{
	{name: "no context"},
	{name: "a text context", ctx: []byte("keyplane cli interop"), flags: []string{"--context", "keyplane cli interop"}},
	{name: "255 bytes by hex", ctx: bytes.Repeat([]byte{0x00, 0xff, 0x7f}, 85), flags: []string{"--context-hex", hex.EncodeToString(bytes.Repeat([]byte{0x00, 0xff, 0x7f}, 85))}},
}

// changedContext is ctx with its last byte changed ("!" for the empty
// context): as long as ctx, so never over the 255-byte limit.
func changedContext(ctx []byte) []byte {
	if len(ctx) == 0 {
		return []byte("!")
	}
	c := bytes.Clone(ctx)
	c[len(c)-1] ^= 1
	return c
}

// otherContextFlags returns flags that give a context other than ctx:
// one for a signature without context, none for one with.
func otherContextFlags(ctx []byte) []string {
	if len(ctx) == 0 {
		return []string{"--context", "x"}
	}
	return nil
}

// TestMLDSACLIContextVerifiesInPyca: `keyplane sign --alg ml-dsa` with
// --context/--context-hex (and without) on a software keystore key;
// pyca verifies each against `keyplane pubkey`'s SPKI with the same
// context, and refuses it with the context dropped or changed.
func TestMLDSACLIContextVerifiesInPyca(t *testing.T) {
	testenv.PythonCryptography(t, 48) // skip (or fail under KEYPLANE_REQUIRE_TOOLS=1) before building the CLI
	for _, alg := range mldsaAlgs {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			uri := keystoreURI(t)
			mustCLI(t, dir, uri, "keygen", "--label", "signer", "--type", string(alg))
			spki := mustCLI(t, dir, uri, "pubkey", "--key", "signer").stdout
			var items []mldsaItem
			var want []bool
			for i, c := range mldsaCLIContexts {
				msg := []byte(fmt.Sprintf("message %d for %s", i, alg))
				in, out := filepath.Join(dir, fmt.Sprintf("msg-%d", i)), filepath.Join(dir, fmt.Sprintf("sig-%d", i))
				if err := os.WriteFile(in, msg, 0o644); err != nil {
					t.Fatal(err)
				}
				mustCLI(t, dir, uri, append([]string{"sign", "--key", "signer", "--alg", "ml-dsa", "--in", in, "--out", out}, c.flags...)...)
				sig, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				good := mldsaItem{Msg: hex.EncodeToString(msg), Sig: hex.EncodeToString(sig), HasContext: c.ctx != nil, Context: hex.EncodeToString(c.ctx)}
				bad := good
				if c.ctx == nil {
					bad.HasContext, bad.Context = true, hex.EncodeToString([]byte("x"))
				} else {
					bad.HasContext, bad.Context = false, ""
				}
				changed := good
				changed.HasContext, changed.Context = true, hex.EncodeToString(changedContext(c.ctx))
				items, want = append(items, good, bad, changed), append(want, true, false, false)
			}
			var resp struct {
				Valid []bool `json:"valid"`
			}
			pycaPQ(t, map[string]any{"op": "mldsa_verify", "spki_pem": string(spki), "items": items}, &resp)
			if len(resp.Valid) != len(items) {
				t.Fatalf("pyca answered %d, want %d", len(resp.Valid), len(items))
			}
			for i := range items {
				if resp.Valid[i] != want[i] {
					t.Errorf("item %d (%s; verified with context %v %q): pyca says valid=%v, want %v",
						i, mldsaCLIContexts[i/3].name, items[i].HasContext, items[i].Context, resp.Valid[i], want[i])
				}
			}
			t.Logf("%s: %d `keyplane sign` signatures checked by pyca (%d valid with their context, %d with the context dropped or changed refused)", alg, len(items), len(items)/3, 2*len(items)/3)
		})
	}
}

// TestMLDSACLIVerifiesPycaContext: pyca signs with its ML-DSA key, with
// and without a context; `keyplane verify --pubkey` (pyca's SPKI file,
// no backend) with the same --context/--context-hex says valid (exit 0),
// with another context or none NOT valid (exit 1).
func TestMLDSACLIVerifiesPycaContext(t *testing.T) {
	testenv.PythonCryptography(t, 48) // skip (or fail under KEYPLANE_REQUIRE_TOOLS=1) before building the CLI
	for _, alg := range mldsaAlgs {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			key := pycaGenerate(t, alg)[0]
			if err := os.WriteFile(filepath.Join(dir, "pyca.pub"), []byte(key.SPKIPEM), 0o644); err != nil {
				t.Fatal(err)
			}
			var items []mldsaItem
			for i, c := range mldsaCLIContexts {
				msg := []byte(fmt.Sprintf("pyca message %d for %s", i, alg))
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("msg-%d", i)), msg, 0o644); err != nil {
					t.Fatal(err)
				}
				items = append(items, mldsaItem{Msg: hex.EncodeToString(msg), HasContext: c.ctx != nil, Context: hex.EncodeToString(c.ctx)})
			}
			var resp struct {
				Sigs []string `json:"signatures_hex"`
			}
			pycaPQ(t, map[string]any{"op": "mldsa_sign", "private_pem": key.PrivatePEM, "items": items}, &resp)
			if len(resp.Sigs) != len(items) {
				t.Fatalf("pyca made %d signatures, want %d", len(resp.Sigs), len(items))
			}
			checks := 0
			for i, c := range mldsaCLIContexts {
				sig, _ := hex.DecodeString(resp.Sigs[i])
				sigFile := fmt.Sprintf("sig-%d", i)
				if err := os.WriteFile(filepath.Join(dir, sigFile), sig, 0o644); err != nil {
					t.Fatal(err)
				}
				verify := func(flags []string) cliRun {
					args := []string{"verify", "--pubkey", "pyca.pub", "--alg", "ml-dsa", "--sig", sigFile, "--in", fmt.Sprintf("msg-%d", i)}
					checks++
					return runCLI(t, dir, noBackend, append(args, flags...)...)
				}
				if r := verify(c.flags); r.code != 0 || !bytes.Equal(r.stdout, []byte("signature is valid\n")) {
					t.Errorf("pyca's signature with %s: keyplane verify exit %d, %q %q; want 0, valid", c.name, r.code, r.stdout, r.stderr)
				}
				for _, other := range [][]string{otherContextFlags(c.ctx), {"--context-hex", hex.EncodeToString(changedContext(c.ctx))}} {
					if r := verify(other); r.code != 1 || !bytes.Contains(r.stderr, []byte("signature is NOT valid")) {
						t.Errorf("pyca's signature with %s, verified with %v: exit %d, %q; want 1, NOT valid", c.name, other, r.code, r.stderr)
					}
				}
			}
			t.Logf("%s: %d pyca signatures, %d `keyplane verify --pubkey` checks (%d valid with the same context, %d with another context or none refused)", alg, len(items), checks, len(items), checks-len(items))
		})
	}
}
