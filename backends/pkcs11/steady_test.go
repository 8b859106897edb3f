//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// steadySignatures is how many signatures TestSteadyState makes after the
// warm-up (issue 7: 200,000 at 8 workers).
const steadySignatures = 200_000

// TestSteadyState signs 200,000 times with one P-256 key from 8 goroutines
// and shows that the steady state is flat: the PKCS#11 calls are exactly
// C_SignInit + C_Sign per signature (miekg's Sign is two C_Sign, so three
// module calls), no session is opened or closed, the pool's session count
// does not move, and the live heap after GC does not grow. A sample of the
// signatures is verified with crypto/ecdsa.
func TestSteadyState(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 signatures; skipped with -short")
	}
	const workers = 8
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("steady state"))

	run := func(n int) (time.Duration, error) {
		var next atomic.Int64
		var failed atomic.Pointer[error]
		var verified atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					sig, err := s.Sign(nil, digest[:], crypto.SHA256)
					if err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
					if i%1000 == 0 {
						if !ecdsa.VerifyASN1(pub, digest[:], sig) {
							err := fmt.Errorf("signature %d does not verify", i)
							failed.CompareAndSwap(nil, &err)
							return
						}
						verified.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if e := failed.Load(); e != nil {
			return 0, *e
		}
		if want := int64(n / 1000); verified.Load() != want {
			return 0, fmt.Errorf("verified %d sampled signatures, want %d", verified.Load(), want)
		}
		return time.Since(start), nil
	}

	// Warm-up: the pool opens its sessions, the runtime sizes its heap.
	if _, err := run(20_000); err != nil {
		t.Fatal(err)
	}
	spy.snapshot()
	before := b.Stats()
	heap0 := liveHeap()

	elapsed, err := run(steadySignatures)
	if err != nil {
		t.Fatal(err)
	}
	calls := spy.snapshot()
	after := b.Stats()
	heap1 := liveHeap()

	t.Logf("%d signatures at %d workers in %v (%.0f/s)", steadySignatures, workers, elapsed.Round(time.Millisecond), float64(steadySignatures)/elapsed.Seconds())
	t.Logf("pool before %+v, after %+v", before, after)
	t.Logf("live heap after GC: HeapAlloc %d → %d bytes (%+d), HeapInuse %d → %d bytes (%+d)",
		heap0.HeapAlloc, heap1.HeapAlloc, int64(heap1.HeapAlloc)-int64(heap0.HeapAlloc),
		heap0.HeapInuse, heap1.HeapInuse, int64(heap1.HeapInuse)-int64(heap0.HeapInuse))
	t.Logf("PKCS#11 calls: %v (C calls per signature: %.2f)", calls,
		float64(calls["SignInit"]+2*calls["Sign"])/steadySignatures)

	// Exactly C_SignInit and C_Sign once each per signature, nothing else.
	want := map[string]int{"SignInit": steadySignatures, "Sign": steadySignatures}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls during %d signatures: %v, want %v", steadySignatures, calls, want)
	}
	if after.Open != before.Open || after.Opened != before.Opened || after.Open > after.Max {
		t.Errorf("pool moved: before %+v, after %+v; want no session opened or closed at steady state", before, after)
	}
	// A leak of 4 bytes per signature would show as 800 kB.
	const slack = 512 << 10
	if grow := int64(heap1.HeapAlloc) - int64(heap0.HeapAlloc); grow > slack {
		t.Errorf("live heap grew by %d bytes over %d signatures (%.1f bytes each)", grow, steadySignatures, float64(grow)/steadySignatures)
	}
}

// liveHeap returns the memory statistics after two garbage collections.
func liveHeap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
