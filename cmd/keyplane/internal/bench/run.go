package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Op is the operation to measure. It is called from several goroutines at
// once.
type Op func(ctx context.Context) error

// Result is what one run measured.
type Result struct {
	Workers int
	// Ops is the number of calls that completed.
	Ops int64
	// Elapsed is the wall-clock time from the start of the run until the
	// last worker stopped.
	Elapsed time.Duration
	// P50 and P99 are latency percentiles of single calls.
	P50, P99 time.Duration
}

// OpsPerSec is the throughput of the run.
func (r Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Run calls op in a loop from each of workers goroutines until d has
// passed, and measures every call. It calls op once beforehand, unmeasured,
// to check that it works and to warm it up. The first error from op stops
// the run and is returned; so is ctx's error when ctx ends first.
func Run(ctx context.Context, op Op, workers int, d time.Duration) (Result, error) {
	if workers < 1 {
		return Result{}, fmt.Errorf("bench: %d workers", workers)
	}
	if d <= 0 {
		return Result{}, fmt.Errorf("bench: duration %v", d)
	}
	if err := op(ctx); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	hists := make([]Histogram, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		h := &hists[w]
		wg.Go(func() {
			t0 := time.Now()
			for ctx.Err() == nil {
				if err := op(ctx); err != nil {
					cancel(err)
					return
				}
				t1 := time.Now()
				h.Record(t1.Sub(t0))
				if !t1.Before(deadline) {
					return
				}
				t0 = t1
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	var all Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	return Result{
		Workers: workers,
		Ops:     int64(all.Count()),
		Elapsed: elapsed,
		P50:     all.Quantile(0.50),
		P99:     all.Quantile(0.99),
	}, nil
}
