package wycheproof

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// checkStats asserts the per-file figures add up, that some vectors ran,
// and that every skip has a reason.
func checkStats(t *testing.T, all []Stats, wantFiles int) (passed int) {
	t.Helper()
	if len(all) != wantFiles {
		t.Errorf("got stats for %d files, want %d", len(all), wantFiles)
	}
	for _, s := range all {
		if s.Passed+s.Skipped != s.Total {
			t.Errorf("%s: %d passed + %d skipped != %d total", s.File, s.Passed, s.Skipped, s.Total)
		}
		n := 0
		for _, c := range s.SkipReasons {
			n += c
		}
		if n != s.Skipped {
			t.Errorf("%s: skip reasons count %d, skipped %d", s.File, n, s.Skipped)
		}
		passed += s.Passed
	}
	if passed == 0 {
		t.Errorf("no vector passed at all")
	}
	return passed
}

func statsFor(t *testing.T, all []Stats, file string) Stats {
	t.Helper()
	for _, s := range all {
		if s.File == file {
			return s
		}
	}
	t.Fatalf("no stats for %s", file)
	return Stats{}
}

func TestRunRSAOAEPDecryptStd(t *testing.T) {
	b := newStdBackend(faults{})
	all := RunRSAOAEPDecrypt(t, b)
	checkStats(t, all, len(Files(t, "rsa_oaep_*_test.json")))
	// A file whose key and hashes keyplane takes must run in full.
	s := statsFor(t, all, "rsa_oaep_2048_sha256_mgf1sha256_test.json")
	if s.Skipped != 0 || s.Passed != s.Total || s.BackendOps != s.Total {
		t.Errorf("2048/SHA-256: %v, want every vector decrypted by the backend", s.String())
	}
	// SHA-512/224 is not a keyplane OAEP hash: skipped, never passed.
	s = statsFor(t, all, "rsa_oaep_2048_sha512_224_mgf1sha1_test.json")
	if s.Passed != 0 || s.Skipped != s.Total {
		t.Errorf("SHA-512/224: %v, want all skipped", s.String())
	}
	// The misc file has 1024/1536/8192-bit keys, which the backend refuses.
	s = statsFor(t, all, "rsa_oaep_misc_test.json")
	if s.SkipReasons["key rsa-1024 refused by the backend (unsupported)"] == 0 || s.Passed == 0 {
		t.Errorf("misc: %v, want 1024-bit keys skipped and 2048-bit ones passed", s.String())
	}
}

// A backend that refuses OAEP labels outright (as SoftHSM2 2.6.1 does
// without the host-side fallback) has those vectors skipped, not failed.
func TestRunRSAOAEPDecryptRefusedLabels(t *testing.T) {
	all := RunRSAOAEPDecrypt(t, newStdBackend(faults{refuseLabels: true}))
	checkStats(t, all, len(Files(t, "rsa_oaep_*_test.json")))
	s := statsFor(t, all, "rsa_oaep_2048_sha256_mgf1sha256_test.json")
	reason := "backend refused OAEP SHA-256/MGF1-SHA-256 with rsa-2048, label: true (unsupported)"
	if s.SkipReasons[reason] == 0 || s.Passed == 0 {
		t.Errorf("%v: want labelled vectors skipped with %q, the others passed", s.String(), reason)
	}
}

func TestRunRSAPKCS1DecryptStd(t *testing.T) {
	all := RunRSAPKCS1Decrypt(t, newStdBackend(faults{}))
	checkStats(t, all, 3)
	for _, s := range all {
		if s.Skipped != 0 {
			t.Errorf("%v: nothing should be skipped", s.String())
		}
	}
}

func TestRunECDSAStd(t *testing.T) {
	all := RunECDSA(t, newStdBackend(faults{}))
	checkStats(t, all, len(Files(t, "ecdsa_*_test.json")))
	for _, f := range []string{"ecdsa_secp256r1_sha256_test.json", "ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp521r1_sha512_p1363_test.json"} {
		s := statsFor(t, all, f)
		if s.Passed != s.Total || s.BackendOps == 0 {
			t.Errorf("%v: want every vector passed and backend signatures", s.String())
		}
	}
	s := statsFor(t, all, "ecdsa_brainpoolP256r1_sha256_test.json")
	if s.Passed != 0 {
		t.Errorf("%v: brainpool vectors must be skipped", s.String())
	}
}

func TestRunEd25519Std(t *testing.T) {
	all := RunEd25519(t, newStdBackend(faults{}))
	checkStats(t, all, 1)
	if all[0].Passed != all[0].Total || all[0].BackendOps == 0 {
		t.Errorf("%v", all[0].String())
	}
}

func TestRunAESGCMStd(t *testing.T) {
	all := RunAESGCM(t, newStdBackend(faults{}))
	checkStats(t, all, 1)
	s := all[0]
	if s.SkipReasons["layout: iv 64 bits / tag 128 bits"] == 0 || s.SkipReasons["key aes-128: keyplane AES keys are 256 bits"] == 0 {
		t.Errorf("%v: want layout and key-size skips", s.String())
	}
}

func TestKeysDeleted(t *testing.T) {
	b := newStdBackend(faults{})
	t.Run("run", func(t *testing.T) { RunEd25519(t, b) })
	if n := b.count(); n != 0 {
		t.Errorf("%d imported keys left after the runner's test ended", n)
	}
}

func TestFlagTable(t *testing.T) {
	c := &Case{TcID: 7, Flags: []string{"Normal", "Frobnicated"}, Result: Valid}
	err := oaepFlags.check(c)
	if err == nil || !strings.Contains(err.Error(), "Frobnicated") {
		t.Errorf("unknown flag: got %v, want an error naming it", err)
	}
	c = &Case{TcID: 8, Flags: []string{"InvalidOaepPadding"}, Result: Valid}
	if err := oaepFlags.check(c); err == nil {
		t.Errorf("InvalidOaepPadding with result valid: want an error")
	}
	c = &Case{TcID: 9, Flags: []string{"Normal"}, Result: "maybe"}
	if err := oaepFlags.check(c); err == nil {
		t.Errorf("result %q: want an error", c.Result)
	}
	c = &Case{TcID: 10, Flags: []string{"InvalidCiphertextFormat"}, Result: Invalid}
	if err := pkcs1Flags.check(c); err != nil || !pkcs1Flags.publicReject(c) {
		t.Errorf("InvalidCiphertextFormat: %v, publicReject %t", err, pkcs1Flags.publicReject(c))
	}
}

func TestDecryptionErrorOracle(t *testing.T) {
	if err := decryptionError(backend.ErrDecryption); err != nil {
		t.Errorf("ErrDecryption itself: %v", err)
	}
	for _, e := range []error{errLeaky, backend.ErrInvalidInput, errWithCKR} {
		if decryptionError(e) == nil {
			t.Errorf("%q accepted as the vague decryption error", e)
		}
	}
}

var errWithCKR = wrapErr("pkcs11: C_Decrypt: CKR_ENCRYPTED_DATA_INVALID")

func wrapErr(s string) error { return &textErr{s} }

type textErr struct{ s string }

func (e *textErr) Error() string { return e.s + ": " + backend.ErrDecryption.Error() }
func (e *textErr) Unwrap() error { return backend.ErrDecryption }

// TestRunnersCatchFaults runs the runners against misbehaving backends in a
// child process (a runner reports through its *testing.T) and checks that
// each fault fails the run with the right message.
func TestRunnersCatchFaults(t *testing.T) {
	if os.Getenv("WYCHEPROOF_FAULT") != "" {
		t.Skip("in the child")
	}
	Dir(t) // skip or fail here, not in the children, when vectors are missing
	cases := []struct {
		fault, run, want string
	}{
		{"leaky", "OAEP", "carries a CKR code or padding detail"},
		{"wrong", "OAEP", "decrypted"},
		{"norej", "PKCS1", "want implicit rejection"},
		{"p1363", "ECDSA", "does not verify with crypto/ecdsa"},
		{"unsupp", "OAEP", "support must not depend on the ciphertext"},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.v")
			cmd.Env = append(os.Environ(), "WYCHEPROOF_FAULT="+c.fault, "WYCHEPROOF_RUN="+c.run)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the runner passed a backend with fault %q:\n%s", c.fault, tail(out))
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("fault %q: output lacks %q:\n%s", c.fault, c.want, tail(out))
			}
		})
	}
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func TestFaultChild(t *testing.T) {
	var f faults
	switch os.Getenv("WYCHEPROOF_FAULT") {
	case "":
		t.Skip("run by TestRunnersCatchFaults")
	case "leaky":
		f.leakyErrors = true
	case "wrong":
		f.wrongPlaintext = true
	case "norej":
		f.noImplicitRej = true
	case "p1363":
		f.p1363Sigs = true
	case "unsupp":
		f.unsupportedBad = true
	}
	b := newStdBackend(f)
	switch os.Getenv("WYCHEPROOF_RUN") {
	case "OAEP":
		RunRSAOAEPDecrypt(t, b)
	case "PKCS1":
		RunRSAPKCS1Decrypt(t, b)
	case "ECDSA":
		RunECDSA(t, b)
	}
}
