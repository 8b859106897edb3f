package bench

import (
	"math/bits"
	"time"
)

// subBits sets the precision: each power of two is split into 2^subBits
// buckets, so a bucket is at most 1/64 (1.6%) of its values wide.
const subBits = 6

const (
	subCount = 1 << subBits
	// Values below 2*subCount nanoseconds have buckets of their own; each
	// power of two above gets subCount buckets, up to 2^63.
	numBuckets = 2*subCount + (63-subBits)*subCount
)

// Histogram counts durations in log-linear buckets.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
}

// bucket returns the bucket of a duration in nanoseconds.
func bucket(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v is in [2^e, 2^(e+1)), e > subBits
	sub := int(v>>(e-subBits)) - subCount
	return 2*subCount + (e-subBits-1)*subCount + sub
}

// bucketBounds returns the smallest value of bucket i and its width.
func bucketBounds(i int) (low, width uint64) {
	if i < 2*subCount {
		return uint64(i), 1
	}
	i -= 2 * subCount
	e := i/subCount + subBits + 1
	sub := uint64(i % subCount)
	width = 1 << (e - subBits)
	return (subCount + sub) * width, width
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	h.n++
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// Quantile returns the duration below which a fraction q (0 < q <= 1) of
// the recorded durations fall: the middle of the bucket holding the
// ceil(q*n)-th smallest value. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketBounds(i)
			return time.Duration(low + width/2)
		}
	}
	panic("unreachable: counts add up to n")
}
