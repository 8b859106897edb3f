package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/cmd/keyplane/internal/bench"
	"github.com/spf13/cobra"
)

// maxBenchWorkers bounds --workers.
const maxBenchWorkers = 1024

// benchRow is one line of the bench report.
type benchRow struct {
	Algorithm    backend.Operation `json:"algorithm"`
	Key          string            `json:"key"`
	KeyType      backend.Algorithm `json:"key_type"`
	Workers      int               `json:"workers"`
	Ops          int64             `json:"ops"`
	Seconds      float64           `json:"seconds"`
	OpsPerSecond float64           `json:"ops_per_second"`
	P50ms        float64           `json:"p50_ms"`
	P99ms        float64           `json:"p99_ms"`
}

type benchReport struct {
	Backend string      `json:"backend"`
	Results []benchRow  `json:"results"`
	OTel    *otelReport `json:"otel,omitempty"` // --otel
}

func newBenchCmd(c *cli) *cobra.Command {
	var algs []string
	var workers []int
	var duration time.Duration
	var ref string
	var asJSON, withOTel bool
	cmd := &cobra.Command{
		Use:   "bench [--alg A,...] [--workers 1,2,8] [--duration D] [--key K]",
		Short: "Measure the backend's throughput and latency",
		Long: `Measure how fast the backend signs or decrypts: for each algorithm and each
worker count, run that many goroutines calling the backend for the duration,
and print operations per second and the median (p50) and 99th-percentile
(p99) latency of single operations. Progress goes to stderr.

Algorithms: every signature algorithm, RSA decryption (rsa-oaep-*,
rsa-pkcs1v15), aes-256-gcm (open) and fernet (decrypt). Without --key,
bench generates one key per key type it needs (rsa-2048 for RSA, the
matching curve for ECDSA), labelled "bench-<random>-<type>", and deletes
them when it ends, also when it fails or is interrupted. With --key it uses
that key for every algorithm and leaves it alone.

Each worker count runs once after one unmeasured warm-up call; sign results
are checked with the standard library and decryptions against the plaintext
before measuring.

With --otel, the backend is wrapped in package observe's wrapper with an
in-memory OpenTelemetry MeterProvider, and the metrics it collected are
printed at the end: operation counts by operation, method and outcome
(key generation, lookups and deletion included), the mean, the histogram
buckets holding the p50 and p99 latencies, every non-empty bucket, and the
session-pool gauges of backends that have a pool.`,
		Example: `  keyplane bench --backend software:memory
  keyplane bench --backend "$HSM_URI" --alg ecdsa-sha256,rsa-pss-sha256 --workers 1,4,16 --duration 10s --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ops []backend.Operation
			for _, a := range algs {
				op, err := parseOp(strings.TrimSpace(a), backend.OpSign, backend.OpDecrypt, backend.OpAEAD, backend.OpFernet)
				if err != nil {
					return err
				}
				ops = append(ops, op)
			}
			if len(ops) == 0 {
				return errors.New("--alg is empty")
			}
			if len(workers) == 0 {
				return errors.New("--workers is empty")
			}
			for _, w := range workers {
				if w < 1 || w > maxBenchWorkers {
					return fmt.Errorf("--workers %d: want 1 to %d", w, maxBenchWorkers)
				}
			}
			if duration <= 0 {
				return fmt.Errorf("--duration %v: want a positive duration such as 5s", duration)
			}
			ctx := cmd.Context()
			var otel *benchOTel
			var gauges map[string]float64
			if withOTel {
				otel = newBenchOTel()
				defer otel.provider.Shutdown(context.Background())
				c.meterProvider = otel.provider
			}
			var rep benchReport
			err := c.withBackend(ctx, func(b backend.Backend) error {
				keys := &benchKeys{c: c, b: b}
				defer keys.cleanup(ctx)
				rep.Backend = c.backendName(ctx, b)
				for _, op := range ops {
					k, err := keys.keyFor(ctx, op, ref)
					if err != nil {
						return err
					}
					call, err := c.benchOp(ctx, b, op, k)
					if err != nil {
						return fmt.Errorf("bench %s with key %q: %w", op, k.Label, err)
					}
					for _, w := range workers {
						fmt.Fprintf(c.stderr, "bench: %s, key %s, %d worker(s), %v...\n", op, k.Algorithm, w, duration)
						res, err := bench.Run(ctx, call, w, duration)
						if err != nil {
							return fmt.Errorf("bench %s with key %q: %w", op, k.Label, err)
						}
						rep.Results = append(rep.Results, benchRow{
							Algorithm: op, Key: k.Label, KeyType: k.Algorithm, Workers: w,
							Ops: res.Ops, Seconds: res.Elapsed.Seconds(), OpsPerSecond: res.OpsPerSec(),
							P50ms: ms(res.P50), P99ms: ms(res.P99),
						})
					}
				}
				if otel != nil {
					var err error
					if gauges, err = otel.gauges(ctx); err != nil {
						return fmt.Errorf("--otel: %w", err)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if otel != nil {
				// After the backend closed: the counts include the
				// deletion of bench's keys.
				if rep.OTel, err = otel.report(ctx, gauges); err != nil {
					return fmt.Errorf("--otel: %w", err)
				}
			}
			if asJSON {
				return writeJSON(c.stdout, rep)
			}
			if err := writeBenchTable(c, rep); err != nil {
				return err
			}
			if rep.OTel != nil {
				return writeOTelTable(c.stdout, rep.OTel)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&algs, "alg", []string{string(backend.ECDSASHA256), string(backend.RSAPKCS1v15SHA256)}, "`algorithms` to measure, comma-separated")
	cmd.Flags().IntSliceVar(&workers, "workers", []int{1, 2, 8}, "worker `counts`, comma-separated")
	cmd.Flags().DurationVar(&duration, "duration", 3*time.Second, "how long each measurement runs")
	cmd.Flags().StringVar(&ref, "key", "", "use this key instead of generating one")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().BoolVar(&withOTel, "otel", false, "also collect OpenTelemetry metrics of every backend call and print them at the end")
	return cmd
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func writeBenchTable(c *cli, rep benchReport) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ALGORITHM\tKEY TYPE\tWORKERS\tOPS\tOPS/S\tP50 (ms)\tP99 (ms)\n")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.3f\t%.3f\n", r.Algorithm, r.KeyType, r.Workers, r.Ops, r.OpsPerSecond, r.P50ms, r.P99ms)
	}
	return tw.Flush()
}
