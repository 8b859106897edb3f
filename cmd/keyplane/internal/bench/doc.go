// Package bench measures the throughput and latency of an operation run by
// several goroutines at once, for "keyplane bench".
//
// Each call's latency goes into a per-goroutine histogram of fixed size
// (log-linear buckets, about 1.6% wide), so measuring costs one clock read
// and one counter increment per call, whatever the run's length, and
// nothing is shared between goroutines until the run ends.
//
// # Concurrency
//
// Run starts its own goroutines and returns when they have all stopped.
// A Histogram is not safe for concurrent use.
package bench
