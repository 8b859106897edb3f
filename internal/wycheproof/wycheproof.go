// Package wycheproof runs Project Wycheproof's test vectors
// (github.com/C2SP/wycheproof) against keyplane backends.
//
// The vectors are fetched the way the Go standard library's own tests fetch
// them: `go mod download -json` of the module at a pinned version ([Module],
// [Version]), outside keyplane's go.mod, so that the vectors are never a
// requirement of the keyplane module. [Dir] runs that command once per test
// process. When it fails (no network, no module cache), tests skip with
// testenv.Missing, or fail when KEYPLANE_REQUIRE_TOOLS=1 (CI).
//
// # Runners
//
// The Run* functions are backend-generic: every backend's tests call them
// with an open backend.Backend, which must implement backend.Importer. Each
// runner imports every distinct key of its files once, under a fresh label
// ("wycheproof-…"), deletes them when the test ends, runs every vector,
// logs one summary line per file and returns the per-file [Stats]:
//
//	RunRSAOAEPDecrypt  rsa_oaep_*_test.json (including rsa_oaep_misc_test.json)
//	RunRSAPKCS1Decrypt rsa_pkcs1_<bits>_test.json, with and without SessionKeyLen
//	RunECDSA           ecdsa_*_test.json (DER and P1363 schemas)
//	RunEd25519         ed25519_test.json
//	RunAESGCM          aes_gcm_test.json, through backend.AEADBackend
//	RunMLDSA           mldsa_{44,65,87}_{sign_seed,sign_noseed,verify}_test.json
//	RunMLKEM           mlkem_test.json, through backend.KEM
//
// A backend's test calls them like this (backends/software/wycheproof_test.go):
//
//	func TestWycheproof(t *testing.T) {
//		b, err := backend.Open(t.Context(), "software:memory")
//		if err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(func() { b.Close() }) // runs after the runners' key deletion
//		for _, s := range wycheproof.RunRSAOAEPDecrypt(t, b) {
//			_ = s.Passed // per-file figures, also logged
//		}
//	}
//
// The signatures of the Run* functions and the fields of [Stats] are
// relied on by every backend's tests: extend them compatibly.
//
// A vector is Skipped, never Passed, when the backend refuses its key or
// parameters with ErrUnsupported, or when keyplane has no such operation (a
// curve or hash it does not offer, an AEAD layout other than its fixed one);
// Stats.SkipReasons counts why. Every flag a vector carries must be in the
// runner's table of known flags, with the results that flag allows; an
// unknown flag, or a flag seen with a result the table does not allow, fails
// the test.
//
// Every decryption failure must satisfy errors.Is(err,
// backend.ErrDecryption), must not mention "CKR_" or "padding", and must
// read the same for every failing vector of a file: a backend that says more
// is a decryption oracle.
//
// # Limitations
//
// The testvectors_v1 ECDSA and EdDSA files hold only public keys. RunECDSA
// therefore imports one freshly generated key per curve for the backend to
// sign each vector's message with, and checks the vectors' own signatures
// with keyplane's verification path (crypto/ecdsa.VerifyASN1, after
// internal/ecsig's P1363 conversion). RunEd25519 takes the private keys of
// the same module's legacy testvectors/eddsa_test.json, matched by public
// key, so that the backend's deterministic signatures can be compared byte
// for byte with the vectors'.
package wycheproof

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// The pinned vectors.
const (
	Module  = "github.com/C2SP/wycheproof"
	Version = "v0.0.0-20250901140545-b51abcfb8daf"
)

var download struct {
	once sync.Once
	dir  string // module root
	err  error
}

// Dir returns the directory holding the pinned testvectors_v1/*.json files,
// downloading the module with the go command the first time it is called in
// the process. When the download fails it calls testenv.Missing, which skips
// t, or fails it under KEYPLANE_REQUIRE_TOOLS=1.
func Dir(t testing.TB) string {
	t.Helper()
	return filepath.Join(moduleDir(t), "testvectors_v1")
}

func moduleDir(t testing.TB) string {
	t.Helper()
	download.once.Do(func() { download.dir, download.err = fetch() })
	if download.err != nil {
		testenv.Missing(t, fmt.Sprintf("Wycheproof vectors %s@%s (%v)", Module, Version, download.err),
			"network access to the Go module proxy, or a module cache holding "+Module+"@"+Version)
	}
	return download.dir
}

func fetch() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command not found on PATH: %v", err)
	}
	tmp, err := os.MkdirTemp("", "keyplane-wycheproof-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// Run outside keyplane's module so that go.mod and go.sum are never
	// touched; GOFLAGS from the environment (-mod=vendor…) must not apply.
	cmd := exec.Command(goTool, "mod", "download", "-json", Module+"@"+Version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download: %v: %s", runErr, bytes.TrimSpace(stderr.Bytes()))
		}
		return "", fmt.Errorf("go mod download: reading its JSON output: %v", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download: %v: %s", runErr, bytes.TrimSpace(stderr.Bytes()))
	}
	if _, err := os.Stat(filepath.Join(info.Dir, "testvectors_v1")); err != nil {
		return "", fmt.Errorf("downloaded module has no testvectors_v1: %v", err)
	}
	return info.Dir, nil
}

// Files returns the base names of the testvectors_v1 files matching the
// glob pattern, sorted. It fails t when none match: a pattern that finds
// nothing would make a runner pass vacuously.
func Files(t testing.TB, pattern string) []string {
	t.Helper()
	dir := Dir(t)
	paths, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatalf("wycheproof: pattern %q: %v", pattern, err)
	}
	if len(paths) == 0 {
		t.Fatalf("wycheproof: no file matches %q in %s", pattern, dir)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	sort.Strings(names)
	return names
}

// ReadFile returns the content of testvectors_v1/name, or fails t.
func ReadFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Fatalf("wycheproof: %v", err)
	}
	return data
}

// LoadRSAOAEP reads and parses testvectors_v1/name, or fails t.
func LoadRSAOAEP(t testing.TB, name string) *RSAOAEPFile {
	t.Helper()
	f, err := ParseRSAOAEP(name, ReadFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// LoadRSAPKCS1 reads and parses testvectors_v1/name, or fails t.
func LoadRSAPKCS1(t testing.TB, name string) *RSAPKCS1File {
	t.Helper()
	f, err := ParseRSAPKCS1(name, ReadFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// LoadECDSA reads and parses testvectors_v1/name, or fails t.
func LoadECDSA(t testing.TB, name string) *ECDSAFile {
	t.Helper()
	f, err := ParseECDSA(name, ReadFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// LoadEdDSA reads and parses testvectors_v1/name, or fails t.
func LoadEdDSA(t testing.TB, name string) *EdDSAFile {
	t.Helper()
	f, err := ParseEdDSA(name, ReadFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// LoadAEAD reads and parses testvectors_v1/name, or fails t.
func LoadAEAD(t testing.TB, name string) *AEADFile {
	t.Helper()
	f, err := ParseAEAD(name, ReadFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
