package plugins_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/plugins"
)

// BenchmarkSign compares signing in process (software:memory) with signing
// through the plugin boundary (plugin+software:memory), in one run (and
// BenchmarkSignPKCS11 the same for pkcs11: on SoftHSM2):
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
//	go test ./plugins -run '^$' -bench 'BenchmarkSign(PKCS11)?$' -count 5 > plugins.txt
//	go tool benchstat -col '/impl@(inprocess plugin plugingrpc)' plugins.txt
//
// (names: BenchmarkSign/<alg>/impl=<impl>/{seq,par2})
//
// On Linux each benchmark also reports where the machine's time went per
// signature (reportCPU): host-cpu-ns/op (this process), plugin-cpu-ns/op
// (the plugin's process) and idle-ns/op (GOMAXPROCS × wall time minus
// both: the cores' time neither used, meaningful on an otherwise idle
// machine). benchstat prints a table for each of those units too.
func BenchmarkSign(b *testing.B) {
	benchSign(b, "software:memory")
}

// BenchmarkSignPKCS11 is BenchmarkSign with the PKCS#11 backend on a fresh
// SoftHSM2 token: pkcs11: in this process against plugin+pkcs11: (the
// token's module loaded in the plugin's process instead).
func BenchmarkSignPKCS11(b *testing.B) {
	tok := testenv.SoftHSMToken(b, "plugin-bench")
	benchSign(b, tok.URI(b))
}

// benchSign runs BenchmarkSign's comparison for the backend URI uri.
func benchSign(b *testing.B, uri string) {
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		for _, impl := range []struct {
			name string
			open func() (backend.Backend, error)
		}{
			{"inprocess", func() (backend.Backend, error) { return backend.Open(b.Context(), uri) }},
			{"plugin", func() (backend.Backend, error) { return backend.Open(b.Context(), "plugin+"+uri) }},
			{"plugingrpc", func() (backend.Backend, error) {
				return plugins.Open(b.Context(), "plugin+"+uri, plugins.Options{NoDirect: true})
			}},
		} {
			be, err := impl.open()
			if err != nil {
				b.Fatal(err)
			}
			// One label per implementation and algorithm: on a token the
			// keys stay between them.
			label := "bench-" + impl.name + "-" + string(alg)
			if _, err := be.GenerateKey(b.Context(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
				b.Fatal(err)
			}
			s, err := be.Signer(b.Context(), label)
			if err != nil {
				b.Fatal(err)
			}
			digest := sha256.Sum256([]byte("benchmark"))
			name := impl.name
			pid := 0
			if p, ok := plugins.AsPlugin(be); ok {
				pid = p.PID()
			}
			b.Run(string(alg)+"/impl="+name+"/seq", func(b *testing.B) {
				defer reportCPU(b, pid)()
				for b.Loop() {
					if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(string(alg)+"/impl="+name+"/par2", func(b *testing.B) {
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
