package plugins_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"testing"
	"time"

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
//
// On Linux each benchmark also reports where the machine's time went per
// signature (reportCPU): host-cpu-ns/op (this process), plugin-cpu-ns/op
// (the plugin's process) and idle-ns/op (GOMAXPROCS × wall time minus
// both: the cores' time neither used, meaningful on an otherwise idle
// machine). `benchratio -medians` prints their medians.
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
			pid := 0
			if p, ok := plugins.AsPlugin(be); ok {
				pid = p.PID()
			}
			b.Run(string(alg)+"/"+name+"/seq", func(b *testing.B) {
				defer reportCPU(b, pid)()
				for b.Loop() {
					if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(string(alg)+"/"+name+"/par2", func(b *testing.B) {
				defer reportCPU(b, pid)()
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

// reportCPU measures the CPU time of this process and of process pid (0:
// none) from now until the returned function runs, and reports it per
// operation (see BenchmarkSign).
func reportCPU(b *testing.B, pid int) func() {
	self0, other0, ok := cpuTimes(pid)
	start := time.Now()
	return func() {
		self1, other1, ok1 := cpuTimes(pid)
		if !ok || !ok1 || b.N == 0 {
			return
		}
		wall := time.Since(start)
		n := float64(b.N)
		host, plugin := float64(self1-self0), float64(other1-other0)
		b.ReportMetric(host/n, "host-cpu-ns/op")
		if pid != 0 {
			b.ReportMetric(plugin/n, "plugin-cpu-ns/op")
		}
		b.ReportMetric(max(0, float64(runtime.GOMAXPROCS(0))*float64(wall)-host-plugin)/n, "idle-ns/op")
	}
}
