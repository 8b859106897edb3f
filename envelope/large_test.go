package envelope_test

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/envelope"
)

// pattern is a reader of n pseudo-random bytes (ChaCha8: cheap, so that
// the test measures the envelope, not the source).
type pattern struct {
	n, off int64
	rng    *rand.ChaCha8
}

func newPattern(n int64) *pattern {
	return &pattern{n: n, rng: rand.NewChaCha8([32]byte{'k', 'p'})}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	p.rng.Read(b)
	p.off += int64(len(b))
	return len(b), nil
}

// streamThrough encrypts n bytes into a pipe that a decrypter reads from
// at the same time, and returns the SHA-256 of what was encrypted and of
// what came out. Nothing holds the message: memory stays constant.
func streamThrough(t testing.TB, b backend.Backend, ref string, n int64) (in, out [sha256.Size]byte) {
	pr, pw := io.Pipe()
	hin := sha256.New()
	go func() {
		w, err := envelope.NewWriter(t.Context(), b, ref, pw)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		if _, err := io.CopyBuffer(w, io.TeeReader(newPattern(n), hin), make([]byte, 1<<20)); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()
	r, err := envelope.NewReader(t.Context(), b, pr)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	hout := sha256.New()
	if _, err := io.CopyBuffer(hout, r, make([]byte, 1<<20)); err != nil {
		t.Fatalf("decrypting: %v", err)
	}
	copy(in[:], hin.Sum(nil))
	copy(out[:], hout.Sum(nil))
	return in, out
}

// TestStream1GiB: 1 GiB encrypted and decrypted as a stream, on the
// software backend, comes back whole, and the process allocates far less
// than the message while doing it (constant memory: TotalAlloc counts
// every allocation, whatever the GC frees; the heap's size would count
// the other tests of the process too). Skipped with -short and under the
// race detector (where it takes minutes); scripts/test-all runs it once.
func TestStream1GiB(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1 GiB stream: skipped with -short and under -race")
	}
	tb := openBackend(t, "software")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	in, out := streamThrough(t, tb.b, tb.keys[backend.AES256], 1<<30)
	runtime.ReadMemStats(&after)
	if in != out {
		t.Fatal("1 GiB came back different")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("streaming 1 GiB allocated %d MiB in all, want under 64 MiB (constant memory)", alloc>>20)
	}
}

// BenchmarkEnvelope streams 1 GiB per iteration through encryption and
// decryption at once (b.SetBytes counts the plaintext once).
func BenchmarkEnvelope(b *testing.B) {
	for _, name := range []string{"software", "softhsm2"} {
		b.Run(name, func(b *testing.B) {
			tb := openBackend(b, name)
			b.SetBytes(1 << 30)
			for b.Loop() {
				if in, out := streamThrough(b, tb.b, tb.keys[backend.AES256], 1<<30); in != out {
					b.Fatal("1 GiB came back different")
				}
			}
		})
	}
}
