package secretstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	_ "github.com/keyplane/keyplane/plugins"
)

// TestSecretsNeverLeak is issue 6's item 6: see the package documentation.
// The subtests share one checker and one log capture; the log records of
// every subtest are checked at the end.
func TestSecretsNeverLeak(t *testing.T) {
	chk := newChecker()
	var logs logCapture
	logs.install(t)

	for _, s := range []string{
		"software:/srv/keys?passphrase=" + pass,
		"pkcs11:token=t?module-path=/m.so&pin-value=" + pin,
		"pkcs11:token=t;pin-value=" + pin + "?module-path=/m.so",
		"pkcs11:pin-value=" + pin,
		"plugin+pkcs11:token=t?PIN-VALUE=" + pin + "&pin=" + wrongPIN,
	} {
		chk.text(t, kindString, "backend.Redact", backend.Redact(s))
	}

	// ran records the parts that ran to their end without skipping, to
	// know what must have been checked (with -run, some do not run).
	ran := map[string]bool{}
	for _, part := range []struct {
		name string
		run  func(*testing.T, *checker)
	}{
		{"software", testSoftware},
		{"pkcs11", testPKCS11},
		{"security officer", testSecurityOfficer},
		{"awskms", testAWSKMS},
		{"plugin", testPlugins},
		{"cli", testCLI},
	} {
		t.Run(part.name, func(t *testing.T) {
			part.run(t, chk)
			ran[part.name] = !t.Skipped() && !t.Failed()
		})
	}

	lines, total, debug := logs.lines()
	for i, l := range lines {
		chk.text(t, kindLog, fmt.Sprintf("line %d", i+1), l)
	}
	counts := chk.counts()
	t.Logf("checked: %v; log records: %d (%d below info, not the test's own)", counts, total, debug)
	want := map[string][]string{
		"software":         {kindError, kindLog, kindString, kindCaps},
		"pkcs11":           {kindError, kindString, kindCaps},
		"security officer": {kindError, kindCLI},
		"awskms":           {kindError, kindString, kindCaps},
		"plugin":           {kindError, kindEnviron, kindCmdline},
		"cli":              {kindCLI},
	}
	for part, kinds := range want {
		for _, kind := range kinds {
			if ran[part] && counts[kind] == 0 {
				t.Errorf("the %s part ran, but no %s was checked", part, kind)
			}
		}
	}
	// The plugin host logs each start at debug level, and go-plugin more
	// at trace level: without such records the capture was not listening
	// at debug level.
	if ran["plugin"] && debug == 0 {
		t.Errorf("no record below slog.LevelInfo was captured; the debug-level check saw nothing")
	}
}

const sha256Hash = crypto.SHA256

// signAndVerify signs with the key ref of b and verifies the signature
// with crypto/ecdsa: the success paths must really work.
func signAndVerify(t *testing.T, chk *checker, where string, b backend.Backend, ref string) {
	t.Helper()
	s, err := b.Signer(t.Context(), ref)
	chk.ok(t, where+": Signer", err)
	digest := sha256.Sum256([]byte("keyplane secrets test"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	chk.ok(t, where+": Sign", err)
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("%s: the signature does not verify", where)
	}
}

// generate makes an EC P-256 key and checks the Key's fmt forms and URI.
func generate(t *testing.T, chk *checker, where string, b backend.Backend, label string) *backend.Key {
	t.Helper()
	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.ECP256})
	chk.ok(t, where+": GenerateKey", err)
	chk.value(t, where+" key", k)
	chk.text(t, kindString, where+" key URI", k.URI)
	return k
}

// listKeys lists b's keys, checks their URIs, and checks that label is
// among them.
func listKeys(t *testing.T, chk *checker, where string, b backend.Backend, label string) {
	t.Helper()
	keys, err := b.Keys(t.Context())
	chk.ok(t, where+": Keys", err)
	var labels []string
	for _, k := range keys {
		labels = append(labels, k.Label)
		chk.text(t, kindString, where+" key URI", k.URI)
		chk.value(t, where+" listed key", k)
	}
	if !slices.Contains(labels, label) {
		t.Fatalf("%s: Keys lists %q, not %q", where, labels, label)
	}
}

// missingKey runs every lookup of a key that does not exist.
func missingKey(t *testing.T, chk *checker, where string, b backend.Backend) {
	t.Helper()
	ctx := t.Context()
	const ref = "no-such-key"
	_, err := b.Signer(ctx, ref)
	chk.fails(t, where+": Signer(missing)", err, backend.ErrNotFound)
	_, err = b.Decrypter(ctx, ref)
	chk.fails(t, where+": Decrypter(missing)", err, backend.ErrNotFound)
	_, err = b.Key(ctx, ref)
	chk.fails(t, where+": Key(missing)", err, backend.ErrNotFound)
	err = b.DeleteKey(ctx, ref)
	chk.fails(t, where+": DeleteKey(missing)", err, backend.ErrNotFound)
	if a, ok := b.(backend.AEADBackend); ok {
		_, err = a.AEAD(ctx, ref)
		chk.fails(t, where+": AEAD(missing)", err, backend.ErrNotFound)
	}
}
