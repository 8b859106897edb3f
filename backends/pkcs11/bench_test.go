//go:build cgo && !nopkcs11

package pkcs11

// Signing benchmarks: keyplane's backend against a raw miekg/pkcs11 loop
// and crypto11, in one run, on the shared SoftHSM2 token.
//
//	go test ./backends/pkcs11 -run '^$' -bench '^BenchmarkSign$' -count 6 > sign.txt
//	go tool benchstat -col '/impl@(raw keyplane crypto11)' sign.txt
//
// Names are BenchmarkSign/<alg>/workers=<n>/impl=<impl>, impl ∈ {raw,
// keyplane, crypto11}: benchstat's -col /impl puts the three side by side,
// raw as the baseline, with confidence intervals. ns/op is wall time divided by the signatures made by all n
// workers together: the inverse of throughput.

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/miekg/pkcs11"
)

var benchWorkers = []int{1, 2, 8}

var benchAlgs = []backend.Algorithm{backend.RSA2048, backend.ECP256}

// BenchmarkSign signs a SHA-256 digest (RSA PKCS#1 v1.5, ECDSA P-256) with
// the same key through the three implementations.
func BenchmarkSign(b *testing.B) {
	benchSignImpls(b, openTest(b, ""), crypto11Context(b), "bench-", benchWorkers)
}

// benchSignImpls is BenchmarkSign's comparison on a token that kp and c11
// have open: for each of benchAlgs, a key labelled prefix+alg signed
// through raw PKCS#11, keyplane and crypto11 by each number of workers
// (sub-benchmarks <alg>/workers=<n>/impl=<impl>).
func benchSignImpls(b *testing.B, kp *Backend, c11 *crypto11.Context, prefix string, workers []int) {
	digest := sha256.Sum256([]byte("benchmark message"))
	for _, alg := range benchAlgs {
		label := uniqueLabel(b, prefix+string(alg))
		if _, err := kp.GenerateKey(b.Context(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { kp.DeleteKey(context.Background(), label) })
		kpSigner, err := kp.Signer(b.Context(), label)
		if err != nil {
			b.Fatal(err)
		}
		c11Signer, err := c11.FindKeyPair(nil, []byte(label))
		if err != nil || c11Signer == nil {
			b.Fatalf("crypto11 FindKeyPair(%q): %v (nil: %v)", label, err, c11Signer == nil)
		}
		raw := newRawSigner(b, kp, label, alg)
		for _, n := range workers {
			b.Run(fmt.Sprintf("%s/workers=%d/impl=raw", alg, n), func(b *testing.B) {
				parallelSign(b, n, raw.worker)
			})
			b.Run(fmt.Sprintf("%s/workers=%d/impl=keyplane", alg, n), func(b *testing.B) {
				parallelSign(b, n, signerWorker(kpSigner, digest[:]))
			})
			b.Run(fmt.Sprintf("%s/workers=%d/impl=crypto11", alg, n), func(b *testing.B) {
				parallelSign(b, n, signerWorker(c11Signer, digest[:]))
			})
		}
	}
}

// parallelSign runs b.N operations over n workers, each made by newWorker
// (called before the timer starts) and each running until the shared
// count is exhausted.
func parallelSign(b *testing.B, n int, newWorker func(testing.TB) func() error) {
	ops := make([]func() error, n)
	for i := range ops {
		ops[i] = newWorker(b)
	}
	b.ResetTimer()
	_, err := runOps(b.N, ops)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
}

// runOps makes n operations with the workers ops, one goroutine each, and
// returns the wall time.
func runOps(n int, ops []func() error) (time.Duration, error) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for _, op := range ops {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := op(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := failed.Load(); e != nil {
		return elapsed, *e
	}
	return elapsed, nil
}

// signerWorker signs digest with SHA-256 options through any crypto.Signer;
// workers share the signer, as an application's goroutines would.
func signerWorker(s crypto.Signer, digest []byte) func(testing.TB) func() error {
	return func(testing.TB) func() error {
		return func() error {
			_, err := s.Sign(nil, digest, crypto.SHA256)
			return err
		}
	}
}

// rawSigner is the baseline: miekg/pkcs11 on the module keyplane loaded,
// one session per worker, the key handle found once, then C_SignInit and
// C_Sign (a PKCS#1 v1.5 DigestInfo built once, for RSA).
type rawSigner struct {
	ctx  *pkcs11.Ctx
	slot uint
	mech []*pkcs11.Mechanism
	data []byte
	tmpl []*pkcs11.Attribute
}

func newRawSigner(tb testing.TB, kp *Backend, label string, alg backend.Algorithm) *rawSigner {
	digest := sha256.Sum256([]byte("benchmark message"))
	r := &rawSigner{ctx: kp.mod.ctx, slot: kp.slot, data: digest[:],
		tmpl: []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		}}
	switch alg.Family() {
	case backend.FamilyRSA:
		r.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
		r.data = append(append([]byte{}, digestInfoPrefix[crypto.SHA256]...), digest[:]...)
	case backend.FamilyEC:
		r.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	default:
		tb.Fatalf("raw signer: %s", alg)
	}
	return r
}

// session opens a session of the raw loop's own (the user is already
// logged in: keyplane's pool keeps a session open) and finds the key.
func (r *rawSigner) session(tb testing.TB) (pkcs11.SessionHandle, pkcs11.ObjectHandle) {
	sh, err := r.ctx.OpenSession(r.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		tb.Fatalf("raw C_OpenSession: %v", err)
	}
	tb.Cleanup(func() { r.ctx.CloseSession(sh) })
	if err := r.ctx.FindObjectsInit(sh, r.tmpl); err != nil {
		tb.Fatalf("raw C_FindObjectsInit: %v", err)
	}
	hs, _, err := r.ctx.FindObjects(sh, 2)
	r.ctx.FindObjectsFinal(sh)
	if err != nil || len(hs) != 1 {
		tb.Fatalf("raw C_FindObjects: %v, %d objects", err, len(hs))
	}
	return sh, hs[0]
}

// worker is one worker of the raw loop: its own session, the key handle
// found once, then C_SignInit and C_Sign.
func (r *rawSigner) worker(tb testing.TB) func() error {
	sh, key := r.session(tb)
	return func() error {
		if err := r.ctx.SignInit(sh, r.mech, key); err != nil {
			return err
		}
		_, err := r.ctx.Sign(sh, r.data)
		return err
	}
}

// crypto11Context configures crypto11 on a private copy of the SoftHSM2
// library. crypto11 v1.6.2 treats CKR_CRYPTOKI_ALREADY_INITIALIZED as a
// failure and calls C_Finalize on Close, so on the library keyplane has
// loaded it could not start, and closing it would end keyplane's sessions.
// A copy of the file is a separate instance of the library (dlopen keys
// on the file) with its own C_Initialize, reading the same token
// directory — the situation of two processes sharing a token.
func crypto11Context(tb testing.TB) *crypto11.Context {
	tb.Helper()
	tok := token(tb)
	lib := filepath.Join(tb.TempDir(), "libsofthsm2-crypto11.so")
	if err := testenv.CopyFile(lib, tok.Module, 0o700); err != nil {
		tb.Fatal(err)
	}
	c, err := crypto11.Configure(&crypto11.Config{Path: lib, TokenLabel: tok.Label, Pin: tok.PIN})
	if err != nil {
		tb.Fatalf("crypto11.Configure: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkSignOverhead measures what keyplane adds to a signature on top
// of the raw loop, without the noise of the token: C_SignInit and C_Sign
// are answered at once by a stub in place of the module (a fixed
// signature of the right size), so the keyplane line is keyplane's own
// cost per signature (options check, mechanism, pool, cached handles,
// r‖s→DER for ECDSA) and the raw line the stub's. What both leave out —
// miekg/pkcs11's cgo calls and the module's work — is the same for both.
//
//	go test ./backends/pkcs11 -run '^$' -bench SignOverhead -benchmem
func BenchmarkSignOverhead(b *testing.B) {
	for _, alg := range benchAlgs {
		var stub *instantSignAPI
		kp, err := openWith(b.Context(), testURI(b, ""), func(p pkcs11API) pkcs11API {
			stub = &instantSignAPI{pkcs11API: p}
			return stub
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { kp.Close() })
		label := uniqueLabel(b, "overhead-"+string(alg))
		if _, err := kp.GenerateKey(b.Context(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { kp.DeleteKey(context.Background(), label) })
		s, err := kp.Signer(b.Context(), label)
		if err != nil {
			b.Fatal(err)
		}
		raw := newRawSigner(b, kp, label, alg)
		stub.sig = make([]byte, 64)
		if alg.Family() == backend.FamilyRSA {
			stub.sig = make([]byte, 256)
		}
		for i := range stub.sig {
			stub.sig[i] = byte(i + 1)
		}
		stub.on.Store(true)
		digest := sha256.Sum256([]byte("benchmark message"))
		b.Run(fmt.Sprintf("%s/impl=raw", alg), func(b *testing.B) {
			b.ReportAllocs()
			sh, key := raw.session(b)
			for b.Loop() {
				if err := stub.SignInit(sh, raw.mech, key); err != nil {
					b.Fatal(err)
				}
				if _, err := stub.Sign(sh, raw.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%s/impl=keyplane", alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
		stub.on.Store(false)
	}
}

// instantSignAPI answers C_SignInit and C_Sign at once, when on, with sig;
// it passes everything else to the module.
type instantSignAPI struct {
	pkcs11API
	on  atomic.Bool
	sig []byte
}

func (a *instantSignAPI) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if a.on.Load() {
		return nil
	}
	return a.pkcs11API.SignInit(sh, m, o)
}

func (a *instantSignAPI) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	if a.on.Load() {
		return append([]byte(nil), a.sig...), nil // miekg returns a fresh slice too
	}
	return a.pkcs11API.Sign(sh, msg)
}

// pairedEnv turns TestPairedSignRatios on: the number of rounds.
const pairedEnv = "KEYPLANE_PAIRED_ROUNDS"

// TestPairedSignRatios is BenchmarkSign as a paired measurement, for a
// machine whose load drifts (a shared CI runner, a laptop): for each
// algorithm and worker count it runs the three implementations in short
// slices (about 60 ms each), one after the other in a rotating order, for
// many rounds, and reports the median of the per-round speed ratios (and
// the first and third quartiles): wall time per signature, and the
// process's CPU time per signature, which other processes' load hardly
// touches. A drift slower than a round cancels out of each ratio. It measures and
// reports; it asserts nothing, and runs only when KEYPLANE_PAIRED_ROUNDS
// is set (scripts/bench sets it):
//
//	KEYPLANE_PAIRED_ROUNDS=40 go test ./backends/pkcs11 -run PairedSignRatios -v
//
// With KEYPLANE_PAIRED_REMOTE=1 it measures BenchmarkSignRemote's set-up
// instead (SoftHSM2 behind p11-kit server, 1, 8 and 32 workers).
func TestPairedSignRatios(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv(pairedEnv))
	if rounds <= 0 {
		t.Skipf("a measurement; set %s=<rounds> to run it", pairedEnv)
	}
	// KEYPLANE_PAIRED_URI_EXTRA adds query attributes to keyplane's URI
	// (e.g. max-sessions=8), to compare pool sizes.
	extra := os.Getenv("KEYPLANE_PAIRED_URI_EXTRA")
	workerCounts, where := benchWorkers, ""
	var kp *Backend
	var c11 *crypto11.Context
	if os.Getenv("KEYPLANE_PAIRED_REMOTE") == "1" {
		// The remote token of BenchmarkSignRemote: SoftHSM2 behind
		// p11-kit server, through p11-kit-client.so.
		kp, c11 = openRemoteBench(t, extra)
		workerCounts, where = remoteBenchWorkers, "Remote"
	} else {
		kp = openTest(t, extra)
		c11 = crypto11Context(t)
	}
	t.Logf("keyplane's pool: %+v", kp.Stats())
	digest := sha256.Sum256([]byte("benchmark message"))
	impls := []string{"raw", "keyplane", "crypto11"}
	for _, alg := range benchAlgs {
		label := genKey(t, kp, alg)
		kpSigner, err := kp.Signer(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		c11Signer, err := c11.FindKeyPair(nil, []byte(label))
		if err != nil || c11Signer == nil {
			t.Fatalf("crypto11 FindKeyPair(%q): %v", label, err)
		}
		raw := newRawSigner(t, kp, label, alg)
		for _, n := range workerCounts {
			workers := map[string][]func() error{}
			for _, impl := range impls {
				newWorker := raw.worker
				switch impl {
				case "keyplane":
					newWorker = signerWorker(kpSigner, digest[:])
				case "crypto11":
					newWorker = signerWorker(c11Signer, digest[:])
				}
				for range n {
					workers[impl] = append(workers[impl], newWorker(t))
				}
			}
			// Calibrate: operations in a ~60 ms slice of the raw loop.
			d, err := runOps(4*n, workers["raw"])
			if err != nil {
				t.Fatal(err)
			}
			ops := max(n, int(60*time.Millisecond/(d/time.Duration(4*n))))
			wall, cpu := map[string][]float64{}, map[string][]float64{}
			for r := range rounds {
				ns, cpuNs := map[string]float64{}, map[string]float64{}
				for i := range impls {
					impl := impls[(i+r)%len(impls)]
					c0 := processCPU()
					d, err := runOps(ops, workers[impl])
					if err != nil {
						t.Fatalf("%s: %v", impl, err)
					}
					ns[impl] = float64(d) / float64(ops)
					cpuNs[impl] = float64(processCPU()-c0) / float64(ops)
				}
				for _, p := range [][2]string{{"keyplane", "raw"}, {"crypto11", "raw"}, {"keyplane", "crypto11"}} {
					k := p[0] + "/" + p[1]
					wall[k] = append(wall[k], ns[p[1]]/ns[p[0]])
					cpu[k] = append(cpu[k], cpuNs[p[1]]/cpuNs[p[0]])
				}
			}
			for _, m := range []struct {
				name string
				r    map[string][]float64
			}{{"wall", wall}, {"cpu", cpu}} {
				line := fmt.Sprintf("PairedSign%s/%s/workers=%d %-4s", where, alg, n, m.name)
				for _, k := range []string{"keyplane/raw", "crypto11/raw", "keyplane/crypto11"} {
					q1, med, q3 := quartiles(m.r[k])
					line += fmt.Sprintf("  %s %.3f [%.2f–%.2f]", k, med, q1, q3)
				}
				t.Logf("%s  (%d rounds of %d signatures)", line, rounds, ops)
			}
		}
	}
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quartiles returns the first quartile, median and third quartile of v.
func quartiles(v []float64) (q1, med, q3 float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(p float64) float64 { return s[int(p*float64(len(s)-1)+0.5)] }
	return at(0.25), at(0.5), at(0.75)
}
