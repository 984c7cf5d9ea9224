package main

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	// Every value falls in the bucket whose range holds it, and buckets
	// are ordered and contiguous.
	prevHi := int64(-1)
	for i := range histBuckets {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucketRange(%d) = [%d, %d], want it to start at %d", i, lo, hi, prevHi+1)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d (range [%d, %d])", v, got, i, lo, hi)
			}
		}
		if lo >= subBuckets && float64(hi-lo+1)/float64(lo) > 1.0/subBuckets+1e-12 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, subBuckets)
		}
		prevHi = hi
	}
}

func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential mean 2ms", func() time.Duration { return time.Duration(rng.ExpFloat64() * 2e6) }},
		{"bimodal", func() time.Duration {
			if rng.IntN(100) == 0 {
				return 800*time.Millisecond + time.Duration(rng.Int64N(1e8))
			}
			return 300*time.Microsecond + time.Duration(rng.Int64N(1e5))
		}},
		{"tiny", func() time.Duration { return time.Duration(rng.Int64N(300)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Two histograms merged, as the workers' are.
			a, b := newHistogram(), newHistogram()
			var all []int64
			for i := range 20000 {
				d := tt.gen()
				all = append(all, int64(d))
				if i%3 == 0 {
					a.record(d)
				} else {
					b.record(d)
				}
			}
			a.merge(b)
			slices.Sort(all)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := all[int(math.Ceil(q*float64(len(all))))-1]
				got := int64(a.quantile(q))
				if diff := math.Abs(float64(got - want)); diff > float64(want)/subBuckets+1 {
					t.Errorf("quantile(%v) = %d, want %d ± 1/%d", q, got, want, subBuckets)
				}
			}
			if a.n != uint64(len(all)) || a.min != all[0] || a.max != all[len(all)-1] {
				t.Errorf("merged n, min, max = %d, %d, %d, want %d, %d, %d", a.n, a.min, a.max, len(all), all[0], all[len(all)-1])
			}
			var sum float64
			for _, v := range all {
				sum += float64(v)
			}
			if got, want := a.mean(), time.Duration(sum/float64(len(all))); got != want {
				t.Errorf("mean() = %v, want %v", got, want)
			}
		})
	}
}

func TestEmptyHistogram(t *testing.T) {
	h := newHistogram()
	if got := h.summary(); got != (Latency{}) {
		t.Errorf("summary() of nothing = %+v, want zeros", got)
	}
}

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "4242 (red is) (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 4 0 12345 123456789 3000 18446744073709551615 1 1 0 0 0 0 0 4096 17987 0 0 0 17 1 0 0 0 0 0"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; s.cpu != want {
		t.Errorf("cpu = %v, want %v", s.cpu, want)
	}
	if want := 3000 * int64(os.Getpagesize()); s.rss != want {
		t.Errorf("rss = %d, want %d (3000 pages)", s.rss, want)
	}
	if _, err := parseStat([]byte("42 (x) S 1 2")); err == nil {
		t.Error("parseStat(short line) = nil error, want one")
	}
}
