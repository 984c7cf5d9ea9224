package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets: exact below 128 ns,
// then 128 buckets per power of two, so any quantile it reports is within
// 1% of the true one. Recording is a few instructions and never allocates;
// each worker has its own and they are merged at the end.
type histogram struct {
	counts   []uint64
	n        uint64
	sum      float64 // nanoseconds
	min, max int64   // nanoseconds
}

const (
	subBits    = 7
	subBuckets = 1 << subBits
	// maxExp covers durations up to 2^40 ns, about 18 minutes.
	maxExp      = 40
	histBuckets = (maxExp - subBits + 1) * subBuckets
)

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, histBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) // v has e bits, e > subBits
	shift := e - subBits - 1
	i := (shift)*subBuckets + int(v>>shift)
	return min(i, histBuckets-1)
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subBuckets*2 {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	m := int64(i - shift*subBuckets)
	return m << shift, (m+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q ≤ 1): the smallest recorded value
// v such that at least q of all values are ≤ v, to within the bucket width
// (the middle of the bucket is reported, clamped to the observed range).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// counts are what a worker tallies besides latencies.
type counts struct {
	Requests    uint64 `json:"requests"`    // requests answered or given up (not retransmits)
	Answered    uint64 `json:"answered"`    // with a verified reply
	Accepts     uint64 `json:"accepts"`     // Access-Accept
	Rejects     uint64 `json:"rejects"`     // Access-Reject
	AcctOK      uint64 `json:"acct_ok"`     // Accounting-Response
	Timeouts    uint64 `json:"timeouts"`    // attempts that waited out the timeout
	Failed      uint64 `json:"failed"`      // requests with no reply after all retries
	BadReplies  uint64 `json:"bad_replies"` // replies that did not verify
	Retransmits uint64 `json:"retransmits"` // deliberate retransmits of answered records (-dup)
	SameReply   uint64 `json:"same_reply"`  // retransmits answered with the same bytes
	Stale       uint64 `json:"stale"`       // stale copies of interims sent as new requests (-dup)
}

func (c *counts) add(o *counts) {
	c.Requests += o.Requests
	c.Answered += o.Answered
	c.Accepts += o.Accepts
	c.Rejects += o.Rejects
	c.AcctOK += o.AcctOK
	c.Timeouts += o.Timeouts
	c.Failed += o.Failed
	c.BadReplies += o.BadReplies
	c.Retransmits += o.Retransmits
	c.SameReply += o.SameReply
	c.Stale += o.Stale
}

// Latency is a summary of a histogram in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (h *histogram) summary() Latency {
	l := Latency{
		P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)),
		Mean: ms(h.mean()),
	}
	if h.n > 0 {
		l.Max = ms(time.Duration(h.max))
	}
	return l
}
