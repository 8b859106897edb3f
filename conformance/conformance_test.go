package conformance_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/conformance"
)

// quick is a small selection of algorithms, one of each family, so that
// the self-tests stay fast.
var quick = []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.Ed25519, backend.AES256, backend.Fernet}

func openMemory(ctx context.Context) (backend.Backend, error) {
	return backend.Open(ctx, "software:memory")
}

// checkWith runs Check on software:memory wrapped by wrap.
func checkWith(t *testing.T, cfg conformance.Config, wrap func(backend.Backend) backend.Backend) *conformance.Report {
	t.Helper()
	if cfg.Algorithms == nil {
		cfg.Algorithms = quick
	}
	cfg.Short = true
	rep, err := conformance.Check(t.Context(), func(ctx context.Context) (backend.Backend, error) {
		b, err := openMemory(ctx)
		if err != nil {
			return nil, err
		}
		return wrap(b), nil
	}, cfg)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rep
}

func statusOf(rep *conformance.Report, name string) (conformance.Result, bool) {
	i := slices.IndexFunc(rep.Results, func(r conformance.Result) bool { return r.Name == name })
	if i < 0 {
		return conformance.Result{}, false
	}
	return rep.Results[i], true
}

// wantStatus checks the outcome of named checks, and that the message of a
// failure mentions what.
func wantStatus(t *testing.T, rep *conformance.Report, want conformance.Status, what string, names ...string) {
	t.Helper()
	for _, name := range names {
		r, ok := statusOf(rep, name)
		if !ok {
			t.Errorf("no check named %q", name)
			continue
		}
		if r.Status != want {
			t.Errorf("%s: %s (%q), want %s", name, r.Status, r.Message, want)
			continue
		}
		if what != "" && !strings.Contains(r.Message, what) {
			t.Errorf("%s: message %q does not mention %q", name, r.Message, what)
		}
	}
}

func failedNames(rep *conformance.Report) []string {
	var names []string
	for _, r := range rep.Results {
		if r.Status == conformance.Fail {
			names = append(names, r.Name)
		}
	}
	return names
}

// TestCheckHealthyBackend: the software backend passes, the report is
// complete and consistent, and Check cleans up after itself without
// touching other keys.
func TestCheckHealthyBackend(t *testing.T) {
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	uri := "software:" + filepath.Join(t.TempDir(), "keys")
	b, err := backend.Open(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	// A key that is not the suite's: it must survive untouched.
	mine, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "conformance-not-yours", Algorithm: backend.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	opens := 0
	var progress bytes.Buffer
	rep, err := conformance.Check(t.Context(), func(ctx context.Context) (backend.Backend, error) {
		opens++
		return backend.Open(ctx, uri)
	}, conformance.Config{Algorithms: quick, Short: true, Progress: &progress, LabelPrefix: "selftest-"})
	if err != nil {
		t.Fatal(err)
	}
	if opens != 1 {
		t.Errorf("open called %d times, want 1", opens)
	}
	pass, fail, skip := rep.Counts()
	if rep.Failed() || fail != 0 {
		t.Errorf("the software keystore fails the suite: %q", failedNames(rep))
		rep.FailureDetails(testWriter{t})
	}
	if pass < 50 || pass+fail+skip != len(rep.Results) {
		t.Errorf("counts %d/%d/%d of %d results; want at least 50 passes", pass, fail, skip, len(rep.Results))
	}
	if rep.Capabilities == nil || rep.Capabilities.Backend != "software" {
		t.Errorf("report capabilities %+v", rep.Capabilities)
	}
	// Skips say why: rsa-3072 is not selected.
	wantStatus(t, rep, conformance.Skip, "not selected", "generate/rsa-3072")

	// Progress: one line per result, in the documented form.
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	if len(lines) != len(rep.Results) {
		t.Errorf("%d progress lines for %d results", len(lines), len(rep.Results))
	}
	re := regexp.MustCompile(`^(ok  |FAIL|skip) [a-z0-9/-]+ \([0-9.]+[µnm]?s\)(: .*)?$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("progress line %q is not in the form %q", l, "ok   sign/ec-p256/ecdsa-sha256 (12ms)")
		}
	}

	// Nothing of ours left; the other key untouched.
	b, err = backend.Open(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	keys, err := b.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Label != mine.Label || !bytes.Equal(keys[0].ID, mine.ID) || !keys[0].Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(mine.Public) {
		var labels []string
		for _, k := range keys {
			labels = append(labels, k.Label)
		}
		t.Errorf("after Check the keystore holds %q, want only %q as it was", labels, mine.Label)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func TestReportTableAndJSON(t *testing.T) {
	rep := checkWith(t, conformance.Config{Algorithms: []backend.Algorithm{backend.Ed25519, backend.AES256}}, func(b backend.Backend) backend.Backend { return b })
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	pass, fail, skip := rep.Counts()
	for _, want := range []string{
		"Capabilities", "backend", "software", "algorithms", "ed25519", "operations", "aes-256-gcm",
		"import", "export", "persistent", "\ngenerate\n", "\nsign\n", "sign/ed25519/ed25519",
		fmt.Sprintf("%d passed, %d failed, %d skipped", pass, fail, skip),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back conformance.Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(rep.Results) || back.Capabilities.Backend != "software" {
		t.Fatalf("JSON round trip lost data: %s", data)
	}
	for _, key := range []string{`"capabilities"`, `"results"`, `"name"`, `"status"`, `"duration"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if err := rep.WriteTable(failingWriter{}); err == nil {
		t.Errorf("WriteTable to a failing writer returned no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestSuiteCatchesFaults: each broken backend fails the checks that cover
// what it breaks.
func TestSuiteCatchesFaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		algs    []backend.Algorithm
		wrap    func(f *faulty)
		failing []string
		what    string
		passing []string
	}{
		{
			name:    "ECDSA signs another digest",
			algs:    []backend.Algorithm{backend.ECP256},
			wrap:    func(f *faulty) { f.signer = signsOtherDigest },
			failing: []string{"sign/ec-p256/ecdsa-sha256", "sign/ec-p256/ecdsa-sha512", "concurrency/shared-keys", "interop/x509/ec-p256", "interop/tls/ec-p256"},
			what:    "verif", // "does not verify", crypto/x509's "verification failure"
			passing: []string{"capabilities", "key/ec-p256", "list"},
		},
		{
			name:    "decryption errors leak padding detail",
			algs:    []backend.Algorithm{backend.RSA2048},
			wrap:    func(f *faulty) { f.decrypter = leaksPadding },
			failing: []string{"decrypt/rsa-2048/rsa-oaep-sha256", "decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "must stay vague",
			passing: []string{"sign/rsa-2048/rsa-pss-sha256"},
		},
		{
			name:    "decryption errors vary with the cause",
			algs:    []backend.Algorithm{backend.RSA2048},
			wrap:    func(f *faulty) { f.decrypter = variesWithCause },
			failing: []string{"decrypt/rsa-2048/rsa-oaep-sha256", "decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "indistinguishable",
		},
		{
			name:    "no implicit rejection",
			algs:    []backend.Algorithm{backend.RSA2048},
			wrap:    func(f *faulty) { f.decrypter = explicitRejection },
			failing: []string{"decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "implicit rejection",
			passing: []string{"decrypt/rsa-2048/rsa-oaep-sha256"},
		},
		{
			name:    "implicit rejection not reported",
			algs:    []backend.Algorithm{backend.RSA2048},
			wrap:    func(f *faulty) { f.decrypter = implicitRejection(true) },
			failing: []string{"decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "want ErrDecryption",
		},
		{
			name: "implicit rejection reported, answers random",
			algs: []backend.Algorithm{backend.RSA2048},
			wrap: func(f *faulty) {
				f.caps, f.decrypter = reportsImplicitRejection, implicitRejection(false)
			},
			failing: []string{"decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "deterministic",
		},
		{
			name:    "implicit rejection reported, errors",
			algs:    []backend.Algorithm{backend.RSA2048},
			wrap:    func(f *faulty) { f.caps = reportsImplicitRejection },
			failing: []string{"decrypt/rsa-2048/rsa-pkcs1v15"},
			what:    "want a synthetic plaintext",
		},
		{
			name:    "Keys not sorted",
			algs:    []backend.Algorithm{backend.ECP256, backend.Ed25519},
			wrap:    func(f *faulty) { f.keys = unsortedKeys },
			failing: []string{"list"},
			what:    "not sorted",
		},
		{
			name: "DeleteKey of a missing key succeeds",
			algs: []backend.Algorithm{backend.Ed25519},
			wrap: func(f *faulty) {
				inner := f.Backend
				f.deleteKey = func(ctx context.Context, ref string) error {
					if err := inner.DeleteKey(ctx, ref); !errors.Is(err, backend.ErrNotFound) {
						return err
					}
					return nil
				}
			},
			failing: []string{"errors/not-found", "delete/ed25519"},
			what:    "want ErrNotFound",
		},
		{
			name:    "AEAD reuses a nonce",
			algs:    []backend.Algorithm{backend.AES256},
			wrap:    func(f *faulty) { f.aead = fixedNonce },
			failing: []string{"aead/nonces", "aead/seal-open"},
			what:    "",
			passing: []string{"aead/wrong-key"},
		},
		{
			name: "an unreported algorithm is still generated",
			algs: []backend.Algorithm{backend.ECP256},
			wrap: func(f *faulty) {
				f.caps = func(c *backend.Capabilities) {
					c.Algorithms = slices.DeleteFunc(c.Algorithms, func(a backend.Algorithm) bool { return a == backend.Ed25519 })
				}
			},
			failing: []string{"generate/ed25519"},
			what:    "does not report ed25519",
		},
		{
			name: "a reported operation missing its interface",
			algs: []backend.Algorithm{backend.ECP256},
			wrap: func(f *faulty) {
				f.caps = func(c *backend.Capabilities) { c.Operations = append(c.Operations, "no-such-op") }
			},
			failing: []string{"capabilities"},
			what:    "unknown algorithm",
		},
		{
			name:    "keeps working after Close",
			algs:    []backend.Algorithm{backend.Ed25519},
			wrap:    func(f *faulty) { f.closed = true },
			failing: []string{"close"},
			what:    "ErrClosed",
		},
		{
			name: "Key returns another public key",
			algs: []backend.Algorithm{backend.ECP256},
			wrap: func(f *faulty) {
				f.key = func(k *backend.Key) *backend.Key {
					c := *k
					if c.Algorithm == backend.ECP256 {
						c.Public = nil
					}
					return &c
				}
			},
			failing: []string{"key/ec-p256"},
			what:    "no public key",
		},
		{
			// The capability report says one PSS salt length only; the
			// backend signs others instead of refusing them.
			name: "reports pss-salt=hash-length but signs any salt",
			algs: []backend.Algorithm{backend.RSA2048},
			wrap: func(f *faulty) {
				f.caps = func(c *backend.Capabilities) {
					c.Details = map[string]string{backend.DetailPSSSalt: backend.PSSSaltHashLength}
				}
			},
			failing: []string{"sign/rsa-2048/rsa-pss-sha256", "sign/rsa-2048/rsa-pss-sha512"},
			what:    "want ErrUnsupported",
			passing: []string{"sign/rsa-2048/rsa-pkcs1v15-sha256", "interop/tls/rsa-2048"},
		},
		{
			name: "reports oaep without labels but does not refuse them",
			algs: []backend.Algorithm{backend.RSA2048},
			wrap: func(f *faulty) {
				f.caps = func(c *backend.Capabilities) {
					c.Details = map[string]string{backend.DetailOAEP: backend.OAEPNoLabel}
				}
			},
			failing: []string{"decrypt/rsa-2048/rsa-oaep-sha256", "decrypt/rsa-2048/rsa-oaep-sha1"},
			what:    "ErrUnsupported",
			passing: []string{"decrypt/rsa-2048/rsa-pkcs1v15"},
		},
		{
			name: "GenerateKey ignores duplicate labels",
			algs: []backend.Algorithm{backend.Ed25519},
			wrap: func(f *faulty) {
				inner := f.Backend
				f.generate = func(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
					k, err := inner.GenerateKey(ctx, spec)
					if errors.Is(err, backend.ErrAlreadyExists) {
						return &backend.Key{Label: spec.Label, Algorithm: spec.Algorithm, ID: []byte{1}}, nil
					}
					return k, err
				}
			},
			failing: []string{"errors/duplicate-label"},
			what:    "succeeded",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := checkWith(t, conformance.Config{Algorithms: c.algs}, func(b backend.Backend) backend.Backend {
				f := &faulty{Backend: b}
				c.wrap(f)
				return f
			})
			wantStatus(t, rep, conformance.Fail, c.what, c.failing...)
			wantStatus(t, rep, conformance.Pass, "", c.passing...)
			if !rep.Failed() {
				t.Errorf("Report.Failed() is false")
			}
		})
	}
}

// TestSuiteAcceptsImplicitRejection: a backend that reports implicit
// rejection and does it (a synthetic plaintext, the same for the same
// ciphertext) passes the PKCS#1 v1.5 checks.
func TestSuiteAcceptsImplicitRejection(t *testing.T) {
	rep := checkWith(t, conformance.Config{Algorithms: []backend.Algorithm{backend.RSA2048}}, func(b backend.Backend) backend.Backend {
		return &faulty{Backend: b, caps: reportsImplicitRejection, decrypter: implicitRejection(true)}
	})
	wantStatus(t, rep, conformance.Pass, "", "decrypt/rsa-2048/rsa-pkcs1v15", "decrypt/rsa-2048/rsa-oaep-sha256")
}

// TestCheckSurvivesPanics: a backend that panics fails the check, not the
// program, and the suite goes on.
func TestCheckSurvivesPanics(t *testing.T) {
	rep := checkWith(t, conformance.Config{Algorithms: []backend.Algorithm{backend.Ed25519}}, func(b backend.Backend) backend.Backend {
		return &faulty{Backend: b, signer: func(crypto.Signer) crypto.Signer {
			return signerFunc{nil, func(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { panic("boom") }}
		}}
	})
	wantStatus(t, rep, conformance.Fail, "boom", "sign/ed25519/ed25519")
	wantStatus(t, rep, conformance.Pass, "", "cleanup")
}

func TestCheckOpenError(t *testing.T) {
	want := errors.New("token absent")
	rep, err := conformance.Check(t.Context(), func(context.Context) (backend.Backend, error) { return nil, want }, conformance.Config{})
	if !errors.Is(err, want) || rep != nil {
		t.Fatalf("Check with a failing open = %v, %v; want the open error", rep, err)
	}
}

// TestCheckCanceled: a canceled context stops the run; the remaining checks
// are reported as not run, and the keys made so far are deleted.
func TestCheckCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := openMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := &faulty{Backend: b, closed: true}
	f.signer = func(s crypto.Signer) crypto.Signer {
		cancel() // cancel during the first signature
		return s
	}
	rep, err := conformance.Check(ctx, func(context.Context) (backend.Backend, error) { return f, nil },
		conformance.Config{Algorithms: []backend.Algorithm{backend.Ed25519}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := statusOf(rep, "close")
	if r.Status != conformance.Skip || !strings.Contains(r.Message, "canceled") {
		t.Errorf("the last check after cancel: %+v, want skipped as not run", r)
	}
	keys, err := b.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("%d keys left after a canceled run", len(keys))
	}
}

// TestRun is Run itself on software:memory (the backends run it too, in
// their own packages).
func TestRun(t *testing.T) {
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := openMemory(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{Algorithms: quick, Short: true})
}

// TestCheckReopen: with Reopen, open is called twice and the keys are found
// again in a keystore directory; a backend that forgets its keys fails.
func TestCheckReopen(t *testing.T) {
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	uri := "software:" + filepath.Join(t.TempDir(), "keys")
	opens := 0
	rep, err := conformance.Check(t.Context(), func(ctx context.Context) (backend.Backend, error) {
		opens++
		return backend.Open(ctx, uri)
	}, conformance.Config{Reopen: true, Short: true, Algorithms: []backend.Algorithm{backend.ECP256, backend.AES256, backend.Fernet}})
	if err != nil {
		t.Fatal(err)
	}
	if opens != 2 {
		t.Errorf("open called %d times with Reopen, want 2", opens)
	}
	if rep.Failed() {
		t.Errorf("keystore with Reopen fails: %q", failedNames(rep))
	}
	wantStatus(t, rep, conformance.Pass, "", "reopen/close", "reopen/open", "reopen/ec-p256", "reopen/aes-256", "reopen/fernet")

	// software:memory forgets everything on Close.
	rep = checkWith(t, conformance.Config{Reopen: true, Algorithms: []backend.Algorithm{backend.ECP256}}, func(b backend.Backend) backend.Backend { return b })
	wantStatus(t, rep, conformance.Fail, "Persistent is false", "capabilities", "reopen/open")
	wantStatus(t, rep, conformance.Fail, "not found", "reopen/ec-p256")
}

// TestReportMessagesStable: the same faults give the same report text
// from run to run (the token matrix, docs/backends/tokens.md, is compared
// byte for byte). A backend that refuses every key with a plain error
// fails errors/bad-label on every label it tries.
func TestReportMessagesStable(t *testing.T) {
	var first string
	for i := 0; i < 6; i++ {
		rep := checkWith(t, conformance.Config{Algorithms: []backend.Algorithm{backend.Ed25519}}, func(b backend.Backend) backend.Backend {
			return &faulty{Backend: b, generate: func(context.Context, backend.KeySpec) (*backend.Key, error) {
				return nil, errors.New("refused")
			}}
		})
		r, ok := statusOf(rep, "errors/bad-label")
		if !ok || r.Status != conformance.Fail {
			t.Fatalf("errors/bad-label: %+v, want a failure", r)
		}
		msg := labelPrefix.ReplaceAllString(r.Message, "PREFIX-")
		if i == 0 {
			first = msg
		} else if msg != first {
			t.Fatalf("run %d says:\n%s\nrun 0 said:\n%s", i, msg, first)
		}
	}
}

var labelPrefix = regexp.MustCompile(`conformance-[0-9a-f]{12}-`)
