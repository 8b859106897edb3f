package plugins_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
)

// BenchmarkSign compares signing in process (software:memory) with signing
// through the plugin boundary (plugin+software:memory), in one run:
//
//	seq:  one goroutine, per-call latency (ns/op)
//	par2: two workers (RunParallel, SetParallelism chosen so that
//	      GOMAXPROCS*p = 2 where GOMAXPROCS <= 2), throughput
//
// Both sides get the machine's cores (keep the default -cpu: with -cpu 1
// the in-process side would get one core and the plugin's child two):
//
//	go test ./plugins -run '^$' -bench BenchmarkSign -count 5 |
//		go run ./internal/cmd/benchratio -base inprocess -impl plugin
func BenchmarkSign(b *testing.B) {
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		for _, uri := range []string{"software:memory", "plugin+software:memory"} {
			be, err := backend.Open(b.Context(), uri)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := be.GenerateKey(b.Context(), backend.KeySpec{Label: "bench", Algorithm: alg}); err != nil {
				b.Fatal(err)
			}
			s, err := be.Signer(b.Context(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			digest := sha256.Sum256([]byte("benchmark"))
			name := "inprocess"
			if uri != "software:memory" {
				name = "plugin"
			}
			b.Run(string(alg)+"/"+name+"/seq", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(string(alg)+"/"+name+"/par2", func(b *testing.B) {
				b.SetParallelism(max(1, 2/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			be.Close()
		}
	}
}
