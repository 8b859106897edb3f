package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestBucketBoundsContainValue(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1 << 63}
	for range 10000 {
		values = append(values, rand.Uint64()>>rand.IntN(64))
	}
	for _, v := range values {
		i := bucket(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucket(%d) = %d, out of [0, %d)", v, i, numBuckets)
		}
		low, width := bucketBounds(i)
		if v < low || v-low >= width {
			t.Fatalf("bucket(%d) = %d with bounds [%d, %d+%d)", v, i, low, low, width)
		}
		if v >= 2*subCount && float64(width)/float64(low) > 1.0/subCount+1e-12 {
			t.Fatalf("bucket %d is %d wide at %d: more than 1/%d", i, width, low, subCount)
		}
	}
}

func TestBucketsAreOrdered(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<16; v++ {
		i := bucket(v)
		if i < prev {
			t.Fatalf("bucket(%d) = %d < bucket(%d) = %d", v, i, v-1, prev)
		}
		prev = i
	}
}

func TestQuantileAgainstSort(t *testing.T) {
	var h Histogram
	var vals []time.Duration
	for range 50000 {
		d := time.Duration(rand.ExpFloat64() * float64(200*time.Microsecond))
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if diff := float64(got-exact) / float64(exact); diff > 0.02 || diff < -0.02 {
			t.Errorf("Quantile(%v) = %v, exact %v (off by %.1f%%)", q, got, exact, diff*100)
		}
	}
	if h.Count() != 50000 {
		t.Errorf("Count() = %d", h.Count())
	}
}

func TestQuantileEmptyAndMerge(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	for range 99 {
		a.Record(time.Millisecond)
	}
	b.Record(time.Second)
	a.Merge(&b)
	if got := a.Quantile(0.5); got < 990*time.Microsecond || got > 1010*time.Microsecond {
		t.Errorf("p50 = %v, want about 1ms", got)
	}
	if got := a.Quantile(1); got < 990*time.Millisecond {
		t.Errorf("p100 = %v, want about 1s", got)
	}
	if a.Count() != 100 {
		t.Errorf("Count() = %d", a.Count())
	}
}

func TestRunMeasures(t *testing.T) {
	var calls atomic.Int64
	op := func(ctx context.Context) error {
		calls.Add(1)
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	res, err := Run(t.Context(), op, 3, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Workers != 3 {
		t.Errorf("Workers = %d", res.Workers)
	}
	// One warm-up call is not counted.
	if res.Ops != calls.Load()-1 {
		t.Errorf("Ops = %d, op was called %d times (one warm-up)", res.Ops, calls.Load())
	}
	// 3 workers of 2ms calls for 200ms: at most 300 calls, and surely more
	// than a quarter of that even on a loaded machine.
	if res.Ops < 75 || res.Ops > 303 {
		t.Errorf("Ops = %d, want about 300", res.Ops)
	}
	if res.P50 < 2*time.Millisecond || res.P99 < res.P50 {
		t.Errorf("P50 = %v, P99 = %v, want P50 >= 2ms <= P99", res.P50, res.P99)
	}
	if res.Elapsed < 200*time.Millisecond {
		t.Errorf("Elapsed = %v < duration", res.Elapsed)
	}
	if ops := res.OpsPerSec(); ops < 100 || ops > 1600 {
		t.Errorf("OpsPerSec = %v", ops)
	}
}

func TestRunStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	op := func(ctx context.Context) error {
		if calls.Add(1) > 10 {
			return boom
		}
		return nil
	}
	start := time.Now()
	_, err := Run(t.Context(), op, 2, 10*time.Second)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("Run went on after an error")
	}
}

func TestRunWarmupError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Run(t.Context(), func(context.Context) error { return boom }, 1, time.Second)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Run(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil }, 2, 10*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRunRefusesBadArguments(t *testing.T) {
	op := func(context.Context) error { return nil }
	if _, err := Run(t.Context(), op, 0, time.Second); err == nil {
		t.Error("0 workers accepted")
	}
	if _, err := Run(t.Context(), op, 1, 0); err == nil {
		t.Error("zero duration accepted")
	}
}

// BenchmarkMeasurement is what Run adds to each call: one clock read and a
// histogram increment.
func BenchmarkMeasurement(b *testing.B) {
	var h Histogram
	t0 := time.Now()
	for b.Loop() {
		t1 := time.Now()
		h.Record(t1.Sub(t0))
		t0 = t1
	}
}
