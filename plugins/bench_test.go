package plugins_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/plugins"
)

// BenchmarkSign compares signing in process (software:memory) with signing
// through the plugin boundary (plugin+software:memory), in one run:
//
// "plugin" is the default (Sign over the direct channel), "plugingrpc" the
// same plugin with Options.NoDirect (Sign over gRPC).
//
//	seq:  one goroutine, per-call latency (ns/op)
//	par2: two workers (RunParallel, SetParallelism chosen so that
//	      GOMAXPROCS*p = 2 where GOMAXPROCS <= 2), throughput
//
// Both sides get the machine's cores (keep the default -cpu: with -cpu 1
// the in-process side would get one core and the plugin's child two):
//
//	go test ./plugins -run '^$' -bench BenchmarkSign -count 5 |
//		go run ./internal/cmd/benchratio -base inprocess -impl plugin,plugingrpc
func BenchmarkSign(b *testing.B) {
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		for _, impl := range []struct {
			name string
			open func() (backend.Backend, error)
		}{
			{"inprocess", func() (backend.Backend, error) { return backend.Open(b.Context(), "software:memory") }},
			{"plugin", func() (backend.Backend, error) { return backend.Open(b.Context(), "plugin+software:memory") }},
			{"plugingrpc", func() (backend.Backend, error) {
				return plugins.Open(b.Context(), "plugin+software:memory", plugins.Options{NoDirect: true})
			}},
		} {
			be, err := impl.open()
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
			name := impl.name
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
